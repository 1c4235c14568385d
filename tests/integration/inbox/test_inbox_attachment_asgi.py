"""Attachment downloads under the ASGI handler pagedesk is served with: streamed from an async
iterator (Django warns, and reads the whole file into memory, when given a synchronous one), with the
same headers and access checks as before.

The request goes through django.core.handlers.asgi.ASGIHandler with a raw ASGI scope, as uvicorn
sends it; the test client would not do: it is synchronous, and consumes the body its own way.
"""

from __future__ import annotations

import os
import tracemalloc
from typing import Any

import pytest

from pagedesk.conversations.models import Message
from tests.asgi_client import asgi_get, iterator_warnings, open_files_under, session_cookie
from tests.attachment_downloads import assert_streamed_attachment, attach
from tests.integration.inbox.conftest import make_contact, make_conversation

# The view runs in a worker thread with its own database connection: rows must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

BIG = 6 * 1024 * 1024


@pytest.fixture
def stored(settings, tmp_path, campaign, alice, bob) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path
    mine = make_conversation(campaign, agent=alice)
    bobs = make_conversation(campaign, agent=bob, contact=make_contact(first_name="Other"))

    mine_first, bobs_first = (Message.objects.filter(conversation=c)[0] for c in (mine, bobs))
    big = os.urandom(BIG)
    return {
        "big": big,
        "report": attach(mine_first, "quarterly report.pdf", "application/pdf", "file", big),
        "photo": attach(mine_first, "photo.png", "image/png", "image", b"\x89PNG small"),
        "empty": attach(mine_first, "empty.txt", "text/plain", "file", b""),
        "foreign": attach(bobs_first, "secret.pdf", "application/pdf", "file", b"not yours"),
        "alice": session_cookie(alice),
    }


async def test_a_large_attachment_streams_without_the_sync_iterator_warning(stored):
    report = stored["report"]
    # A first request pays for imports and caches, which would dwarf the figure measured below.
    assert (await asgi_get(f"/inbox/attachments/{stored['photo'].pk}/", stored["alice"])).status == 200
    tracemalloc.start()
    try:
        download = await asgi_get(f"/inbox/attachments/{report.pk}/", stored["alice"], keep_body=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # Streamed: many bounded chunks, and never the whole file in memory at once (a synchronous
    # iterator under ASGI is first read into a list, which would put the peak above the file size).
    assert_streamed_attachment(
        download, stored["big"], content_type="application/pdf", filename="quarterly_report.pdf"
    )
    assert peak < BIG / 2, f"peak {peak} bytes for a {BIG}-byte file"


async def test_inline_empty_and_refused_downloads_under_asgi(stored, bob):
    photo = await asgi_get(f"/inbox/attachments/{stored['photo'].pk}/", stored["alice"])
    assert (photo.status, photo.headers["content-type"]) == (200, "image/png")
    assert photo.headers["content-disposition"] == 'inline; filename="photo.png"'
    assert photo.size == len(b"\x89PNG small")

    empty = await asgi_get(f"/inbox/attachments/{stored['empty'].pk}/", stored["alice"])
    assert (empty.status, empty.size, empty.headers["content-length"]) == (200, 0, "0")

    foreign = await asgi_get(f"/inbox/attachments/{stored['foreign'].pk}/", stored["alice"])
    assert foreign.status == 404  # the same as an attachment that does not exist
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
