"""A customer's message arriving: conversations records it, routing decides what a new conversation
becomes, then whoever sees it hears of the message. pagedesk.messenger's handlers call this."""

from __future__ import annotations

import dataclasses
from typing import Any

from pagedesk.conversations.services import Received, message_created_publish, message_record
from pagedesk.routing.services import conversation_arrival_dispatch, conversation_route_new


def message_receive(**fields: Any) -> Received:
    """A customer message (or postback), with conversations.services.message_record's arguments.

    A new conversation is routed (queued, blocked or after hours); routing publishes
    conversation.queued itself, to the supervisors only: the members hear of the arrival through this
    message's message.created (one frame each, not two; docs/events.md). Caller holds the contact lock.
    """
    received = message_record(**fields)
    if received.duplicate or received.message is None or received.conversation is None:
        return received
    conversation = received.conversation
    if received.opened:
        conversation = conversation_route_new(
            conversation=conversation, dispatch=False, message_tells_members=True
        )
    # After routing, so the audience matches the state it left the conversation in; before the
    # dispatch is registered, so the customer's message leaves at commit instead of waiting for the
    # dispatch transaction (on-commit callbacks run in the order they were registered).
    message_created_publish(received.message, conversation)
    if received.opened:
        conversation_arrival_dispatch(conversation=conversation)
    return dataclasses.replace(received, conversation=conversation)
