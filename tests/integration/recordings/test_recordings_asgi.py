"""Recordings downloads under the ASGI handler pagedesk is served with: the CSV export, the transcript
download and attachments stream from async iterators (Django warns, and reads everything into memory
first, when given a synchronous one), with the same headers, filters and access rules as before.

The request goes through django.core.handlers.asgi.ASGIHandler with a raw ASGI scope, as uvicorn
sends it; the test client would not do: it is synchronous, and consumes the body its own way.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import tracemalloc
import zoneinfo
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.db import connection, connections

from pagedesk.campaigns.models import Disposition
from pagedesk.campaigns.services import campaign_set_supervisors
from pagedesk.conversations.models import (
    Attachment,
    Contact,
    Conversation,
    ConversationState,
    MessageStatus,
    SenderType,
)
from pagedesk.recordings import downloads, selectors, views
from tests.asgi_client import Download, asgi_get, iterator_warnings, open_files_under, session_cookie
from tests.attachment_downloads import assert_streamed_attachment, attach
from tests.conftest import make_user
from tests.integration.recordings.conftest import AT, make_message, make_recording

# The view runs in a worker thread with its own database connection: rows must be committed. The
# warning Django gives when it has to buffer a synchronous iterator fails the test outright.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("error:StreamingHttpResponse must consume synchronous iterators"),
]

HEADER = (
    "id,created_at,campaign,state,customer_first_name,customer_last_name,psid,agent,disposition,"
    "queued_at,assigned_at,first_response_at,closed_at,abandoned_at,created_at_utc,timezone\r\n"
)
MADRID = zoneinfo.ZoneInfo("Europe/Madrid")


async def in_sync_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """fn(*args, **kwargs) in asgiref's sync thread, whose database connection is closed afterwards: left
    open (on PostgreSQL, checked out of the pool), it would keep the test database from being dropped."""

    def run() -> Any:
        try:
            return fn(*args, **kwargs)
        finally:
            connections.close_all()

    return await sync_to_async(run)()


class Export:
    """recording_export_rows as the export view calls it, watched: how many rows it has produced, in which
    threads, and whether it was closed (and its cursor with it) before its rows ran out."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.produced = 0
        self.threads: set[int] = set()
        self.exhausted = False
        self.closed_early = False
        self.closed_in: int | None = None
        self.open_cursors_while_reading: list[str] | None = None
        self.open_cursors_after_close: list[str] | None = None
        real = views.recording_export_rows

        def open_cursors() -> list[str] | None:
            if connection.vendor != "postgresql":
                return None
            with connection.cursor() as cursor:
                cursor.execute("SELECT name FROM pg_cursors")
                return [name for (name,) in cursor.fetchall()]

        def watched(**kwargs: Any) -> Iterator[tuple[object, ...]]:
            rows = real(**kwargs)
            try:
                for row in rows:
                    self.threads.add(threading.get_ident())
                    self.produced += 1
                    if self.produced == 1:
                        self.open_cursors_while_reading = open_cursors()
                    yield row
                self.exhausted = True
            except GeneratorExit:
                self.closed_early = True
                raise
            finally:
                rows.close()  # a for loop would leave the real rows to the garbage collector
                self.closed_in = threading.get_ident()
                # On PostgreSQL the rows come from a server-side (WITH HOLD) cursor on this thread's
                # connection; it must be gone before request_finished hands the connection back to the
                # pool, where it would outlive the request.
                self.open_cursors_after_close = open_cursors()

        monkeypatch.setattr(views, "recording_export_rows", watched)

    def assert_cursor_closed(self) -> None:
        if connection.vendor == "postgresql":
            assert self.open_cursors_while_reading and self.open_cursors_after_close == []


