"""The write side of the conversation API: send messages, and take, close, transfer and return a
conversation (issue 15 §1). Mounted at /api/v1/conversations beside the reads (conversations.py).

Each endpoint goes through the service the inbox uses, with the inbox's rules for who may act:
- an agent acts on a conversation assigned to them, and takes one pending in their campaigns
  (inbox.selectors, the same 403 "not assigned to you" and 404 "no such conversation");
- a supervisor of the campaign, or an administrator, may return it to the queue (the board's action);
  writing to the customer, closing and transferring are the assigned agent's, as in the pages;
- an integration writes in any open conversation of its campaigns (queued, assigned or with its bot)
  and closes them; take, transfer and return are an agent's actions, refused with a 403 that says so.
  Another campaign's conversation is a 404 to it (routing.selectors.conversation_get_for_user).
"""

# No `from __future__ import annotations`: ninja reads the annotations of these views at import.
import hashlib
from typing import Any

import pydantic
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Status
from ninja.errors import ValidationError

from pagedesk.accounts.models import User
from pagedesk.api.conversations import router as conversation_reads
from pagedesk.api.idempotency import HEADER, idempotency_key_clean, idempotent_run, request_fingerprint
from pagedesk.api.models import IDEMPOTENCY_KEY_MAX
from pagedesk.api.parser import BodyRefused, TextParser
from pagedesk.api.permissions import request_user
from pagedesk.api.schemas import InputSchema, ObjectId, refusals
from pagedesk.campaigns.models import Campaign, Disposition
from pagedesk.conversations.models import OPEN_STATES, Conversation, ConversationState, Message, SenderType
from pagedesk.conversations.sending import ATTACHMENT_MAX_BYTES, REPLY_TEXT_MAX, TEXT_LIMIT, messages_send
from pagedesk.core.errors import ApplicationError, NotFound, PermissionDenied
from pagedesk.inbox import selectors as inbox_selectors
from pagedesk.inbox.forms import MAX_FILES, ReplyForm
from pagedesk.platform.shapes import (
    CONVERSATION_RELATED,
    MESSAGE_PREFETCH,
    MESSAGE_RELATED,
    ConversationOut,
    MessageOut,
    conversation_shape,
    json_data,
    message_shape,
)
from pagedesk.routing.selectors import conversation_get_for_user
from pagedesk.routing.services import (
    conversation_close,
    conversation_return_to_queue,
    conversation_take,
    conversation_transfer_to_agent,
    conversation_transfer_to_campaign,
)

router = Router(tags=["conversations"])

ACTION_REFUSALS = refusals(400, 401, 403, 404, 409, 422)


class MessageIn(InputSchema):
    text: str = Field(
        "",
        description=(
            f"Up to {REPLY_TEXT_MAX:,} characters; longer than {TEXT_LIMIT:,} it is sent as several "
            "messages, split at word boundaries. Stored and shown as plain text."
        ),
        examples=["Thanks for waiting! Your order left the warehouse today."],
    )


class CloseIn(InputSchema):
    disposition_id: ObjectId | None = Field(
        None,
        description="Required when the campaign has dispositions (a leaf one: no sub-dispositions).",
        examples=[12],
    )

    json_examples = [{"disposition_id": 12}, {}]


class TransferIn(InputSchema):
    agent_id: ObjectId | None = Field(
        None, description="An active member of the conversation's campaign.", examples=[7]
    )
    campaign_id: ObjectId | None = Field(
        None, description="Another campaign: the conversation joins its queue."
    )
    note: str = Field("", max_length=1000, description="Shown to whoever receives it.", examples=["VIP"])

    json_examples = [
        {"agent_id": 7, "note": "VIP"},
        {"campaign_id": 2, "note": "Asks about an invoice"},
    ]


# --- who acts on what ------------------------------------------------------------------------------


