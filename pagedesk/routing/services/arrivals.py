"""Arrivals: where a newly opened conversation goes (blocked, after hours with the auto-reply, or
the queue with a dropout timer and a dispatch), and the after-hours close of a queue at schedule end.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction

from pagedesk.campaigns.models import BlockedContact, Campaign
from pagedesk.campaigns.selectors import campaign_is_open, campaign_next_schedule_change
from pagedesk.conversations.models import Conversation, ConversationState
from pagedesk.conversations.sending import message_send
from pagedesk.core import clock
from pagedesk.realtime.events import ConversationQueued
from pagedesk.realtime.publish import publish
from pagedesk.routing.models import AfterHoursNotice
from pagedesk.routing.services.audiences import (
    _audience_of,
    _publish_closed,
    _publish_queue_changed,
)
from pagedesk.routing.services.dispatch import _queue_grew
from pagedesk.routing.services.dropouts import _schedule_dropout
from pagedesk.routing.services.primitives import QUEUED, _bump, _event, _lock_conversation

logger = logging.getLogger(__name__)


# A campaign that never opens again still needs a period key for the once-per-period rule.
FAR_FUTURE = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


def _send_system_message(*, conversation: Conversation, text: str) -> None:
    """The after-hours auto-reply, through the sending path (pending message + enqueued Graph send).

    Imported at call time so loading routing never pulls in the Messenger send stack; tests that are
    not about sending replace this function.
    """

    message_send(conversation=conversation, author=None, text=text, sender_type="system")


def conversation_route_new(
    *, conversation: Conversation, dispatch: bool = True, message_tells_members: bool = False
) -> Conversation:
    """Hand a newly opened conversation (`queued`, or `bot` for a bot-first campaign) to routing.
    Called inside the ingest transaction.

    Blocked contact → `blocked`, nothing sent (before the bot too). With the bot → it stays with the
    bot, whatever the hour. Outside the schedule → the after-hours message (once
    per closed period per contact) and `after_hours`. Otherwise it stays queued: a dispatch runs
    after the ingest commits (a disabled campaign records it and routes nothing), and a dropout
    timer is set.

    dispatch=False: the caller calls `conversation_arrival_dispatch` itself, after registering what
    it publishes about the arrival. On-commit callbacks run in registration order, so those events
    (the customer's message.created) then leave before the dispatch transaction runs, not after it.

    message_tells_members=True: the caller publishes the opening message's message.created to the
    campaign's members in the same commit (marked `pending` when they list the conversation), so
    conversation.queued goes to the supervisors only: one frame per member per arrival, not two
    (docs/events.md).
    """
    if conversation.state not in (QUEUED, ConversationState.BOT):
        return conversation
    campaign = conversation.campaign
    contact = conversation.contact
    now = clock.now()
    if BlockedContact.objects.filter(campaign=campaign, psid=contact.psid).exists():
        _bump(conversation, state=ConversationState.BLOCKED, closed_at=now)
        _event(conversation, "blocked")
        _publish_closed(campaign, conversation, agent_id=None)
        return conversation
    if conversation.state == ConversationState.BOT:
        # Opened with the campaign's bot (routing.inbound asked message_record for it): a bot answers
        # at any hour, so the schedule is not consulted until the hand-off, which meets the after-hours
        # rule as an arrival would (routing.services.handoff). Nobody but the supervisors hears of it:
        # it is not in any queue (the opening message's message.created tells them).
        return conversation
    if not campaign_is_open(campaign=campaign, at=now):
        _close_after_hours(conversation, campaign=campaign, now=now)
        return conversation
    publish(
        ConversationQueued(
            conversation_id=conversation.pk,
            campaign_id=campaign.pk,
            version=conversation.version,
            reason="new",
        ),
        to=_audience_of(campaign.pk, members=campaign.members_see_queue and not message_tells_members),
    )
    _schedule_dropout(conversation, campaign=campaign)
    if dispatch:
        conversation_arrival_dispatch(conversation=conversation)
    return conversation


def conversation_arrival_dispatch(*, conversation: Conversation) -> None:
    """The queue-length event and the after-commit dispatch for a conversation that
    `conversation_route_new(dispatch=False)` left queued; nothing when it closed it."""
    if conversation.state == QUEUED:
        _queue_grew(conversation.campaign)


def _close_after_hours(conversation: Conversation, *, campaign: Campaign, now: dt.datetime) -> None:
    period_end = campaign_next_schedule_change(campaign=campaign, at=now) or FAR_FUTURE
    send = False
    if campaign.after_hours_message.strip():
        try:
            # One savepoint for the once-per-period row and the send: a duplicate row (already sent
            # this period, perhaps by a concurrent ingest) or a refusal from the sending path undoes
            # both without failing the ingest transaction, which would otherwise retry the webhook
            # for ever. Sent while the conversation is still open, so the sending path accepts it.
            with transaction.atomic():
                AfterHoursNotice.objects.create(
                    campaign=campaign, contact=conversation.contact, period_end=period_end, sent_at=now
                )
                _send_system_message(conversation=conversation, text=campaign.after_hours_message)
            send = True
        except IntegrityError:
            pass
        except Exception:
            logger.exception("after-hours message for conversation %s could not be queued", conversation.pk)
    _bump(conversation, state=ConversationState.AFTER_HOURS, closed_at=now)
    _event(conversation, "after_hours", message_sent=send, period_end=period_end.isoformat())
    _publish_closed(campaign, conversation, agent_id=None)


def queue_close_for_schedule_end(*, campaign: Campaign) -> int:
    """With "close the queue at schedule end": outside the schedule, every customer still queued gets
    the after-hours message (once per period) and their conversation closes as `after_hours`.

    Returns how many closed. One short transaction per conversation, like dispatch.
    """
    campaign = Campaign.objects.get(pk=campaign.pk)
    if not campaign.close_queue_at_schedule_end or campaign_is_open(campaign=campaign):
        return 0
    closed = 0
    for conversation_id in list(
        Conversation.objects.filter(campaign=campaign, state=QUEUED)
        .order_by("queue_order", "pk")
        .values_list("pk", flat=True)
    ):
        with transaction.atomic():
            conversation = _lock_conversation(conversation_id)
            if conversation.state != QUEUED or conversation.campaign_id != campaign.pk:
                continue
            _close_after_hours(conversation, campaign=conversation.campaign, now=clock.now())
            _publish_queue_changed(conversation.campaign)
            closed += 1
    return closed
