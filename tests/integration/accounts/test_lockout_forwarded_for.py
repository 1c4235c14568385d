"""Issue 13 #4: the log-in lock-out cannot be dodged with a new X-Forwarded-For per attempt.

Before the fix `pagedesk serve` ran uvicorn with its defaults, which believe X-Forwarded-For from
127.0.0.1, and axes keyed the lock-out on username + that address: eight wrong passwords, each "from" a new
address, locked nothing, and the right password then logged in (and cleared a lock-out already earned).

These tests run the real `pagedesk serve` in a subprocess against the test database and talk HTTP to it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.db import connection

from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[3]


def _database_url() -> str:
    # The subprocess must serve the database this test writes to, which pytest-django renamed.
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def pagedesk_serve(**env: str) -> Iterator[str]:
    port = _free_port()
    environ = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "PAGEDESK_ALLOWED_HOSTS": "127.0.0.1",
        "PAGEDESK_TRUSTED_PROXIES": "",
        **env,
    }
    environ.pop("FORWARDED_ALLOW_IPS", None)  # uvicorn's own variable must not decide for us
    process = subprocess.Popen(
        [sys.executable, "-m", "pagedesk.config.cli", "serve", "--no-worker", "--port", str(port)],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"pagedesk serve did not start: {process.stderr.read()!r}") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(20)
        if process.stderr:
            process.stderr.close()


def login(client: httpx.Client, url: str, username: str, password: str, forwarded_for: str) -> int:
    page = client.get(f"{url}/accounts/login/")
    assert page.status_code == 200
    answer = client.post(
        f"{url}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": client.cookies["csrftoken"]},
        headers={"X-Forwarded-For": forwarded_for},
    )
    return answer.status_code


@pytest.fixture
def db_committed(transactional_db: None) -> None:
    """The subprocess sees only committed rows."""


def test_new_forwarded_for_per_attempt_neither_dodges_nor_lifts_the_lock_out(db_committed, bob):
    attempts = settings.AXES_FAILURE_LIMIT + 3
    with pagedesk_serve() as url, httpx.Client() as client:
        statuses = [
            login(client, url, "bob", "not-the-password", f"203.0.113.{n}") for n in range(1, attempts + 1)
        ]
        assert statuses[: settings.AXES_FAILURE_LIMIT - 1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
        assert statuses[-1] == 429, statuses
        # The right password from yet another "address" does not get in, nor clear the lock-out.
        assert login(client, url, "bob", PASSWORD, "198.51.100.7") == 429
        assert login(client, url, "bob", PASSWORD, "198.51.100.8") == 429
    # With no trusted proxy the header is not believed: every attempt came from the socket's address.
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}


def test_behind_a_trusted_proxy_the_client_address_is_recorded_but_the_lock_out_follows_the_user(
    db_committed, bob
):
    with pagedesk_serve(PAGEDESK_TRUSTED_PROXIES="127.0.0.1") as url, httpx.Client() as client:
        statuses = [
            login(client, url, "bob", "not-the-password", f"203.0.113.{n}")
            for n in range(1, settings.AXES_FAILURE_LIMIT + 2)
        ]
        assert statuses[-1] == 429, statuses
        assert login(client, url, "bob", PASSWORD, "198.51.100.7") == 429
    addresses = set(AccessAttempt.objects.values_list("ip_address", flat=True))
    assert "203.0.113.1" in addresses
    assert "127.0.0.1" not in addresses