@pytest.fixture
def small(campaign, beta, alice, bob):  # type: ignore[no-untyped-def]
    """Three conversations in Acme Support (sam's), one in Beta (not sam's)."""
    solved = Disposition.objects.create(campaign=campaign, name="Solved")
    minute = dt.timedelta(minutes=1)
    return {
        "formula": make_recording(
            campaign,
            "101",
            first='=HYPERLINK("http://evil")',
            agent=alice,
            state=ConversationState.CLOSED,
            assigned_at=AT + minute,
            first_response_at=AT + 2 * minute,
            closed_at=AT + 5 * minute,
            disposition=solved,
        ),
        "abandoned": make_recording(
            campaign,
            "102",
            first="Diego",
            at=AT + minute,
            state=ConversationState.ABANDONED,
            abandoned_at=AT + 3 * minute,
        ),
        "bobs": make_recording(
            campaign,
            "103",
            first='Eva, "Evie"',
            agent=bob,
            at=AT + 2 * minute,
            state=ConversationState.CLOSED,
            assigned_at=AT + 3 * minute,
            closed_at=AT + 4 * minute,
        ),
        "beta": make_recording(beta, "201", first="Fay", agent=bob, state=ConversationState.CLOSED),
    }


def csv_line(c: Conversation, campaign: str, first: str, state: str, agent: str, disposition: str) -> str:
    """A row as the screen shows it: times in Acme Support's zone (Madrid) with their offset; UTC last."""

    def stamp(value: dt.datetime | None) -> str:
        return value.astimezone(MADRID).isoformat(timespec="seconds") if value else ""

    utc = c.created_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return (
        f"{c.pk},{stamp(c.created_at)},{campaign},{state},{first},Mendes,{c.contact.psid},{agent},{disposition},"
        f"{stamp(c.queued_at)},{stamp(c.assigned_at)},{stamp(c.first_response_at)},{stamp(c.closed_at)},"
        f"{stamp(c.abandoned_at)},{utc},Europe/Madrid\r\n"
    )


async def test_export_csv_content_headers_and_progress_cookie(small, sam, frozen_clock):
    cookie = await in_sync_thread(session_cookie, sam)
    download = await asgi_get("/recordings/export.csv", cookie, query={"download_token": "abc123"})

    assert iterator_warnings(download) == []
    assert download.status == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert download.headers["content-disposition"] == 'attachment; filename="recordings-20260302-1000.csv"'
    # The list page polls for this cookie to hide its "Exporting N conversations…" hint.
    assert any(c.startswith("pd_export=abc123;") for c in download.cookies)
    # Newest first; sam supervises Acme Support only; formulas neutralised; quoting as csv writes it.
    assert download.text == (
        HEADER
        + csv_line(small["bobs"], "Acme Support", '"Eva, ""Evie"""', "closed", "Bob", "")
        + csv_line(small["abandoned"], "Acme Support", "Diego", "abandoned", "", "")
        + csv_line(
            small["formula"], "Acme Support", '"\'=HYPERLINK(""http://evil"")"', "closed", "Alice", "Solved"
        )
    )


async def test_export_filters_and_access_rules(small, sam, alice, bob, beta):
    sam_cookie, alice_cookie, bob_cookie = [
        await in_sync_thread(session_cookie, user) for user in (sam, alice, bob)
    ]

    def ids(download: Download) -> list[int]:
        assert download.status == 200 and iterator_warnings(download) == []
        return [int(line.split(",", 1)[0]) for line in download.text.splitlines()[1:]]

    # Agents: their own conversations only, in every campaign.
    assert ids(await asgi_get("/recordings/export.csv", alice_cookie)) == [small["formula"].pk]
    assert ids(await asgi_get("/recordings/export.csv", bob_cookie)) == [small["bobs"].pk, small["beta"].pk]
    # Filters narrow the export exactly as the list.
    abandoned = await asgi_get("/recordings/export.csv", sam_cookie, query={"state": "abandoned"})
    assert ids(abandoned) == [small["abandoned"].pk]
    by_agent = await asgi_get("/recordings/export.csv", sam_cookie, query={"agent": str(bob.pk)})
    assert ids(by_agent) == [small["bobs"].pk]
    # A campaign sam does not supervise is not a choice he has: the filters are refused, nothing leaks.
    refused = await asgi_get("/recordings/export.csv", sam_cookie, query={"campaign": str(beta.pk)})
    assert refused.status == 422 and b"Beta" not in refused.body and b"Fay" not in refused.body
    anonymous = await asgi_get("/recordings/export.csv", None)
    assert anonymous.status == 302 and "/accounts/login/" in anonymous.headers["location"]


