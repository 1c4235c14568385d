"""Starting real pagedesk processes (`serve`, `worker`) against the running test's database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    """This test's database as a DATABASE_URL (pytest-django's SQLite test database is a file)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{host}:{port}/{db['NAME']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pagedesk_env(data_dir: Path, **env: str | None) -> dict[str, str]:
    """The environment of a pagedesk process on this test's database; `env` adds (None: removes)."""
    environ = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "pagedesk.config.settings",
        "PAGEDESK_DATA_DIR": str(data_dir),
        "PAGEDESK_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    for key, value in env.items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    return environ


def process_stop(process: subprocess.Popen[str], *, within: float = 10) -> None:
    """SIGTERM, then SIGKILL if it has not exited `within` seconds (a test's clean-up: no result)."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(within)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def wait_for(condition, *, within: float, what: str):  # type: ignore[no-untyped-def]
    """The condition's first truthy value, polled every 0.1 s; fails saying `what` did not happen."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} within {within} s")


def pagedesk_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pagedesk.config.cli", *args]


def serve_started(
    data_dir: Path, *, port: int, args: tuple[str, ...] = (), **env: str
) -> subprocess.Popen[str]:
    """`pagedesk serve` on `port` and this test's database, once /healthz answers. Sessions the test
    makes (Client.force_login) are valid there: it gets the test's SECRET_KEY."""
    process = subprocess.Popen(
        pagedesk_command("serve", "--port", str(port), "--log-level", "warning", *args),
        cwd=ROOT,
        env=pagedesk_env(
            data_dir,
            PAGEDESK_SECRET_KEY=settings.SECRET_KEY,
            PAGEDESK_ALLOWED_HOSTS="127.0.0.1,localhost",
            **env,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"pagedesk serve exited at start:\n{process.communicate()[0]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"pagedesk serve did not come up:\n{process.communicate()[0]}")
