"""GET requests through Django's ASGI handler with a raw scope, as uvicorn sends them.

The test client will not do for streamed downloads: it is synchronous and consumes the body its own
way. Shared by the inbox and recordings download tests.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import warnings
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings as django_settings
from django.core.handlers.asgi import ASGIHandler
from django.test import Client


def session_cookie(user) -> str:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return (
        f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"
    )


class Download:
    """What an ASGI server would send to the client."""

    def __init__(self, keep_body: bool) -> None:
        self.keep_body = keep_body
        self.status = 0
        self.headers: dict[str, str] = {}
        self.cookies: list[str] = []
        self.body = bytearray()
        self.sha = hashlib.sha256()
        self.size = 0
        self.newlines = 0
        self.chunks: list[int] = []
        self.warnings: list[str] = []

    @property
    def text(self) -> str:
        return self.body.decode()


async def asgi_get(
    path: str,
    cookie: str | None,
    *,
    query: dict[str, str] | None = None,
    leave_after_chunks: int = 0,
    on_chunk: Callable[[Download], None] | None = None,
    keep_body: bool = True,
    handler: Callable[..., Awaitable[None]] | None = None,
) -> Download:
    """GET through the ASGI handler. With leave_after_chunks the client disconnects after that many body
    chunks; on_chunk sees the download after each chunk arrives; keep_body=False only counts and hashes
    the body (a memory measurement must not count the test's own copy of it). A handler loads the
    middleware when created, as a server does once: a memory measurement passes one it has used before.
    Any ASGI application will do as the handler (pagedesk.config.asgi.application, for one)."""
    query_string = urlencode(query or {}).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query_string,
        "root_path": "",
        "headers": [(b"host", b"testserver")] + ([(b"cookie", cookie.encode())] if cookie else []),
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    delivered = False
    download = Download(keep_body)
    left = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await left.wait()  # the client stays connected until it leaves
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            download.status = message["status"]
            for key, value in message["headers"]:
                if key.lower() == b"set-cookie":
                    download.cookies.append(value.decode())
                else:
                    download.headers[key.decode().lower()] = value.decode()
        elif message.get("body"):
            body = message["body"]
            if download.keep_body:
                download.body += body
            download.sha.update(body)
            download.size += len(body)
            download.newlines += body.count(b"\n")
            download.chunks.append(len(body))
            if on_chunk is not None:
                on_chunk(download)
            if len(download.chunks) == leave_after_chunks:
                left.set()
                await asyncio.sleep(0.05)  # the handler notices while the body is still streaming

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("error", "StreamingHttpResponse must consume synchronous iterators")
        await (handler or ASGIHandler())(scope, receive, send)
    download.warnings = [str(w.message) for w in caught]
    return download


def iterator_warnings(download: Download) -> list[str]:
    return [w for w in download.warnings if "iterator" in w]


def open_files_under(root) -> list[str]:  # type: ignore[no-untyped-def]
    """This process's open file descriptors on files under root (Linux /proc)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(root)):
            found.append(target)
    return found
