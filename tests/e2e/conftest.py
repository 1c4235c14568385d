"""Browser-test infrastructure for the whole project: Debian's chromium, a live pagedesk server, log-in.

Every browser test is marked `@pytest.mark.e2e` and takes `live_app` (the base URL of a real uvicorn
serving pagedesk.config.asgi.application — HTTP and websockets — on a free port) plus pytest-playwright's
`page` or `new_context`. The server runs in a thread of the test process against the test database; the
tests use `transactional_db`, so rows a test creates are committed and the server thread sees them.
Screenshots go under tests/artifacts/ (see `artifact_path`).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in item.path.resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    # Never `playwright install` here: Debian's chromium is the browser (TESTING.md).
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: `make browser` (apt-get install chromium) installs it")
    # Playwright's sync API keeps an asyncio loop running in the main thread from here to the end of the
    # session, and Django refuses ORM calls from a thread with a running loop (SynchronousOnlyOperation).
    # Browser tests use the ORM only from plain synchronous code between browser calls, so the guard is
    # lifted — here, not at import, so a run without browser tests keeps Django's check.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--disable-gpu", "--disable-quic", "--disable-dev-shm-usage"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}, "locale": "en-US"}


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class LiveServer:
    """uvicorn in a daemon thread, on a socket bound before start so the port cannot be taken meanwhile."""

    def __init__(self, application: Any = None) -> None:
        import uvicorn

        if application is None:
            from pagedesk.config.asgi import application

        self.sock = _free_socket()
        host, port = self.sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        config = uvicorn.Config(application, lifespan="off", log_level="warning", ws_ping_interval=None)
        self.server = uvicorn.Server(config)
        # The application gives the loop a default executor that closes what Django's error pages open
        # there (pagedesk.core.db.ConnectionClosingExecutor); uvicorn's run shuts it down at the end.
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, name="e2e-uvicorn", daemon=True
        )

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the live pagedesk server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@pytest.fixture
def live_app(transactional_db: None, settings) -> Iterator[str]:
    """Base URL of a real pagedesk (HTTP + websockets) serving the test database."""
    with serving(settings) as url:
        yield url


@contextlib.contextmanager
def serving(settings: Any, application: Any = None) -> Iterator[str]:
    """`live_app`'s server, for a test that serves an application of its own (built under its settings)."""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
    server = LiveServer(application)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
        # The server's request threads opened their own connections; close them before the flush.
        from django.db import connections

        from pagedesk.messenger.webhooks import webhook_threads_close_connections

        connections.close_all()
        # The webhook's lean path keeps one connection per pool thread (SQLite) that close_all can't see.
        webhook_threads_close_connections()


@pytest.fixture
def login(live_app: str):
    """`login(page, user)` logs a persona in through the real login form (tests/conftest.py password)."""
    from tests.conftest import PASSWORD

    def do_login(page, user, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
        page.goto(f"{live_app}/accounts/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url)

    return do_login


def session_context(new_context, user, base: str):  # type: ignore[no-untyped-def]
    """A browser context already logged in as `user` on the server at `base` (a session made by
    Django's test client, for servers that share the test's SECRET_KEY and database)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    context = new_context()
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": base,
            }
        ]
    )
    return context


@pytest.fixture
def artifact_path():
    """`artifact_path("name.png")`: where to save a screenshot (tests/artifacts/, created on demand)."""

    def path(name: str) -> str:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        return str(ARTIFACTS / name)

    return path
