"""REST reads of the work itself: conversations, their messages, transcripts and attachments (mounted
at /api/v1/). Writes (send, take, close, transfer, …) are pagedesk.api.conversation_actions.

The pages' rules, through the pages' selectors: admins see every conversation, supervisors those of
the campaigns they supervise, agents those they took part in (routing.selectors), integrations those
of their campaigns. An id outside that scope is a 403 for a person (as on the pages) and a 404 for an
integration, which must not learn which ids exist elsewhere.
"""

# No `from __future__ import annotations`: ninja resolves the annotations of the query schemas.
import mimetypes

from django import forms
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from ninja import Query, Router

from pagedesk.api.conversations_schemas import (
    CONVERSATION_EXAMPLE,
    DETAIL_EXAMPLE,
    INBOUND_EXAMPLE,
    MESSAGE_EXAMPLE,
    ConversationPageOut,
    ConversationsQuery,
    MessagePageOut,
    MessagesQuery,
    TranscriptOut,
    example,
    local_day,
    page_example,
    search_text,
)
from pagedesk.api.pagination import page_of
from pagedesk.api.permissions import request_user
from pagedesk.api.schemas import READ_REFUSALS, ObjectId, refusals
from pagedesk.campaigns.selectors import campaign_list_for_user
from pagedesk.conversations.models import Conversation
from pagedesk.core import clock
from pagedesk.core.errors import ApplicationError, NotFound
from pagedesk.core.streaming import stored_file_response
from pagedesk.platform.selectors import message_page, transfer_pending
from pagedesk.platform.shapes import (
    ConversationDetailOut,
    conversation_detail_shape,
    conversation_shape,
    message_shape,
)
from pagedesk.recordings.downloads import transcript_csv_response
from pagedesk.recordings.selectors import (
    ConversationFilters,
    RecordingFilters,
    attachment_get_for_user,
    conversation_list,
    transcript_get,
)
from pagedesk.routing.selectors import conversation_get_for_user

router = Router(tags=["conversations"])


def _conversation(request: HttpRequest, conversation_id: int) -> Conversation:
    return conversation_get_for_user(user=request_user(request), conversation_id=conversation_id)


@router.get(
    "/conversations",
    # 400: `to` before `from`; `q` without a word; a campaign you may not see.
    response={200: ConversationPageOut, **READ_REFUSALS, **refusals(400)},
    openapi_extra=example(page_example(CONVERSATION_EXAMPLE)),
)
def conversations_list(request: HttpRequest, query: Query[ConversationsQuery]) -> dict[str, object]:
    """The conversations you may see, newest first (`order=oldest` for the other way), a page at a
    time. Filters combine; `q` is the recordings page's full-text search, `from`/`to` local days in each
    campaign's time zone, `updated_since` what changed since your last poll."""
    first, last = local_day(query.date_from, "from"), local_day(query.date_to, "to")
    if first and last and last < first:
        raise ApplicationError("invalid_range", _("`to` is before `from`."), status=400, field="to")
    user = request_user(request)
    if (
        query.campaign is not None
        and not campaign_list_for_user(user=user).filter(pk=query.campaign).exists()
    ):
        # As /recordings does (its form's refusal): an empty page would read as "no conversations".
        message = str(forms.ChoiceField.default_error_messages["invalid_choice"]) % {"value": query.campaign}
        raise ApplicationError(
            "not_allowed", f"campaign: {message}", status=400, fields={"campaign": [message]}
        )
    filters = ConversationFilters(
        recording=RecordingFilters(
            date_from=first,
            date_to=last,
            campaign_id=query.campaign,
            agent_id=query.agent,
            state=query.state or "",
            text=search_text(query.q),
        ),
        contact_id=query.contact,
        updated_since=query.updated_since,
        oldest_first=query.order == "oldest",
    )
    body = page_of(
        conversation_list(user=user, filters=filters),
        request=request,
        number=query.page,
        size=query.page_size,
    )
    body["items"] = [conversation_shape(c) for c in body["items"]]
    return body


@router.get(
    "/conversations/{conversation_id}",
    response={200: ConversationDetailOut, **READ_REFUSALS},
    openapi_extra=example(DETAIL_EXAMPLE),
)
def conversations_get(request: HttpRequest, conversation_id: ObjectId) -> ConversationDetailOut:
    """State, campaign, contact, agent, timestamps, disposition; the messaging window now (how a reply
    may be sent and until when) and the transfer to another campaign in progress, if any."""
    conversation = _conversation(request, conversation_id)
    return conversation_detail_shape(
        conversation, transfer=transfer_pending(conversation=conversation), now=clock.now()
    )


