"""Reconciliation: at start-up and every minute, catch up on whatever a crash or a lost timer left
behind, through the same services the timers and triggers use.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from pagedesk.accounts.models import Presence, User
from pagedesk.campaigns.models import Campaign, Strategy
from pagedesk.conversations.models import Conversation
from pagedesk.core import clock
from pagedesk.core.errors import ApplicationError
from pagedesk.routing.models import Transfer, TransferState
from pagedesk.routing.services.arrivals import queue_close_for_schedule_end
from pagedesk.routing.services.closing import agent_wrap_up_end
from pagedesk.routing.services.dispatch import queue_dispatch
from pagedesk.routing.services.dropouts import _dropout_due, conversation_dropout_check
from pagedesk.routing.services.handoff import (
    HandoffReason,
    bot_conversations_orphaned,
    bot_timeouts_overdue,
    conversation_handoff,
)
from pagedesk.routing.services.primitives import ASSIGNED, QUEUED
from pagedesk.routing.services.requeue import ReturnReason, agent_conversations_requeue
from pagedesk.routing.services.transfers import transfer_timeout_expire


def routing_reconcile() -> dict[str, int]:
    """Catch up on anything a crash or a lost timer left behind; runs at start-up and every minute.

    Each step is idempotent and uses the same services as the timers, so running it twice, or in two
    processes at once, is harmless.
    """
    now = clock.now()
    counts = {
        "wrap_ups_ended": 0,
        "abandoned": 0,
        "transfers_returned": 0,
        "closed_at_schedule_end": 0,
        "returned_from_offline": 0,
        "handed_off": 0,
        "assigned": 0,
    }
    for agent_id in list(
        User.objects.filter(presence=Presence.WRAP_UP)
        .exclude(wrap_up_until__gt=now)
        .values_list("pk", flat=True)
    ):
        counts["wrap_ups_ended"] += int(agent_wrap_up_end(agent_id=agent_id))
    waiting = Conversation.objects.filter(
        state=QUEUED, assigned_at__isnull=True, campaign__dropout_threshold_seconds__gt=0
    ).select_related("campaign")
    for conversation in list(waiting):
        due = _dropout_due(conversation, conversation.campaign)
        if due is not None and due <= now:
            counts["abandoned"] += int(conversation_dropout_check(conversation_id=conversation.pk))
    # A bot timer lost with its worker, or a bot gone (revoked, taken off the campaign) while it had
    # customers: they still reach the queue within a minute.
    for conversation_id, reason in [
        *((pk, HandoffReason.BOT_GONE) for pk in bot_conversations_orphaned()),
        *((pk, HandoffReason.TIMEOUT) for pk in bot_timeouts_overdue()),
    ]:
        try:
            conversation_handoff(conversation=Conversation(pk=conversation_id), actor=None, reason=reason)
        except ApplicationError:
            continue  # handed off already (the orphan that was also overdue, a racing timer)
        counts["handed_off"] += 1
    for transfer in list(Transfer.objects.filter(state=TransferState.PENDING).select_related("to_campaign")):
        timeout = transfer.to_campaign.transfer_timeout_seconds
        if (
            transfer.to_campaign.strategy == Strategy.RINGALL
            and timeout
            and transfer.created_at + dt.timedelta(seconds=timeout) <= now
        ):
            counts["transfers_returned"] += int(transfer_timeout_expire(transfer_id=transfer.pk))
    for campaign in list(Campaign.objects.filter(close_queue_at_schedule_end=True)):
        counts["closed_at_schedule_end"] += queue_close_for_schedule_end(campaign=campaign)
    # An Offline follow-up that never ran (a crash right after the presence commit) strands nobody.
    for agent_id in list(
        Conversation.objects.filter(state=ASSIGNED)
        .filter(Q(agent__presence=Presence.OFFLINE) | Q(agent__is_active=False))
        .order_by("agent_id")
        .values_list("agent_id", flat=True)
        .distinct()
    ):
        counts["returned_from_offline"] += len(
            agent_conversations_requeue(agent_id=agent_id, reason=ReturnReason.OFFLINE)
        )
    for campaign_id in list(
        Campaign.objects.filter(enabled=True, conversations__state=QUEUED)
        .exclude(strategy=Strategy.RINGALL)
        .distinct()
        .order_by("pk")
        .values_list("pk", flat=True)
    ):
        counts["assigned"] += len(queue_dispatch(campaign=Campaign(pk=campaign_id)))
    return counts
