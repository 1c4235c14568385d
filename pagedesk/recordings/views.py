"""Recordings: the filtered list, the transcript (live while open), attachments, CSV exports."""

from __future__ import annotations

import csv
import mimetypes
from collections.abc import Iterable, Iterator
from typing import cast

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from pagedesk.accounts.models import User
from pagedesk.conversations.models import Conversation
from pagedesk.core import clock
from pagedesk.core.errors import ApplicationError
from pagedesk.core.permissions import any_role_required
from pagedesk.core.streaming import stored_file_response, streaming_iterator_response
from pagedesk.recordings.forms import RecordingFilterForm
from pagedesk.recordings.selectors import (
    EXPORT_COLUMNS,
    RecordingFilters,
    attachment_get_for_user,
    local_iso,
    recording_export_rows,
    recording_list,
    recording_page,
    transcript_get,
    utc_iso,
)
from pagedesk.routing.selectors import conversation_get_for_user

PAGE_SIZE = 50
CSV_ROWS_PER_CHUNK = 500
# Only these image types are shown inline; anything else (SVG included: it can carry script) downloads.
INLINE_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _filters(request: HttpRequest) -> tuple[RecordingFilterForm, RecordingFilters | None]:
    form = RecordingFilterForm(request.GET or None, user=_user(request))
    if not request.GET:
        return form, RecordingFilters()
    if not form.is_valid():
        return form, None
    return form, form.filters()


@require_GET
@any_role_required
def recording_list_view(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    page = None
    status = 200
    if filters is not None:
        try:
            conversations = recording_list(user=_user(request), filters=filters)
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            status = exc.status
        else:
            try:
                number = int(request.GET.get("page", "1"))
            except ValueError:
                number = 1
            page = recording_page(conversations=conversations, number=number, per_page=PAGE_SIZE)
    else:
        status = 422
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "recordings/list.html",
        {"nav": "recordings", "form": form, "page": page, "query": query.urlencode()},
        status=status,
    )


# --- CSV ---------------------------------------------------------------------------------------------


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


def _csv_chunks(header: list[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
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


def _stream(request: HttpRequest, chunks: Iterator[str], *, filename: str) -> HttpResponse:
    # Under ASGI the chunks are pulled in the request's own thread, where the rows' cursor lives, and
    # the response closes them there when the download ends or the client leaves (core/streaming.py).
    response = streaming_iterator_response(request, chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    token = request.GET.get("download_token", "")
    if token.isalnum() and len(token) <= 40:
        # The list page polls for this cookie to hide its "exporting…" hint once the download starts.
        response.set_cookie("pd_export", token, max_age=60, samesite="Lax")
    # The role decorators are typed for HttpResponse; a streaming response is served the same way.
    return cast(HttpResponse, response)


@require_GET
@any_role_required
def recording_export_view(request: HttpRequest) -> HttpResponse:
    _form, filters = _filters(request)
    if filters is None:
        return HttpResponse(_("Fix the filters first."), status=422, content_type="text/plain; charset=utf-8")
    conversations = recording_list(user=_user(request), filters=filters)
    header = list(EXPORT_COLUMNS)
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    return _stream(
        request,
        _csv_chunks(header, recording_export_rows(conversations=conversations)),
        filename=f"recordings-{stamp}.csv",
    )


# --- Transcript ---------------------------------------------------------------------------------------


def _transcript_context(request: HttpRequest, conversation_id: int) -> dict[str, object]:
    conversation = conversation_get_for_user(user=_user(request), conversation_id=conversation_id)
    return {"nav": "recordings", "t": transcript_get(conversation=conversation), "c": conversation}


@require_GET
@any_role_required
def transcript_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return render(request, "recordings/transcript.html", _transcript_context(request, conversation_id))


@require_GET
@any_role_required
def transcript_fragment_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return render(request, "recordings/_transcript_body.html", _transcript_context(request, conversation_id))


def _sender(message: object, conversation: Conversation) -> str:
    sender_type = getattr(message, "sender_type", "")
    author = getattr(message, "author", None)
    if sender_type == "customer":
        return conversation.contact.display_name
    if sender_type == "agent":
        return author.name if author else _("Agent")
    if sender_type == "integration":
        # The integration's name; the sender_type column says it was one.
        return author.name if author else _("Integration")
    if sender_type == "page_echo":
        return _("Sent from Facebook")
    return _("System")


@require_GET
@any_role_required
def transcript_download_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The transcript as CSV (one row per message; attachments listed by name), times in the campaign's
    zone with their offset as on the transcript, and in UTC."""
    conversation = conversation_get_for_user(user=_user(request), conversation_id=conversation_id)
    transcript = transcript_get(conversation=conversation)
    tz = conversation.campaign.tzinfo
    rows = (
        (
            local_iso(m.created_at, tz),
            utc_iso(m.created_at),
            m.sender_type,
            _sender(m, conversation),
            m.text,
            "; ".join(a.filename or a.get_type_display() for a in m.attachments.all()),
            m.status,
        )
        for m in transcript.messages
    )
    return _stream(
        request,
        _csv_chunks(["time", "time_utc", "sender_type", "sender", "text", "attachments", "status"], rows),
        filename=f"conversation-{conversation.pk}.csv",
    )


@require_GET
@any_role_required
def attachment_view(request: HttpRequest, attachment_id: int) -> HttpResponse:
    """A stored attachment, after the transcript's permission check; never served from static."""
    attachment = attachment_get_for_user(user=_user(request), attachment_id=attachment_id)
    if not attachment.file:
        raise Http404
    content_type = (
        attachment.content_type or mimetypes.guess_type(attachment.filename or attachment.file.name)[0]
    )
    content_type = content_type or "application/octet-stream"
    inline = request.GET.get("inline") == "1" and content_type in INLINE_IMAGE_TYPES
    response = stored_file_response(
        request,
        attachment.file,
        name=attachment.filename or attachment.file.name.rsplit("/", 1)[-1],
        content_type=content_type,
        inline=inline,
    )
    return cast(HttpResponse, response)