@router.get(
    "/conversations/{conversation_id}/messages",
    # 400: both cursors, or a cursor that is not a message of this conversation.
    response={200: MessagePageOut, **READ_REFUSALS, **refusals(400)},
    openapi_extra=example(
        {
            "items": [INBOUND_EXAMPLE, MESSAGE_EXAMPLE],
            "before": 9169,
            "after": 9170,
            "has_before": True,
            "has_after": False,
        }
    ),
)
def conversations_messages(
    request: HttpRequest, conversation_id: ObjectId, query: Query[MessagesQuery]
) -> dict[str, object]:
    """The thread a page at a time, oldest first within the page. Without a cursor: the newest
    `limit` messages. `?before=<id>` pages back through older ones (pass the answer's `before` until it
    is null); `?after=<id>` gets newer ones (pass the answer's `after` to poll for new messages).
    Cursors are message ids of this conversation; another id, or both cursors at once, is a 400."""
    page = message_page(
        conversation=_conversation(request, conversation_id),
        before=query.before,
        after=query.after,
        limit=query.limit,
    )
    items = page.items
    return {
        "items": [message_shape(m) for m in items],
        "before": items[0].pk if items and page.has_before else None,
        "after": items[-1].pk if items else query.after,
        "has_before": page.has_before,
        "has_after": page.has_after,
    }


TRANSCRIPT_CSV = (
    "time,time_utc,sender_type,sender,text,attachments,status\r\n"
    "2026-03-02T11:00:30+01:00,2026-03-02T10:00:30Z,customer,Carla Mendes,Here is the receipt,"
    "receipt.jpg,received\r\n"
)


@router.get(
    "/conversations/{conversation_id}/transcript",
    response={200: TranscriptOut, **READ_REFUSALS},
    openapi_extra={
        "responses": {
            200: {
                "content": {
                    "application/json": {
                        "example": {
                            "conversation": CONVERSATION_EXAMPLE,
                            "wait_seconds": 21.0,
                            "handle_seconds": 549.0,
                            "messages": [INBOUND_EXAMPLE, MESSAGE_EXAMPLE],
                            "timeline": [
                                {
                                    "kind": "assigned",
                                    "at": "2026-03-02T10:00:21Z",
                                    "actor": "",
                                    "agent": "Alice",
                                    "from_agent": "",
                                    "to_agent": "",
                                    "note": "",
                                    "disposition": "",
                                    "reason": "",
                                }
                            ],
                        }
                    },
                    "text/csv": {"schema": {"type": "string"}, "example": TRANSCRIPT_CSV},
                }
            }
        }
    },
)
def conversations_transcript(
    request: HttpRequest, conversation_id: ObjectId
) -> HttpResponse | dict[str, object]:
    """The whole conversation as the transcript page shows it: messages and the timeline of what
    happened (queued, assigned, transferred, closed, …) with the wait and handle times. With
    `Accept: text/csv`, the transcript page's CSV download instead (streamed; times in the campaign's
    zone and in UTC)."""
    transcript = transcript_get(conversation=_conversation(request, conversation_id))
    if _wants_csv(request):
        return transcript_csv_response(request, transcript)
    return {
        "conversation": conversation_shape(transcript.conversation),
        "wait_seconds": transcript.wait_seconds,
        "handle_seconds": transcript.handle_seconds,
        "messages": [message_shape(m) for m in transcript.messages],
        "timeline": [vars(entry) for entry in transcript.timeline],
    }


def _wants_csv(request: HttpRequest) -> bool:
    """CSV only when the client prefers it to JSON (`Accept: text/csv`, or listing it before JSON)."""
    accepted = [
        part.split(";", 1)[0].strip().lower() for part in request.headers.get("Accept", "").split(",")
    ]
    if "text/csv" not in accepted:
        return False
    return "application/json" not in accepted or accepted.index("text/csv") < accepted.index(
        "application/json"
    )


@router.get(
    "/attachments/{attachment_id}",
    url_name="attachment_download",
    response={200: None, **READ_REFUSALS},
    openapi_extra={
        "responses": {
            # The body is described in words, not as an application/octet-stream schema: with one,
            # Swagger UI stopped drawing the whole API page.
            200: {"description": "The file pagedesk stored, in its own content type, as a download."}
        }
    },
)
def attachments_download(request: HttpRequest, attachment_id: ObjectId) -> HttpResponseBase:
    """pagedesk's copy of a message's attachment (the `url` of an attachment in a message), with the
    access rule of its conversation. 404 when no copy was stored (a location, a failed download)."""
    attachment = attachment_get_for_user(user=request_user(request), attachment_id=attachment_id)
    if not attachment.file:
        raise NotFound(
            "no_file",
            _("Attachment %(id)s has no stored copy (see its download_error).") % {"id": attachment_id},
        )
    return stored_file_response(
        request,
        attachment.file,
        name=attachment.filename or attachment.file.name.rsplit("/", 1)[-1],
        content_type=attachment.content_type
        or mimetypes.guess_type(attachment.filename or attachment.file.name)[0]
        or "application/octet-stream",
        inline=False,
    )
