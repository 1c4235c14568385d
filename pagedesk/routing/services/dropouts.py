"""Dropouts: a queued conversation no agent ever had is abandoned when the customer has been silent
for the campaign's dropout threshold; a timer per conversation checks it (docs/architecture.md §5).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from pagedesk.campaigns.models import Campaign
from pagedesk.conversations.models import Conversation, ConversationState
from pagedesk.core import clock
from pagedesk.core.errors import NotFound
from pagedesk.realtime.events import ConversationAbandoned
from pagedesk.routing.services.audiences import _publish, _publish_closed, _publish_queue_changed
from pagedesk.routing.services.primitives import QUEUED, _bump, _event, _lock_conversation, _timer_run_after


def _dropout_due(conversation: Conversation, campaign: Campaign) -> dt.datetime | None:
    """When a never-answered queued conversation drops out; None when it never does.

    Only conversations no agent ever had can be abandoned (docs/architecture.md §5); one returned to the
    queue or transferred waits however long it takes.
    """
    if campaign.dropout_threshold_seconds <= 0 or conversation.assigned_at is not None:
        return None
    # The later of the two: a conversation handed off by a bot entered the queue after the customer's
    # last message, and must not drop out before having waited the threshold in the queue.
    stamps = [t for t in (conversation.last_customer_message_at, conversation.queued_at) if t is not None]
    base = max(stamps) if stamps else conversation.created_at
    return base + dt.timedelta(seconds=campaign.dropout_threshold_seconds)


def _schedule_dropout(conversation: Conversation, *, campaign: Campaign) -> None:
    due = _dropout_due(conversation, campaign)
    if due is not None:
        from pagedesk.routing.tasks import dropout_check  # lazy (task): routing.tasks imports these services

        dropout_check.using(run_after=due).enqueue(conversation_id=conversation.pk)


def conversation_dropout_check(*, conversation_id: int) -> bool:
    """The dropout timer's body: abandon when due, re-arm when the customer wrote again; True if abandoned."""
    from pagedesk.routing.tasks import dropout_check  # lazy (task): routing.tasks imports these services

    with transaction.atomic():
        try:
            conversation = _lock_conversation(conversation_id)
        except NotFound:
            return False
        campaign = conversation.campaign
        if conversation.state != QUEUED:
            return False
        due = _dropout_due(conversation, campaign)
        if due is None:
            return False
        now = clock.now()
        if due > now:
            dropout_check.using(run_after=_timer_run_after(due)).enqueue(conversation_id=conversation_id)
            return False
        _bump(conversation, state=ConversationState.ABANDONED, abandoned_at=now)
        _event(conversation, "abandoned", threshold_seconds=campaign.dropout_threshold_seconds)
        _publish(
            campaign,
            ConversationAbandoned(
                conversation_id=conversation.pk, campaign_id=campaign.pk, version=conversation.version
            ),
        )
        _publish_closed(campaign, conversation, agent_id=None)
        _publish_queue_changed(campaign)
    return True
