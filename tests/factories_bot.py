"""Integrations for bot-first tests: the model and its user, as the Integrations admin page makes them."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from django.db import transaction

from pagedesk.accounts.models import User
from pagedesk.accounts.services import api_token_create, user_create
from pagedesk.campaigns.models import Campaign, Integration
from pagedesk.campaigns.services import campaign_update
from pagedesk.conversations.models import Conversation, Message
from pagedesk.conversations.sending import message_send
from pagedesk.conversations.services import contact_lock
from pagedesk.messenger.models import PageConnection
from pagedesk.routing.inbound import message_receive


def make_integration(name: str, *, campaigns: Iterable[Campaign] = ()) -> Integration:
    user = user_create(username=f"integration-{name}", role="integration", password=None, display_name=name)
    integration = Integration.objects.create(user=user, name=name)
    integration.campaigns.set(list(campaigns))
    return integration


def make_bot(campaign: Campaign, name: str = "Helpbot", **fields: object) -> Integration:
    """An integration given `campaign` and set as its bot (bot first)."""
    bot = make_integration(name, campaigns=[campaign])
    campaign_update(campaign=campaign, fields={"bot_integration": bot, **fields})
    campaign.refresh_from_db()
    return bot


def integration_token(integration: Integration) -> str:
    _token, raw = api_token_create(user=integration.user, name="bot")
    return raw


def bot_says(conversation: Conversation, bot: Integration | User, text: str) -> Message:
    """The bot answering through the API (its message authored by the integration's user)."""
    user = bot.user if isinstance(bot, Integration) else bot
    return message_send(conversation=conversation, author=user, text=text, sender_type="integration")


_mids = itertools.count(1)


def customer_writes(campaign: Campaign, text: str = "hi", *, psid: str = "5551") -> Conversation:
    """A customer message through the inbound path, as the Messenger processing task hands it over."""
    page_id = f"page-{campaign.pk}"
    PageConnection.objects.update_or_create(campaign=campaign, defaults={"page_id": page_id})
    with transaction.atomic():
        contact = contact_lock(page_id=page_id, psid=psid)
        received = message_receive(
            contact=contact,
            campaign=campaign,
            page_id=page_id,
            mid=f"m_bot_{next(_mids)}",
            kind="text",
            text=text,
        )
    assert received.conversation is not None
    conversation = received.conversation
    conversation.refresh_from_db()
    return conversation
