"""Assigning to a named agent outside dispatch: ringall's Take, and the assignment step that Take,
transfers and transfer returns share (the caller holds the conversation's and the agent's locks and
has checked the agent's capacity under them).

Lock order: see the package docstring (pagedesk/routing/services/__init__.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext as _

from pagedesk.accounts.models import Presence, User
from pagedesk.campaigns.models import Campaign, Membership, Strategy
from pagedesk.conversations.models import Conversation
from pagedesk.core import clock
from pagedesk.core.db import lock_objects
from pagedesk.core.errors import ApplicationError, PermissionDenied
from pagedesk.realtime.events import ConversationAssigned, Event
from pagedesk.routing.models import Assignment, Transfer, TransferState
from pagedesk.routing.services.audiences import _publish, _publish_queue_changed
from pagedesk.routing.services.primitives import (
    ASSIGNED,
    QUEUED,
    _bump,
    _event,
    _load_counts,
    _lock_conversation,
)


def _assign(
    conversation: Conversation,
    *,
    campaign: Campaign,
    agent: User,
    how: str,
    actor: User | None = None,
    extra_events: Iterable[Event] = (),
    queue_event: bool = True,
    agent_locked_at: dt.datetime | None = None,
) -> None:
    """Give the conversation to `agent`. Caller holds the conversation's and the agent's row locks
    and has checked capacity under them. `queue_event=False`: the caller publishes QueueChanged
    once for a whole dispatch pass; `agent_locked_at`: the caller already wrote last_assigned_at."""
    now = agent_locked_at or clock.now()
    _bump(
        conversation,
        state=ASSIGNED,
        agent=agent,
        assigned_at=conversation.assigned_at or now,
        campaign=campaign,
    )
    if agent_locked_at is None:
        User.objects.filter(pk=agent.pk).update(last_assigned_at=now)
    agent.last_assigned_at = now
    if campaign.strategy == Strategy.RRMEMORY and campaign.rr_last_agent_id != agent.pk:
        Campaign.objects.filter(pk=campaign.pk).update(rr_last_agent=agent)
        campaign.rr_last_agent_id = agent.pk
    Assignment.objects.create(conversation=conversation, campaign=campaign, agent=agent, how=how, at=now)
    if conversation.transferred_by_id is not None:  # only a transferred conversation has a pending Transfer
        Transfer.objects.filter(conversation=conversation, state=TransferState.PENDING).update(
            state=TransferState.ACCEPTED, resolved_at=now
        )
    _event(conversation, "assigned", actor=actor, agent_id=agent.pk, how=how)
    for event in extra_events:
        _publish(campaign, event, agent.pk)
    _publish(
        campaign,
        ConversationAssigned(
            conversation_id=conversation.pk,
            campaign_id=campaign.pk,
            agent_id=agent.pk,
            version=conversation.version,
            how=how,
        ),
        agent.pk,
    )
    if queue_event:
        _publish_queue_changed(campaign)


def conversation_take(*, conversation: Conversation, agent: User) -> Conversation:
    """An agent clicks Take on a ringall queue item. Exactly one click wins; the others get 409."""
    with transaction.atomic():
        locked = _lock_conversation(conversation.pk)
        campaign = locked.campaign
        if locked.state != QUEUED:
            raise ApplicationError(
                "already_taken", _("Another agent already took this conversation."), status=409
            )
        if not campaign.enabled:
            raise ApplicationError("campaign_disabled", _("This campaign is disabled."), status=409)
        if campaign.strategy != Strategy.RINGALL:
            raise ApplicationError(
                "not_ringall",
                _("Conversations in “%(name)s” are routed automatically; they cannot be taken.")
                % {"name": campaign.name},
                status=409,
            )
        if not Membership.objects.filter(campaign=campaign, agent_id=agent.pk).exists():
            raise PermissionDenied(
                "not_a_member", _("You are not a member of “%(name)s”.") % {"name": campaign.name}
            )
        (locked_agent,) = lock_objects(User.objects.filter(pk=agent.pk))
        _require_capacity(locked_agent, campaign=campaign, you=True)
        _assign(locked, campaign=campaign, agent=locked_agent, how="taken", actor=locked_agent)
    return locked


def _require_capacity(agent: User, *, campaign: Campaign, you: bool) -> None:
    """Available with a free slot; caller holds the agent's row lock."""
    if agent.presence != Presence.AVAILABLE:
        who = _("You are") if you else _("%(name)s is") % {"name": agent.name}
        raise ApplicationError(
            "agent_not_available",
            _("%(who)s %(presence)s; only an Available agent can receive conversations.")
            % {"who": who, "presence": agent.get_presence_display()},
            status=409,
        )
    load = _load_counts([agent.pk]).get(agent.pk, 0)
    if load >= campaign.max_interactions_per_agent:
        who = _("You already have") if you else _("%(name)s already has") % {"name": agent.name}
        raise ApplicationError(
            "agent_at_capacity",
            _("%(who)s %(load)d open conversations, the maximum for “%(campaign)s”.")
            % {"who": who, "load": load, "campaign": campaign.name},
            status=409,
        )