def bulk_conversations(campaign, count: int) -> None:  # type: ignore[no-untyped-def]
    contacts = Contact.objects.bulk_create(
        (Contact(page_id="p", psid=f"9{i:08d}", first_name=f"Customer {i}") for i in range(count)),
        batch_size=5000,
    )
    Conversation.objects.bulk_create(
        (
            Conversation(
                campaign=campaign,
                contact=contact,
                # One in four abandoned: a filtered export a quarter of the size.
                state=ConversationState.ABANDONED if i % 4 == 0 else ConversationState.CLOSED,
                created_at=AT + dt.timedelta(seconds=i),
                queued_at=AT,
                closed_at=AT + dt.timedelta(seconds=i + 60),
            )
            for i, contact in enumerate(contacts)
        ),
        batch_size=5000,
    )


async def test_the_export_is_sent_while_its_rows_are_still_being_read(campaign, sam, monkeypatch):
    total = 4 * downloads.CSV_ROWS_PER_CHUNK + 7
    await in_sync_thread(bulk_conversations, campaign, total)
    export = Export(monkeypatch)
    produced_at_chunk: list[int] = []
    cookie = await in_sync_thread(session_cookie, sam)

    download = await asgi_get(
        "/recordings/export.csv", cookie, on_chunk=lambda d: produced_at_chunk.append(export.produced)
    )

    assert download.status == 200 and iterator_warnings(download) == []
    assert download.newlines == total + 1 and export.exhausted
    # Streamed: each chunk left before the next batch of rows was read, the first after one batch.
    assert len(download.chunks) >= 5
    assert produced_at_chunk[0] == downloads.CSV_ROWS_PER_CHUNK < total
    assert produced_at_chunk == sorted(produced_at_chunk) and len(set(produced_at_chunk)) >= 5
    # One thread read every row (the cursor's connection is that thread's) and closed the generator:
    # not the event loop's.
    assert export.threads == {export.closed_in}
    assert threading.get_ident() not in export.threads
    export.assert_cursor_closed()


async def test_a_client_leaving_mid_export_closes_the_generator_and_its_cursor(campaign, sam, monkeypatch):
    total = 6 * downloads.CSV_ROWS_PER_CHUNK
    await in_sync_thread(bulk_conversations, campaign, total)
    export = Export(monkeypatch)
    cookie = await in_sync_thread(session_cookie, sam)

    download = await asgi_get("/recordings/export.csv", cookie, leave_after_chunks=2)

    assert download.status == 200 and iterator_warnings(download) == []
    assert 0 < download.newlines < total
    # Closed by the time the handler returned, early, in the thread that read the rows.
    assert export.closed_early and not export.exhausted
    assert export.produced < total
    assert export.threads == {export.closed_in}
    export.assert_cursor_closed()


