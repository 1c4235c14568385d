"""`python -m pagedesk.simulator`: serve the simulator with uvicorn (no Django needed)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from pagedesk.simulator.app import create_app


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pagedesk-simulator", description="Facebook Messenger simulator")
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Shared with the `pagedesk simulator` management command so both accept the same flags."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument(
        "--pagedesk-url", default=None, help="pagedesk base URL; webhooks go to <url>/webhooks/messenger"
    )
    parser.add_argument("--webhook-url", default=None, help="full webhook URL (overrides --pagedesk-url)")
    parser.add_argument("--data-dir", default=None, help="where state is saved (default: memory only)")
    parser.add_argument("--public-url", default=None, help="base URL the simulator is reachable at")
    parser.add_argument("--app-id", default=None)
    parser.add_argument("--app-secret", default=None)
    parser.add_argument("--verify-token", default=None)
    parser.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )


def serve(
    *,
    host: str,
    port: int,
    data_dir: str | None,
    pagedesk_url: str | None,
    webhook_url: str | None,
    public_url: str | None,
    app_id: str | None,
    app_secret: str | None,
    verify_token: str | None,
    log_level: str,
) -> None:
    if webhook_url is None and pagedesk_url:
        webhook_url = f"{pagedesk_url.rstrip('/')}/webhooks/messenger"
    app = create_app(
        data_dir=Path(data_dir) if data_dir else None,
        webhook_url=webhook_url,
        public_url=public_url or f"http://{host}:{port}",
        app_id=app_id,
        app_secret=app_secret,
        verify_token=verify_token,
    )
    print(
        f"Facebook simulator on http://{host}:{port}/  (chat: /chat, webhooks → {app.store.config['webhook_url']})"
    )
    uvicorn.run(app, host=host, port=port, log_level=log_level, lifespan="on")


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    serve(**vars(args))


if __name__ == "__main__":
    main()
