"""An embedded pagedesk install in a data dir of its own, driven as an operator drives it: the `pagedesk`
command in subprocesses, and `pagedesk serve` on a free port.

For tests that need a whole install (its SQLite file, its media and keys), not the test database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.processes import process_stop
from tests.webhook_receiver import free_port

ROOT = Path(__file__).resolve().parent.parent
APP_SECRET = "embedded-instance-app-secret"


def embedded_env(data_dir: Path, graph_url: str | None = None) -> dict[str, str]:
    """The environment of an embedded install (SQLite in `data_dir`, in-memory layer)."""
    drop = ("DATABASE_URL", "REDIS_URL", "PAGEDESK_REDIS_PREFIX", "DJANGO_SETTINGS_MODULE")
    env = {
        **{key: value for key, value in os.environ.items() if key not in drop},
        "PAGEDESK_DATA_DIR": str(data_dir),
        "FACEBOOK_APP_SECRET": APP_SECRET,
        "PAGEDESK_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    if graph_url:
        env["FACEBOOK_GRAPH_URL"] = graph_url
    return env


def pagedesk(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pagedesk.config.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextmanager
def serving(env: dict[str, str]) -> Iterator[str]:
    """`pagedesk serve` (embedded worker) on a free port, stopped with SIGTERM as systemd would."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "pagedesk.config.cli", "serve", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"pagedesk serve did not start: {process.communicate()[1]}")
            time.sleep(0.2)
        yield url
    finally:
        process_stop(process, within=20)
        assert process.stderr is not None
        process.stderr.close()
