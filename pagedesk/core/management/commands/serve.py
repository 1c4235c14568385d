from __future__ import annotations

import argparse

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from pagedesk.core.startup import heap_freeze, run_startup_hooks
from pagedesk.core.stopping import GracefulServer, StopRequest, stop_grace, stop_signals_captured
from pagedesk.core.worker import EmbeddedWorkers, transport


def port_number(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError("the port must be between 1 and 65535")
    return port


class Command(BaseCommand):
    help = (
        "Serve pagedesk (HTTP + websockets) with uvicorn; runs the task worker in-process unless --no-worker."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=port_number, default=8000)
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Do not run background tasks here (run `pagedesk worker`).",
        )
        parser.add_argument(
            "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
        )

    def handle(
        self, *args: object, host: str, port: int, no_worker: bool, log_level: str, **options: object
    ) -> None:
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError("The database is not up to date. Run `pagedesk migrate` first.")
        run_startup_hooks()
        heap_freeze()
        grace = stop_grace()
        workers = None
        if not no_worker:
            workers = EmbeddedWorkers(settings.EMBEDDED_WORKER_THREADS)
            workers.start()
        worker_mode = "separate" if no_worker else f"in-process, wake-up: {transport() or 'in-process only'}"
        self.stdout.write(f"pagedesk serving on http://{host}:{port}/ (worker: {worker_mode})")
        config = uvicorn.Config(
            "pagedesk.config.asgi:application",
            host=host,
            port=port,
            lifespan="off",
            log_level=log_level,
            ws_ping_interval=20,
            ws_ping_timeout=20,
            # Events are small JSON frames (~200 bytes): deflating each one cost more CPU, on both ends,
            # than the bytes it saved, and a queue event is sent to every member's socket.
            ws_per_message_deflate=False,
            # uvicorn's defaults believe X-Forwarded-For/-Proto from 127.0.0.1 (or FORWARDED_ALLOW_IPS), so
            # any local client, or any client through a proxy that appends to the header, chose the
            # address the log-in lock-out saw. Only the proxies an operator names are believed; with
            # none the headers are ignored.
            proxy_headers=bool(settings.TRUSTED_PROXIES),
            forwarded_allow_ips=list(settings.TRUSTED_PROXIES),
            # In-flight requests get the grace to answer (docs/decisions/graceful-stop.md).
            timeout_graceful_shutdown=int(grace),
        )
        stop = StopRequest()
        server = GracefulServer(config, stop=stop, on_stop=workers.stop_claiming if workers else lambda: None)
        # Captured until the tasks are put back too, so a second signal cuts the grace short there
        # as well instead of killing the process with its tasks RUNNING.
        with stop_signals_captured(server.handle_exit):
            try:
                server.run()
            finally:
                if workers:
                    # The tasks running since the stop began get what is left of the same grace.
                    workers.stop(stop.remaining(grace), grace=grace, hurry=stop.hurry)
