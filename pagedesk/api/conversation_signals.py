"""The inbox's small actions on a conversation (mounted at /api/v1/conversations): send a failed message
again, mark the conversation seen, show the customer that the agent is typing.

The same selectors and services as the inbox's views (inbox.views retry_view, seen_view, typing_view),
so the same rules: these are an agent's actions; seen needs a conversation the agent may open, retry
and typing one assigned to them (403 `not_your_conversation` when it went to someone else, 404 when
they may not see it at all).
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import ConfigDict, Field

from pagedesk.accounts.models import User
from pagedesk.api.permissions import request_user
from pagedesk.api.schemas import READ_REFUSALS, WRITE_REFUSALS, InputSchema, ObjectId, refusals
from pagedesk.conversations.sending import message_retry
from pagedesk.core.errors import PermissionDenied
from pagedesk.inbox import selectors as inbox_selectors
from pagedesk.inbox.services import conversation_open, conversation_typing
from pagedesk.platform.shapes import MessageOut, message_shape

router = Router(tags=["conversations"])


class SenderActionOut(Schema):
    sent: bool = Field(
        description="True when Messenger was asked to show it to the customer. False when there was "
        "nothing to show: outside the 24 h window, nothing new read, or the conversation is not "
        "assigned to you. Best effort: Facebook never confirms it."
    )

    model_config = ConfigDict(json_schema_extra={"examples": [{"sent": True}, {"sent": False}]})


class TypingIn(InputSchema):
    on: bool = Field(
        True,
        description="true shows the typing dots (Facebook hides them after 20 s or with the "
        "next message); false hides them now.",
    )

    json_examples = [{"on": True}, {"on": False}]


def _agent(request: HttpRequest) -> User:
    user = request_user(request)
    if not (user.is_active and user.is_agent):
        raise PermissionDenied(
            "agent_action", _("Only agents act on conversations from the inbox; log in as an agent.")
        )
    return user


# `state` and `not_failed`: 409 as in the inbox (a closed conversation, a message not failed, the
# window closed).
@router.post(
    "/{conversation_id}/messages/{message_id}/retry",
    response={200: MessageOut, **READ_REFUSALS, **refusals(409)},
)
def message_retry_action(request: HttpRequest, conversation_id: ObjectId, message_id: ObjectId) -> MessageOut:
    """Send a failed message again (the inbox's Retry): it goes back to `pending` and the worker
    delivers it. 409 when it has not failed, the conversation is closed or the 24 h window is over."""
    agent = _agent(request)
    conversation = inbox_selectors.conversation_get_for_agent(
        agent=agent, conversation_id=conversation_id, act=True
    )
    message = message_retry(
        message=inbox_selectors.message_get_in(conversation=conversation, message_id=message_id), by=agent
    )
    return message_shape(message)


@router.post("/{conversation_id}/seen", response={200: SenderActionOut, **READ_REFUSALS})
def conversation_seen_action(request: HttpRequest, conversation_id: ObjectId) -> SenderActionOut:
    """Mark the conversation read up to its newest message (its unread count goes to zero) and, when
    you are its agent and new customer messages were read, show the customer "seen".

    Unlike the inbox page, which sends this hint on its own and ignores one for a conversation that
    just left the agent, an unknown or out-of-reach conversation is a 404 here."""
    agent = _agent(request)
    conversation = inbox_selectors.conversation_get_for_agent(agent=agent, conversation_id=conversation_id)
    return SenderActionOut(sent=conversation_open(conversation=conversation, agent=agent))


@router.post("/{conversation_id}/typing", response={200: SenderActionOut, **WRITE_REFUSALS})
def conversation_typing_action(
    request: HttpRequest, conversation_id: ObjectId, payload: TypingIn
) -> SenderActionOut:
    """Show (or hide) the typing dots to the customer of a conversation assigned to you. Call it
    again every ~15 s while typing; sending the reply hides them."""
    agent = _agent(request)
    conversation = inbox_selectors.conversation_get_for_agent(
        agent=agent, conversation_id=conversation_id, act=True
    )
    return SenderActionOut(sent=conversation_typing(conversation=conversation, agent=agent, on=payload.on))
