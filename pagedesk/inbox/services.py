"""Inbox writes: what the agent has read, and the sender actions the customer sees while the agent works."""

from __future__ import annotations

from django.db.models import Max

from pagedesk.accounts.models import User
from pagedesk.conversations.models import Conversation, ConversationState, Direction
from pagedesk.conversations.sending import sender_action_request
from pagedesk.core import clock
from pagedesk.inbox.models import ReadState


def conversation_mark_read(*, conversation: Conversation, agent: User, up_to_id: int | None = None) -> int:
    """Record that the agent has seen the conversation up to `up_to_id` (default: its newest message);
    never moves backwards. Returns the id now recorded."""
    return _read_advance(conversation=conversation, agent=agent, up_to_id=up_to_id)[1]


def _read_advance(*, conversation: Conversation, agent: User, up_to_id: int | None) -> tuple[int, int]:
    """(the id recorded before, the id recorded now); equal when this call moved nothing, also when a
    concurrent call moved it first (the conditional UPDATE lets exactly one of them through)."""
    newest = up_to_id
    if newest is None:
        newest = conversation.messages.aggregate(m=Max("id"))["m"] or 0
    state, _created = ReadState.objects.get_or_create(agent=agent, conversation=conversation)
    before = state.last_read_message_id
    if newest <= before:
        return before, before
    moved = ReadState.objects.filter(pk=state.pk, last_read_message_id__lt=newest).update(
        last_read_message_id=newest, updated_at=clock.now()
    )
    return (before if moved else newest), newest


def conversation_open(*, conversation: Conversation, agent: User) -> bool:
    """The agent opened (or looked again at) their conversation: mark it read here and send mark_seen to
    the customer (best effort, only inside the 24 h window). True when mark_seen was queued.

    mark_seen goes once per batch of customer messages read: the inbox reports "seen" on opening, on
    the tab coming back into view and after every new message of the open conversation (the agent's own
    reply too), and each report sent it again, twice back to back after a reply.
    """
    before, now = _read_advance(conversation=conversation, agent=agent, up_to_id=None)
    if conversation.state != ConversationState.ASSIGNED or conversation.agent_id != agent.pk:
        return False
    if not conversation.messages.filter(direction=Direction.IN, id__gt=before, id__lte=now).exists():
        return False
    return sender_action_request(conversation=conversation, action="mark_seen")


def conversation_typing(*, conversation: Conversation, agent: User, on: bool = True) -> bool:
    """The agent is typing: typing_on for the customer (the page throttles calls to one per few seconds;
    Facebook clears it after 20 s or with the next message). on=False clears it at once (typing_off),
    for an API client that stopped without sending."""
    if conversation.state != ConversationState.ASSIGNED or conversation.agent_id != agent.pk:
        return False
    return sender_action_request(conversation=conversation, action="typing_on" if on else "typing_off")
