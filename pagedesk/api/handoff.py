"""Bot first, then the queue: the bot (or a person) hands a conversation to the queue
(mounted at /api/v1/conversations; docs/bot-first.md)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from pagedesk.api.permissions import request_user
from pagedesk.api.schemas import ObjectId, refusals
from pagedesk.conversations.models import Conversation
from pagedesk.platform.shapes import CONVERSATION_RELATED, ConversationOut, conversation_shape
from pagedesk.routing.services import HandoffReason, conversation_handoff

router = Router()

_EXAMPLE_QUEUED = {
    "id": 812,
    "state": "queued",
    "version": 2,
    "campaign": {"id": 1, "name": "Acme Support"},
    "contact": {
        "id": 55,
        "display_name": "Carla Gómez",
        "psid": "6789012345678901",
        "page_id": "104729538012345",
    },
    "agent": None,
    "disposition": None,
    "closed_by": None,
    "created_at": "2026-12-07T10:00:00Z",
    "queued_at": "2026-12-07T10:02:30Z",
    "assigned_at": None,
    "first_response_at": None,
    "closed_at": None,
    "abandoned_at": None,
    "last_message_at": "2026-12-07T10:02:10Z",
    "last_customer_message_at": "2026-12-07T10:02:05Z",
}
_EXAMPLE_REFUSED = {
    "error": {
        "code": "not_with_bot",
        "message": "Conversation #812 is queued, no longer with the bot: only a conversation in state "
        "“bot” can be handed off. Read it again to see who has it.",
    }
}


@router.post(
    "/{conversation_id}/handoff",
    response={200: ConversationOut, **refusals(401, 403, 404, 409, 422)},
    tags=["conversations"],
    summary="Hand a conversation from the bot to the queue",
    openapi_extra={
        "responses": {
            200: {
                "description": "Handed off: queued (queued_at = now) and dispatched like an arrival; "
                "outside the campaign's hours it is closed as after_hours with the after-hours message.",
                "content": {"application/json": {"example": _EXAMPLE_QUEUED}},
            },
            409: {
                "description": "The conversation is no longer with the bot (already handed off, taken, closed).",
                "content": {"application/json": {"example": _EXAMPLE_REFUSED}},
            },
        }
    },
)
def conversation_handoff_api(request: HttpRequest, conversation_id: ObjectId) -> Any:
    """A conversation in state `bot` goes to its campaign's queue, queued at this moment; the
    conversation.queued event says reason "handoff". For the campaign's integrations (the bot's own
    token), its supervisors and administrators. Answers the conversation as it is after the hand-off
    (an agent may already have it). No body."""
    conversation = conversation_handoff(
        conversation=Conversation(pk=conversation_id), actor=request_user(request), reason=HandoffReason.API
    )
    return conversation_shape(
        Conversation.objects.select_related(*CONVERSATION_RELATED).get(pk=conversation.pk)
    )