def _agents_action(user: User, what: str) -> PermissionDenied:
    if user.is_integration:
        return PermissionDenied(
            "agent_action",
            _("%(what)s is an agent's action; an integration sends messages and closes conversations.")
            % {"what": what},
        )
    return PermissionDenied(
        "agent_action",
        _("%(what)s is for the agent the conversation is assigned to; your role reads conversations.")
        % {"what": what},
    )


def _open_for_integration(user: User, conversation_id: int) -> Conversation:
    conversation = conversation_get_for_user(user=user, conversation_id=conversation_id)
    if conversation.state not in OPEN_STATES:
        raise ApplicationError(
            "conversation_closed",
            _("This conversation is %(state)s; write when the customer opens a new one.")
            % {"state": conversation.get_state_display().lower()},
            status=409,
        )
    return conversation


def _answer(conversation_id: int) -> ConversationOut:
    return conversation_shape(
        Conversation.objects.select_related(*CONVERSATION_RELATED).get(pk=conversation_id)
    )


# --- messages --------------------------------------------------------------------------------------


MESSAGES_OPENAPI: dict[str, Any] = {
    "parameters": [
        {
            "in": "header",
            "name": HEADER,
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX},
            "description": (
                "Makes a retry safe: the same request sent again with the same key (by the same "
                "caller, within 24 hours) sends nothing more and gets the first answer again, with "
                "the header `Idempotent-Replayed: true`. The same key with a different request is a 409."
            ),
            "example": "5b0b7c1e-3c1a-4d0e-9a57-2f8e4c1b9d10",
        }
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "text": {"type": "string", "maxLength": REPLY_TEXT_MAX, "pattern": r"^[^\x00]*$"}
                    },
                    "required": ["text"],
                },
                "example": {"text": "Thanks for waiting! Your order left the warehouse today."},
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    # Other parts are refused (422), not dropped: a file sent as `file` is a mistake.
                    "additionalProperties": False,
                    "properties": {
                        "text": {"type": "string", "maxLength": REPLY_TEXT_MAX, "pattern": r"^[^\x00]*$"},
                        "files": {
                            "type": "array",
                            "maxItems": MAX_FILES,
                            "items": {"type": "string", "format": "binary"},
                            "description": (
                                f"Up to {MAX_FILES} files of at most {ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB: "
                                "images, video, audio, PDF, text and office documents."
                            ),
                        },
                    },
                },
                # A file part is binary, which JSON cannot show: the example gives the text part only.
                "example": {"text": "Here is the invoice you asked for."},
            },
        },
    },
}


def _message_input(request: HttpRequest) -> tuple[str, list[UploadedFile]]:
    """text and files from a JSON body or a multipart form, checked by MessageIn (no NUL, a string)."""
    files: list[UploadedFile] = []
    if request.content_type == "multipart/form-data":
        unknown = sorted((set(request.POST) | set(request.FILES)) - {"text", "files"})
        if unknown:
            # A part under another name (`file`, `attachment`) would otherwise be dropped silently,
            # and the message sent without it.
            raise ApplicationError(
                "invalid",
                _("Unknown form parts: %(names)s. Send the text as `text` and each file as a `files` part.")
                % {"names": ", ".join(unknown)},
                status=422,
                field=unknown[0],
            )
        data: dict[str, Any] = {"text": request.POST.get("text", "")}
        files = request.FILES.getlist("files")
    elif not request.body:
        data = {}
    else:
        try:
            data = TextParser().parse_body(request)
        except BodyRefused as exc:
            raise ApplicationError("invalid", str(exc), fields=exc.fields, status=422) from None
        # ValueError: not JSON, or not UTF-8. RecursionError: nested deeper than the decoder goes (ninja
        # turns both into a 400 for the other endpoints, which its parser runs for).
        except (ValueError, RecursionError):
            raise ApplicationError(
                "bad_request", _("The request body is not valid JSON."), status=400
            ) from None
    try:
        payload = MessageIn.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ValidationError([dict(error) for error in exc.errors()]) from None
    return payload.text, files


def _file_digest(upload: UploadedFile) -> tuple[str, int, str]:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return (upload.name or "", upload.size or 0, digest.hexdigest())


