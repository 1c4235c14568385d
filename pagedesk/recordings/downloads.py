"""The CSV downloads, shared by the recordings pages (pagedesk.recordings.views) and the API
(GET /api/v1/conversations/{id}/transcript with `Accept: text/csv`), so both stream the same bytes."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import cast

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from pagedesk.conversations.models import Conversation, Message, SenderType
from pagedesk.core.streaming import streaming_iterator_response
from pagedesk.recordings.selectors import Transcript, local_iso, utc_iso

CSV_ROWS_PER_CHUNK = 500
TRANSCRIPT_COLUMNS = ["time", "time_utc", "sender_type", "sender", "text", "attachments", "status"]


def _safe_cell(value: object) -> object:
    """Neutralise spreadsheet formulas in text a customer typed (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


class _Lines(list[str]):
    """What csv.writer writes to: each row as the one str it formats, joined once per chunk. (A StringIO
    emptied with seek/truncate keeps a 4-bytes-per-character buffer: four times the chunk.)"""

    def write(self, line: str) -> None:
        self.append(line)


def csv_chunks(header: list[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The CSV in chunks of CSV_ROWS_PER_CHUNK rows: under ASGI each chunk is one trip to the thread
    that reads the rows, so the hop is paid per batch, not per row."""
    lines = _Lines()
    writer = csv.writer(lines)
    writer.writerow(header)
    try:
        for count, row in enumerate(rows, start=1):
            writer.writerow([_safe_cell(v.isoformat() if hasattr(v, "isoformat") else v) for v in row])
            if count % CSV_ROWS_PER_CHUNK == 0:
                chunk = "".join(lines)
                lines.clear()
                yield chunk
        yield "".join(lines)
    finally:
        # A for loop does not close what it iterates: when the response closes this generator early
        # (the client left), close the rows too, and with them their database cursor, now, in this
        # thread, rather than whenever the garbage collector gets to them on whichever thread.
        close = getattr(rows, "close", None)
        if close is not None:
            close()


def csv_response(request: HttpRequest, chunks: Iterator[str], *, filename: str) -> HttpResponse:
    # Under ASGI the chunks are pulled in the request's own thread, where the rows' cursor lives, and
    # the response closes them there when the download ends or the client leaves (core/streaming.py).
    response = streaming_iterator_response(request, chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    token = request.GET.get("download_token", "")
    if token.isalnum() and len(token) <= 40:
        # The list page polls for this cookie to hide its "exporting…" hint once the download starts.
        response.set_cookie("pd_export", token, max_age=60, samesite="Lax")
    # Callers are typed for HttpResponse; a streaming response is served the same way.
    return cast(HttpResponse, response)


def message_sender(message: Message, conversation: Conversation) -> str:
    """Who wrote a message, as the transcript names them."""
    if message.sender_type == SenderType.CUSTOMER:
        return conversation.contact.display_name
    if message.sender_type == SenderType.AGENT:
        return message.author.name if message.author else _("Agent")
    if message.sender_type == SenderType.INTEGRATION:
        return message.author.name if message.author else _("Integration")
    if message.sender_type == SenderType.PAGE_ECHO:
        return _("Sent from Facebook")
    return _("System")


def transcript_csv_response(request: HttpRequest, transcript: Transcript) -> HttpResponse:
    """The transcript as CSV (one row per message; attachments listed by name), times in the campaign's
    zone with their offset as on the transcript, and in UTC. Needs `campaign` and `contact` loaded."""
    conversation = transcript.conversation
    tz = conversation.campaign.tzinfo
    rows = (
        (
            local_iso(m.created_at, tz),
            utc_iso(m.created_at),
            m.sender_type,
            message_sender(m, conversation),
            m.text,
            "; ".join(a.filename or a.get_type_display() for a in m.attachments.all()),
            m.status,
        )
        for m in transcript.messages
    )
    return csv_response(
        request, csv_chunks(TRANSCRIPT_COLUMNS, rows), filename=f"conversation-{conversation.pk}.csv"
    )
