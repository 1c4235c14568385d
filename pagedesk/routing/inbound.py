"""A customer's message arriving: conversations records it, routing decides what a new conversation
becomes, then whoever sees it hears of the message. pagedesk.messenger's handlers call this."""

from __future__ import annotations

import dataclasses
from typing import Any

from pagedesk.campaigns.selectors import campaign_bot, handoff_keyword_matches
from pagedesk.conversations.models import ConversationState
from pagedesk.conversations.services import Received, message_created_publish, message_record
from pagedesk.routing.services import conversation_arrival_dispatch, conversation_route_new
from pagedesk.routing.services.handoff import HandoffReason, bot_timer_arm, conversation_handoff


def message_receive(**fields: Any) -> Received:
    """A customer message (or postback), with conversations.services.message_record's arguments.

    A new conversation is routed (queued, blocked or after hours; with the bot when the campaign has
    one); routing publishes conversation.queued itself, to the supervisors only: the members hear of
    the arrival through this message's message.created (one frame each, not two; docs/events.md).
    In a conversation with the bot, the message arms the bot timer, or hands the conversation to the
    queue at once when it is one of the campaign's hand-off keywords. Caller holds the contact lock.
    """
    # Asked before recording, as message_record opens the conversation; no query without a bot.
    with_bot = campaign_bot(campaign=fields["campaign"]) is not None
    received = message_record(**fields, opens_with_bot=with_bot)
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
    if conversation.state == ConversationState.BOT:
        campaign = conversation.campaign
        if handoff_keyword_matches(campaign=campaign, text=received.message.text):
            conversation = conversation_handoff(
                conversation=conversation, actor=None, reason=HandoffReason.KEYWORD
            )
        else:
            bot_timer_arm(conversation=conversation, message=received.message, campaign=campaign)
    elif received.opened:
        conversation_arrival_dispatch(conversation=conversation)
    return dataclasses.replace(received, conversation=conversation)
