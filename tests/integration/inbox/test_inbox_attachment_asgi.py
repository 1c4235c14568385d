"""Attachment downloads under the ASGI handler pagedesk is served with: streamed from an async
iterator (Django warns, and reads the whole file into memory, when given a synchronous one), with the
same headers and access checks as before.

The request goes through django.core.handlers.asgi.ASGIHandler with a raw ASGI scope, as uvicorn
sends it; the test client would not do: it is synchronous, and consumes the body its own way.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tracemalloc
import warnings
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.handlers.asgi import ASGIHandler
from django.test import Client

from pagedesk.conversations.models import Attachment, Message
from tests.integration.inbox.conftest import make_contact, make_conversation

# The view runs in a worker thread with its own database connection: rows must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

BIG = 6 * 1024 * 1024


def session_cookie(user) -> str:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return (
        f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"
    )


@pytest.fixture
def stored(settings, tmp_path, campaign, alice, bob) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path
    mine = make_conversation(campaign, agent=alice)
    bobs = make_conversation(campaign, agent=bob, contact=make_contact(first_name="Other"))

    def attach(conversation, name: str, content_type: str, kind: str, data: bytes) -> Attachment:  # type: ignore[no-untyped-def]
        message = Message.objects.filter(conversation=conversation)[0]
        attachment = Attachment(message=message, type=kind, filename=name, content_type=content_type)
        attachment.file.save("upload.bin", ContentFile(data), save=True)
        return attachment

    big = os.urandom(BIG)
    return {
        "big": big,
        "report": attach(mine, "quarterly report.pdf", "application/pdf", "file", big),
        "photo": attach(mine, "photo.png", "image/png", "image", b"\x89PNG small"),
        "empty": attach(mine, "empty.txt", "text/plain", "file", b""),
        "foreign": attach(bobs, "secret.pdf", "application/pdf", "file", b"not yours"),
        "alice": session_cookie(alice),
    }


class Download:
    """What an ASGI server would send to the client; the body is hashed as it arrives, not kept."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.sha = hashlib.sha256()
        self.size = 0
        self.chunks: list[int] = []
        self.warnings: list[str] = []


async def asgi_get(path: str, cookie: str | None, *, leave_after_chunks: int = 0) -> Download:
    """GET through the ASGI handler; with leave_after_chunks, the client disconnects after that many."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")] + ([(b"cookie", cookie.encode())] if cookie else []),
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    delivered = False
    download = Download()
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
            download.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message.get("body"):
            download.sha.update(message["body"])
            download.size += len(message["body"])
            download.chunks.append(len(message["body"]))
            if len(download.chunks) == leave_after_chunks:
                left.set()
                await asyncio.sleep(0.05)  # the handler notices while the body is still streaming

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await ASGIHandler()(scope, receive, send)
    download.warnings = [str(w.message) for w in caught]
    return download


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


def iterator_warnings(download: Download) -> list[str]:
    return [w for w in download.warnings if "iterator" in w]


async def test_a_large_attachment_streams_without_the_sync_iterator_warning(stored):
    report = stored["report"]
    # A first request pays for imports and caches, which would dwarf the figure measured below.
    assert (await asgi_get(f"/inbox/attachments/{stored['photo'].pk}/", stored["alice"])).status == 200
    tracemalloc.start()
    try:
        download = await asgi_get(f"/inbox/attachments/{report.pk}/", stored["alice"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert iterator_warnings(download) == []
    assert download.status == 200
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"] == 'attachment; filename="quarterly_report.pdf"'
    assert download.headers["content-length"] == str(BIG)
    assert download.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in download.headers["content-security-policy"]
    assert (download.size, download.sha.digest()) == (BIG, hashlib.sha256(stored["big"]).digest())
    # Streamed: many bounded chunks, and never the whole file in memory at once (a synchronous
    # iterator under ASGI is first read into a list, which would put the peak above the file size).
    assert len(download.chunks) > 1 and max(download.chunks) <= 64 * 1024
    assert peak < BIG / 2, f"peak {peak} bytes for a {BIG}-byte file"


async def test_inline_empty_and_refused_downloads_under_asgi(stored, bob):
    photo = await asgi_get(f"/inbox/attachments/{stored['photo'].pk}/", stored["alice"])
    assert (photo.status, photo.headers["content-type"]) == (200, "image/png")
    assert photo.headers["content-disposition"] == 'inline; filename="photo.png"'
    assert photo.size == len(b"\x89PNG small")

    empty = await asgi_get(f"/inbox/attachments/{stored['empty'].pk}/", stored["alice"])
    assert (empty.status, empty.size, empty.headers["content-length"]) == (200, 0, "0")

    foreign = await asgi_get(f"/inbox/attachments/{stored['foreign'].pk}/", stored["alice"])
    assert foreign.status == 403
    missing = await asgi_get("/inbox/attachments/999999/", stored["alice"])
    assert missing.status == 404
    anonymous = await asgi_get(f"/inbox/attachments/{stored['report'].pk}/", None)
    assert anonymous.status == 302 and "/accounts/login/" in anonymous.headers["location"]

    for download in (photo, empty, foreign, missing, anonymous):
        assert iterator_warnings(download) == []


async def test_the_file_is_closed_when_the_download_ends_or_the_client_leaves(stored, settings):
    url = f"/inbox/attachments/{stored['report'].pk}/"
    whole = await asgi_get(url, stored["alice"])
    assert whole.size == BIG
    assert open_files_under(settings.MEDIA_ROOT) == []

    partial = await asgi_get(url, stored["alice"], leave_after_chunks=2)
    assert partial.status == 200 and 0 < partial.size < BIG
    assert open_files_under(settings.MEDIA_ROOT) == []
    assert iterator_warnings(partial) == []
