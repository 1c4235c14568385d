"""Integrations for bot-first tests: the model and its user, as the Integrations admin page makes them."""

from __future__ import annotations

from collections.abc import Iterable

from pagedesk.accounts.models import User
from pagedesk.accounts.services import api_token_create, user_create
from pagedesk.campaigns.models import Campaign, Integration
from pagedesk.campaigns.services import campaign_update
from pagedesk.conversations.models import Conversation, Message
from pagedesk.conversations.sending import message_send


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
