"""Inbox writes: what the agent has read, and the sender actions the customer sees while the agent works."""

from __future__ import annotations

from django.db.models import Max

from pagedesk.accounts.models import User
from pagedesk.conversations.models import Conversation, ConversationState
from pagedesk.core import clock
from pagedesk.inbox.models import ReadState
from pagedesk.messenger.send import sender_action_send


def conversation_mark_read(*, conversation: Conversation, agent: User, up_to_id: int | None = None) -> int:
    """Record that the agent has seen the conversation up to `up_to_id` (default: its newest message);
    never moves backwards. Returns the id now recorded."""
    newest = up_to_id
    if newest is None:
        newest = conversation.messages.aggregate(m=Max("id"))["m"] or 0
    state, _created = ReadState.objects.get_or_create(agent=agent, conversation=conversation)
    if newest > state.last_read_message_id:
        ReadState.objects.filter(pk=state.pk, last_read_message_id__lt=newest).update(
            last_read_message_id=newest, updated_at=clock.now()
        )
        return newest
    return state.last_read_message_id


def conversation_open(*, conversation: Conversation, agent: User) -> bool:
    """The agent opened (or looked again at) their conversation: mark it read here and send mark_seen to
    the customer (best effort, only inside the 24 h window). True when mark_seen was queued."""
    conversation_mark_read(conversation=conversation, agent=agent)
    if conversation.state != ConversationState.ASSIGNED or conversation.agent_id != agent.pk:
        return False
    return sender_action_send(conversation=conversation, action="mark_seen")


def conversation_typing(*, conversation: Conversation, agent: User) -> bool:
    """The agent is typing: typing_on for the customer (the page throttles calls to one per few seconds;
    Facebook clears it after 20 s or with the next message)."""
    if conversation.state != ConversationState.ASSIGNED or conversation.agent_id != agent.pk:
        return False
    return sender_action_send(conversation=conversation, action="typing_on")