def _send(user: User, conversation_id: int, text: str, files: list[UploadedFile]) -> tuple[int, Any]:
    if user.is_integration:
        conversation = _open_for_integration(user, conversation_id)
        sender_type = SenderType.INTEGRATION
    elif user.is_agent:
        conversation = inbox_selectors.conversation_get_for_agent(
            agent=user, conversation_id=conversation_id, act=True
        )
        sender_type = SenderType.AGENT
    else:
        raise _agents_action(user, _("Writing to the customer"))
    # The composer's form: the same limits (length, file count, size and type) and messages.
    form = ReplyForm({"text": text}, files_list=files)
    if not form.is_valid():
        message = " ".join(str(m) for errors in form.errors.values() for m in errors)
        raise ApplicationError("invalid_reply", message, status=422)
    created = messages_send(
        conversation=conversation,
        author=user,
        text=form.cleaned_data["text"],
        files=form.uploads,
        sender_type=sender_type,
    )
    messages = (
        Message.objects.filter(pk__in=[m.pk for m in created])
        .select_related(*MESSAGE_RELATED)
        .prefetch_related(*MESSAGE_PREFETCH)
        .order_by("pk")
    )
    return 201, [json_data(message_shape(m)) for m in messages]


# On the reads' router, not this one: GET and POST of one path must be one route. Two routers give
# Django two URL patterns for it, and the first (the reads') answered every POST with a 405.
@conversation_reads.post(
    "/conversations/{conversation_id}/messages",
    response={201: list[MessageOut], **ACTION_REFUSALS},
    openapi_extra=MESSAGES_OPENAPI,
)
def messages_create(request: HttpRequest, conversation_id: ObjectId) -> JsonResponse:
    """Send text, or text and files, to the customer, as the composer does: the messages are recorded
    as `pending` and delivered in order by the worker (watch their `status`). Refused with the
    composer's message when the messaging window is closed (409 `outside_window`).

    Send JSON `{"text": "…"}`, or a multipart form with `text` and up to 10 `files`. An agent writes
    in a conversation assigned to them; an integration in any open conversation of its campaigns
    (its messages have `sender_type` "integration" and it as `author`).

    Answers 201 with the messages created: one per 2,000 characters of text, then one per file."""
    user = request_user(request)
    key = idempotency_key_clean(request.headers.get(HEADER))
    text, files = _message_input(request)
    fingerprint = request_fingerprint(
        "messages_create", conversation_id, text, [_file_digest(upload) for upload in files]
    )
    answer = idempotent_run(
        user=user, key=key, fingerprint=fingerprint, work=lambda: _send(user, conversation_id, text, files)
    )
    response = JsonResponse(answer.body, status=answer.status, safe=False)
    if answer.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


# --- actions ---------------------------------------------------------------------------------------


@router.post("/{conversation_id}/take", response={200: ConversationOut, **refusals(401, 403, 404, 409, 422)})
def conversation_take_action(request: HttpRequest, conversation_id: ObjectId) -> ConversationOut:
    """Take a queued conversation of one of your campaigns (agents), as the inbox's Take: 409 when
    someone else took it first or you are at your maximum of conversations."""
    user = request_user(request)
    if not user.is_agent:
        raise _agents_action(user, _("Taking a conversation"))
    conversation_take(
        conversation=inbox_selectors.conversation_get_for_take(agent=user, conversation_id=conversation_id),
        agent=user,
    )
    return _answer(conversation_id)