async def test_a_large_export_is_never_held_in_memory(campaign, sam, monkeypatch):
    total = 20_000
    await in_sync_thread(bulk_conversations, campaign, total)
    cookie = await in_sync_thread(session_cookie, sam)
    handler = ASGIHandler()
    # A first request pays for imports and caches, which would dwarf the figures measured below.
    warm = await asgi_get("/recordings/export.csv", cookie, query={"customer": "Customer 1"}, handler=handler)
    assert warm.status == 200

    async def measured(query: dict[str, str]) -> tuple[Download, int]:
        tracemalloc.start()
        try:
            download = await asgi_get(
                "/recordings/export.csv", cookie, query=query, keep_body=False, handler=handler
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert download.status == 200 and iterator_warnings(download) == []
        return download, peak

    # As shipped, the peak is set by the cursor's batch of rows (selectors.EXPORT_CHUNK, held twice
    # while the next fetch replaces it), not by the row count: four times the rows, the same peak. A
    # buffered export would add the whole CSV to it.
    quarter, quarter_peak = await measured({"state": "abandoned"})
    whole, whole_peak = await measured({})
    assert (quarter.newlines, whole.newlines) == (total // 4 + 1, total + 1)
    assert whole_peak < quarter_peak * 1.3, f"peaks {quarter_peak} and {whole_peak} bytes for 1/4 and all"

    # With a smaller batch what remains is the view's own share, a CSV chunk or two: well below the
    # CSV, which a buffered export would hold whole.
    monkeypatch.setattr(selectors, "EXPORT_CHUNK", 500)
    small_batches, peak = await measured({})
    assert small_batches.sha.digest() == whole.sha.digest()
    assert peak < whole.size / 2, f"peak {peak} bytes for a {whole.size}-byte CSV"


async def test_transcript_download_streams_with_its_access_rules(campaign, sam, alice, bob, beta):
    def build() -> Conversation:
        c = make_recording(campaign, "301", first="Carla", agent=alice, state=ConversationState.CLOSED)
        make_message(c, "=1+1 where is my parcel?")
        reply = make_message(
            c,
            "On its way",
            sender=SenderType.AGENT,
            author=alice,
            status=MessageStatus.READ,
            at=AT + dt.timedelta(seconds=40),
        )
        Attachment.objects.create(
            message=reply, type="file", filename="label.pdf", content_type="application/pdf"
        )
        return c

    c = await in_sync_thread(build)
    cookies = {u.username: await in_sync_thread(session_cookie, u) for u in (sam, alice, bob)}
    url = f"/recordings/{c.pk}/download.csv"

    download = await asgi_get(url, cookies["sam"])
    assert download.status == 200 and iterator_warnings(download) == []
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert download.headers["content-disposition"] == f'attachment; filename="conversation-{c.pk}.csv"'
    assert download.text == (
        "time,time_utc,sender_type,sender,text,attachments,status\r\n"
        "2026-03-02T11:00:00+01:00,2026-03-02T10:00:00Z,customer,Carla Mendes,'=1+1 where is my parcel?,,received\r\n"
        "2026-03-02T11:00:40+01:00,2026-03-02T10:00:40Z,agent,Alice,On its way,label.pdf,read\r\n"
    )
    assert (await asgi_get(url, cookies["alice"])).text == download.text
    assert (await asgi_get(url, cookies["bob"])).status == 403
    assert (await asgi_get("/recordings/999999/download.csv", cookies["sam"])).status == 404


BIG = 3 * 1024 * 1024


@pytest.fixture
def stored(settings, tmp_path, campaign, alice):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path
    c = make_recording(campaign, "401", first="Carla", agent=alice, state=ConversationState.CLOSED)
    message = make_message(c, "")

    big = os.urandom(BIG)
    return {
        "big": big,
        "report": attach(message, "quarterly report.pdf", "application/pdf", "file", big),
        "photo": attach(message, "photo.png", "image/png", "image", b"\x89PNG small"),
        "svg": attach(message, "evil.svg", "image/svg+xml", "image", b"<svg onload=alert(1)>"),
    }


async def test_attachments_stream_with_their_headers_and_access_rules(stored, settings, sam, bob, beta):
    sam_cookie, bob_cookie = [await in_sync_thread(session_cookie, u) for u in (sam, bob)]
    other_sup = await in_sync_thread(make_user, "sue", "supervisor")
    await in_sync_thread(campaign_set_supervisors, campaign=beta, supervisor_ids=[other_sup.pk])
    sue_cookie = await in_sync_thread(session_cookie, other_sup)
    url = f"/recordings/attachments/{stored['report'].pk}/"

    report = await asgi_get(url, sam_cookie, keep_body=False)
    assert_streamed_attachment(
        report, stored["big"], content_type="application/pdf", filename="quarterly_report.pdf"
    )
    assert open_files_under(settings.MEDIA_ROOT) == []

    photo = await asgi_get(
        f"/recordings/attachments/{stored['photo'].pk}/", sam_cookie, query={"inline": "1"}
    )
    assert photo.headers["content-disposition"] == 'inline; filename="photo.png"'
    assert photo.body == b"\x89PNG small"
    svg = await asgi_get(f"/recordings/attachments/{stored['svg'].pk}/", sam_cookie, query={"inline": "1"})
    assert svg.headers["content-disposition"].startswith("attachment;")

    partial = await asgi_get(url, sam_cookie, leave_after_chunks=2, keep_body=False)
    assert partial.status == 200 and 0 < partial.size < BIG and iterator_warnings(partial) == []
    assert open_files_under(settings.MEDIA_ROOT) == []

    assert (await asgi_get(url, bob_cookie)).status == 403
    assert (await asgi_get(url, sue_cookie)).status == 403
    assert (await asgi_get("/recordings/attachments/999999/", sam_cookie)).status == 404
