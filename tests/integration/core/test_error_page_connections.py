"""An error page rendered through the ASGI application leaves no database connection open behind it.

Django renders error pages on the event loop's default executor (response_for_exception runs under
sync_to_async(thread_sensitive=False)); the page reads the session and the user there. Nothing in
Django closes that thread's connection, so the application gives the loop an executor that does.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.db.backends.signals import connection_created

from pagedesk.config.asgi import application
from pagedesk.core.db import ConnectionClosingExecutor
from tests.asgi_client import asgi_get, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


async def get(path: str, cookie: str) -> int:
    return (await asgi_get(path, cookie, handler=application)).status


async def test_a_404_page_closes_the_connection_it_opened_off_the_request_thread(alice):
    from channels.db import database_sync_to_async

    cookie = await database_sync_to_async(session_cookie)(alice)
    opened: list[tuple[str, object]] = []

    def record(sender: object, connection: object, **kwargs: object) -> None:
        opened.append((threading.current_thread().name, connection))

    connection_created.connect(record)
    try:
        assert await get("/no-such-icon.ico", cookie) == 404
        assert await get("/no-such-page/", cookie) == 404
    finally:
        connection_created.disconnect(record)
    assert isinstance(asyncio.get_running_loop()._default_executor, ConnectionClosingExecutor)  # type: ignore[attr-defined]
    off_thread = [conn for name, conn in opened if name.startswith("pagedesk-default")]
    assert off_thread, "the error page was rendered on the request's thread: nothing to check"
    assert all(conn.connection is None for conn in off_thread)  # type: ignore[attr-defined]
