"""Returning assigned conversations to the front of their campaign's queue: one by hand (an agent
or supervisor), or all of an agent's when she answers nobody (Offline, deactivated).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Min

from pagedesk.accounts.models import Presence, User
from pagedesk.campaigns.models import Campaign
from pagedesk.conversations.models import Conversation
from pagedesk.core import clock
from pagedesk.core.db import lock_objects
from pagedesk.realtime.events import ConversationQueued
from pagedesk.routing.services.audiences import _publish
from pagedesk.routing.services.dispatch import _queue_grew, agent_redispatch
from pagedesk.routing.services.primitives import (
    ASSIGNED,
    QUEUED,
    _after_commit,
    _bump,
    _check_actor,
    _event,
    _lock_conversation,
    _require_state,
)

RETURN_TO_QUEUE_STEP = dt.timedelta(microseconds=1)


def conversation_return_to_queue(*, conversation: Conversation, by: User) -> Conversation:
    """Put an assigned conversation back at the front of its campaign's queue."""
    with transaction.atomic():
        locked = _lock_conversation(conversation.pk)
        _require_state(locked, ASSIGNED)
        _check_actor(locked, by)
        owner_id = locked.agent_id
        _return_to_queue([locked], actor=by)
        if owner_id is not None:
            _after_commit(lambda: agent_redispatch(agent_id=owner_id))
    return locked


class ReturnReason:
    """Why an agent's conversations went back to the queue without her asking for each one; the
    "returned_to_queue" timeline entry carries it (recordings' _event.html words it)."""

    WENT_OFFLINE = "went_offline"  # she chose Offline
    SET_OFFLINE = "set_offline"  # a supervisor or admin set her Offline
    DISCONNECTED = "disconnected"  # her last socket closed and the grace ran out
    DEACTIVATED = "deactivated"  # an administrator deactivated her account
    OFFLINE = "offline"  # found Offline still holding them (reconciliation)


def agent_conversations_requeue(*, agent_id: int, reason: str, actor_id: int | None = None) -> list[int]:
    """Return every open conversation of an agent who answers nobody (Offline or deactivated) to the
    head of its campaign's queue; returns their ids. They go in front of whoever already waits, in
    their original order (queued_at), keep queued_at and assigned_at (the KPIs' wait and first
    assignment), and are dispatched after commit, so another eligible agent gets them at once.

    One short transaction: the conversations locked in pk order, then the agent's row (routing's
    lock order: conversation before agent). An agent who is Available or on a Break again by then
    keeps them. Her pending transfers are left alone: transfer_timeout_expire sends one that times
    out to its source queue instead of back to an Offline sender.
    """
    with transaction.atomic():
        held = lock_objects(
            Conversation.objects.filter(agent_id=agent_id, state=ASSIGNED).select_related("campaign")
        )
        if not held:
            return []
        agent = lock_objects(User.objects.filter(pk=agent_id))[0]
        if agent.is_active and agent.presence != Presence.OFFLINE:
            return []
        if not agent.is_active:
            reason = ReturnReason.DEACTIVATED
        actor = User.objects.filter(pk=actor_id).first() if actor_id is not None else None
        _return_to_queue(held, actor=actor, reason=reason)
    return [c.pk for c in held]


def _return_to_queue(conversations: list[Conversation], *, actor: User | None, **why: str) -> None:
    """The locked, assigned conversations go to the front of their campaigns' queues, in front of
    whoever already waits and in their original order; each campaign's growth is announced once,
    when all of its conversations are back (one by hand, or all of an agent's at once)."""
    # Each goes in front of the current head: the latest first, so the earliest ends up first.
    for conversation in sorted(
        conversations, key=lambda c: (c.queued_at or c.created_at, c.pk), reverse=True
    ):
        owner_id = conversation.agent_id
        _requeue_front(conversation, campaign=conversation.campaign, reason="returned", owner_id=owner_id)
        _event(conversation, "returned_to_queue", actor=actor, from_agent_id=owner_id, **why)
    for campaign in sorted({c.campaign_id: c.campaign for c in conversations}.values(), key=lambda c: c.pk):
        _queue_grew(campaign)


def _requeue_front(
    conversation: Conversation, *, campaign: Campaign, reason: str, owner_id: int | None = None
) -> None:
    """The locked conversation goes to the front of `campaign`'s queue, and the campaign's audience
    (with `owner_id`, the agent it leaves) hears it queued for `reason`. The caller announces the
    queue's growth (_queue_grew)."""
    earliest = Conversation.objects.filter(campaign=campaign, state=QUEUED).aggregate(m=Min("queue_order"))[
        "m"
    ]
    now = clock.now()
    front = min(earliest - RETURN_TO_QUEUE_STEP, now) if earliest else now
    _bump(conversation, state=QUEUED, agent=None, queue_order=front, campaign=campaign)
    _publish(
        campaign,
        ConversationQueued(
            conversation_id=conversation.pk,
            campaign_id=campaign.pk,
            version=conversation.version,
            reason=reason,
        ),
        owner_id,
    )
