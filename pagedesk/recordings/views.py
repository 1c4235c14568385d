"""Recordings: the filtered list, the transcript (live while open), attachments, CSV exports."""

from __future__ import annotations

import mimetypes
from typing import cast

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from pagedesk.accounts.models import User
from pagedesk.core import clock
from pagedesk.core.errors import ApplicationError
from pagedesk.core.permissions import any_role_required
from pagedesk.core.streaming import stored_file_response
from pagedesk.recordings.downloads import csv_chunks, csv_response, transcript_csv_response
from pagedesk.recordings.forms import RecordingFilterForm
from pagedesk.recordings.selectors import (
    EXPORT_COLUMNS,
    RecordingFilters,
    attachment_get_for_user,
    recording_export_rows,
    recording_list,
    recording_page,
    transcript_get,
)
from pagedesk.routing.selectors import conversation_get_for_user

PAGE_SIZE = 50
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


@require_GET
@any_role_required
def recording_export_view(request: HttpRequest) -> HttpResponse:
    _form, filters = _filters(request)
    if filters is None:
        return HttpResponse(_("Fix the filters first."), status=422, content_type="text/plain; charset=utf-8")
    conversations = recording_list(user=_user(request), filters=filters)
    header = list(EXPORT_COLUMNS)
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    return csv_response(
        request,
        csv_chunks(header, recording_export_rows(conversations=conversations)),
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


@require_GET
@any_role_required
def transcript_download_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The transcript as CSV (recordings.downloads)."""
    conversation = conversation_get_for_user(user=_user(request), conversation_id=conversation_id)
    return transcript_csv_response(request, transcript_get(conversation=conversation))


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
