"""The inbox's small actions on a conversation (mounted at /api/v1/conversations): send a failed message
again, mark the conversation seen, show the customer that the agent is typing, take the Messenger thread
from another app and hand it back.

The same selectors and services as the inbox's views (inbox.views retry_view, seen_view, typing_view,
thread_take_view, thread_hand_back_view), so the same rules: these are an agent's actions; seen needs a
conversation the agent may open, the others one assigned to them (403 `not_your_conversation` when it
went to someone else, 404 when they may not see it at all).
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
from pagedesk.conversations.thread import thread_owner_label
from pagedesk.core.errors import PermissionDenied
from pagedesk.inbox import selectors as inbox_selectors
from pagedesk.inbox.services import conversation_open, conversation_typing
from pagedesk.messenger.thread_control import thread_control_hand_back, thread_control_take
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


class ThreadOut(Schema):
    owner_app_id: str = Field(description="The Messenger app that has the thread now; empty: pagedesk.")
    previous_owner_app_id: str = Field(description="The app that had it before; empty: pagedesk.")
    message: str = Field(description="What happened, as the inbox says it.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "owner_app_id": "",
                    "previous_owner_app_id": "263902037430900",
                    "message": "You have control: you can reply now. (Taken from the Facebook Page inbox.)",
                },
                {
                    "owner_app_id": "263902037430900",
                    "previous_owner_app_id": "",
                    "message": "Handed back to the Facebook Page inbox.",
                },
            ]
        }
    )


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


# 409: pagedesk already has the thread (take) or does not (hand back), the page is not connected, or
# Facebook refused the change (the message says what to do in Meta Business Suite).
@router.post("/{conversation_id}/thread/take", response={200: ThreadOut, **READ_REFUSALS, **refusals(409)})
def thread_take_action(request: HttpRequest, conversation_id: ObjectId) -> ThreadOut:
    """Take the customer's Messenger thread from the app that has it (the Page inbox, a bot), as the
    inbox's Take control: until then Facebook refuses pagedesk's replies (Conversation Routing)."""
    agent = _agent(request)
    conversation = inbox_selectors.conversation_get_for_agent(
        agent=agent, conversation_id=conversation_id, act=True
    )
    previous = thread_control_take(conversation=conversation, actor=agent)
    return ThreadOut(
        owner_app_id="",
        previous_owner_app_id=previous,
        message=_("You have control: you can reply now. (Taken from %(owner)s.)")
        % {"owner": thread_owner_label(previous)},
    )


@router.post(
    "/{conversation_id}/thread/hand-back", response={200: ThreadOut, **READ_REFUSALS, **refusals(409)}
)
def thread_hand_back_action(request: HttpRequest, conversation_id: ObjectId) -> ThreadOut:
    """Pass the thread back to the app it came from (default: the Page inbox), as the inbox's Hand back."""
    agent = _agent(request)
    conversation = inbox_selectors.conversation_get_for_agent(
        agent=agent, conversation_id=conversation_id, act=True
    )
    target = thread_control_hand_back(conversation=conversation, actor=agent)
    return ThreadOut(
        owner_app_id=target,
        previous_owner_app_id="",
        message=_("Handed back to %(owner)s.") % {"owner": thread_owner_label(target)},
    )
