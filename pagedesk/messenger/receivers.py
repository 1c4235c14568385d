"""Messenger's answers to the domain events below it (campaigns/signals.py, conversations/signals.py):
the channel is where a campaign's page lives and how its outbound messages reach Facebook. Connected
in MessengerConfig.ready."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pagedesk.campaigns.models import Campaign
from pagedesk.conversations.models import Conversation, Message
from pagedesk.messenger.models import PageConnection
from pagedesk.messenger.send import messages_delivery_queue, sender_action_send


def on_campaign_created(sender: Any, *, campaign: Campaign, **kwargs: Any) -> None:
    """Every campaign has its page connection row from the start: "not connected" until activation."""
    PageConnection.objects.create(campaign=campaign, page_name=campaign.page_name)


def on_outbound_queued(sender: Any, *, messages: Sequence[Message], **kwargs: Any) -> None:
    messages_delivery_queue(messages=messages)


def on_sender_action_requested(
    sender: Any, *, conversation: Conversation, action: str, **kwargs: Any
) -> None:
    sender_action_send(conversation=conversation, action=action)
