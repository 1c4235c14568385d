"""Routing's answers to the domain events of the layers below it (accounts/signals.py,
campaigns/signals.py). Connected in RoutingConfig.ready."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from pagedesk.accounts.models import Presence, User
from pagedesk.campaigns.models import Campaign
from pagedesk.routing.services import (
    ReturnReason,
    agent_conversations_requeue,
    campaign_redispatch,
    presence_set,
)


def on_agent_deactivated(sender: Any, *, agent: User, **kwargs: Any) -> None:
    """A deactivated agent answers nobody: Offline, and her conversations back to the queue (routing
    words the timeline entry "deactivated" for an inactive agent)."""
    if agent.presence != Presence.OFFLINE:
        # presence_set's hook returns her conversations after commit.
        presence_set(agent=agent, presence=Presence.OFFLINE, note=_("Deactivated"))
        return
    agent_id = agent.pk
    transaction.on_commit(
        lambda: agent_conversations_requeue(agent_id=agent_id, reason=ReturnReason.DEACTIVATED),
        robust=True,
    )


def on_campaign_changed(sender: Any, *, campaign: Campaign, **kwargs: Any) -> None:
    """Members, capacity, enabled, strategy or schedule may have changed: re-route the campaign's queue
    in routing's own short transactions, after the change commits."""
    campaign_id = campaign.pk
    transaction.on_commit(lambda: campaign_redispatch(campaign=Campaign(pk=campaign_id)), robust=True)