@router.post("/{conversation_id}/close", response={200: ConversationOut, **ACTION_REFUSALS})
def conversation_close_action(
    request: HttpRequest, conversation_id: ObjectId, payload: CloseIn
) -> ConversationOut:
    """Close a conversation assigned to you (agents) or one of your campaigns' (integrations; also
    one with the bot). `disposition_id` is required when the campaign has dispositions; the agent
    then enters wrap-up, as after closing in the inbox."""
    user = request_user(request)
    if user.is_integration:
        conversation = _open_for_integration(user, conversation_id)
        if conversation.state == ConversationState.QUEUED:
            raise ApplicationError(
                "queued",
                _(
                    "Conversation #%(id)s waits in the queue for an agent; an integration closes a "
                    "conversation that is assigned or with its bot."
                )
                % {"id": conversation_id},
                status=409,
            )
    elif user.is_agent:
        conversation = inbox_selectors.conversation_get_for_agent(
            agent=user, conversation_id=conversation_id, act=True
        )
    else:
        raise _agents_action(user, _("Closing a conversation"))
    disposition = None
    if payload.disposition_id is not None:
        disposition = Disposition.objects.filter(
            pk=payload.disposition_id, campaign_id=conversation.campaign_id
        ).first()
        if disposition is None:
            raise ApplicationError(
                "invalid_disposition", _("Choose one of the campaign's dispositions."), field="disposition_id"
            )
    try:
        conversation_close(conversation=conversation, agent=user, disposition=disposition)
    except ApplicationError as exc:
        if exc.field != "disposition":
            raise
        # The service names the inbox form's field; here the body's is `disposition_id`.
        raise ApplicationError(exc.code, exc.message, status=exc.status, field="disposition_id") from None
    return _answer(conversation_id)


@router.post("/{conversation_id}/transfer", response={200: ConversationOut, **ACTION_REFUSALS})
def conversation_transfer_action(
    request: HttpRequest, conversation_id: ObjectId, payload: TransferIn
) -> ConversationOut:
    """Transfer a conversation assigned to you to a member of its campaign (`agent_id`) or to
    another campaign's queue (`campaign_id`), with an optional note; exactly one target (agents:
    both or neither is a 400 `invalid_transfer`)."""
    user = request_user(request)
    if not user.is_agent:
        raise _agents_action(user, _("Transferring a conversation"))
    if (payload.agent_id is None) == (payload.campaign_id is None):
        # A rule of the body as a whole (each field alone is valid): 400, as the API's other such rules.
        raise ApplicationError(
            "invalid_transfer",
            _("Give exactly one of agent_id (an agent) or campaign_id (a campaign's queue)."),
            field="agent_id",
        )
    conversation = inbox_selectors.conversation_get_for_agent(
        agent=user, conversation_id=conversation_id, act=True
    )
    if payload.agent_id is not None:
        # As in the inbox's dialog: anyone but the campaign's active members is "no such agent".
        target = User.objects.filter(
            pk=payload.agent_id, is_active=True, memberships__campaign_id=conversation.campaign_id
        ).first()
        if target is None:
            raise NotFound("not_found", _("There is no such agent in this campaign."))
        conversation_transfer_to_agent(conversation=conversation, to_agent=target, by=user, note=payload.note)
    else:
        assert payload.campaign_id is not None  # TransferIn: exactly one target
        campaign = Campaign.objects.filter(pk=payload.campaign_id).first()
        if campaign is None:
            raise NotFound("not_found", _("There is no such campaign."))
        conversation_transfer_to_campaign(
            conversation=conversation, campaign=campaign, by=user, note=payload.note
        )
    return _answer(conversation_id)


@router.post(
    "/{conversation_id}/return", response={200: ConversationOut, **refusals(401, 403, 404, 409, 422)}
)
def conversation_return_action(request: HttpRequest, conversation_id: ObjectId) -> Status[ConversationOut]:
    """Put an assigned conversation back at the front of its queue: the agent it is assigned to (the
    inbox), or a supervisor of its campaign or an administrator (the board)."""
    user = request_user(request)
    if user.is_agent:
        conversation = inbox_selectors.conversation_get_for_agent(
            agent=user, conversation_id=conversation_id, act=True
        )
    elif user.is_admin or user.is_supervisor:
        conversation = conversation_get_for_user(user=user, conversation_id=conversation_id)
    else:
        raise _agents_action(user, _("Returning a conversation to the queue"))
    conversation_return_to_queue(conversation=conversation, by=user)
    return Status(200, _answer(conversation_id))
