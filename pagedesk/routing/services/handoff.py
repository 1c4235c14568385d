"""Bot first, then the queue (issue 15 §3): a conversation of a bot-first campaign opens in state `bot`
(arrivals), and leaves it for the queue on the bot's hand-off (API), the bot's silence for the
campaign's bot timeout (a timer armed by the customer's message), or a hand-off keyword typed by the
customer (inbound). Queued time = hand-off time; outside the schedule the hand-off meets the
after-hours rule as an arrival would (docs/architecture.md §4).
"""

from __future__ import annotations

import datetime as dt
import enum

from django.db import transaction
from django.db.models import Max, Q
from django.utils.translation import gettext as _

from pagedesk.accounts.models import User
from pagedesk.campaigns.models import Campaign, Integration
from pagedesk.campaigns.selectors import campaign_bot, campaign_is_open
from pagedesk.conversations.models import Conversation, ConversationState, Message, SenderType
from pagedesk.core import clock
from pagedesk.core.errors import ApplicationError, NotFound, PermissionDenied
from pagedesk.realtime.events import ConversationQueued
from pagedesk.routing.services.arrivals import _close_after_hours
from pagedesk.routing.services.audiences import _publish
from pagedesk.routing.services.dispatch import _queue_grew
from pagedesk.routing.services.dropouts import _schedule_dropout
from pagedesk.routing.services.primitives import _bump, _event, _lock_conversation, _timer_run_after

BOT = ConversationState.BOT


class HandoffReason(enum.StrEnum):
    API = "api"  # POST /api/v1/conversations/{id}/handoff (the bot, an admin or a supervisor)
    TIMEOUT = "timeout"  # the bot did not answer the customer within the campaign's bot timeout
    KEYWORD = "keyword"  # the customer typed one of the campaign's hand-off keywords
    # The campaign's bot was revoked, taken off the campaign or unset while it had the conversation.
    BOT_GONE = "bot_gone"


def _check_handoff_actor(conversation: Conversation, actor: User) -> None:
    """Admins, the campaign's supervisors and the campaign's integrations (not revoked) may hand off."""
    if actor.is_admin:
        return
    if actor.is_supervisor and conversation.campaign.supervisors.filter(pk=actor.pk).exists():
        return
    if (
        actor.is_integration
        and actor.is_active
        and Integration.objects.filter(
            user=actor, revoked_at__isnull=True, campaigns=conversation.campaign_id
        ).exists()
    ):
        return
    if actor.is_integration:
        # As for every other read or action: an integration learns nothing of another campaign's ids.
        raise NotFound("not_found", _("There is no conversation with id %(id)s.") % {"id": conversation.pk})
    raise PermissionDenied(
        "forbidden",
        _(
            "Only the campaign's integrations, its supervisors and administrators can hand a conversation "
            "to the queue."
        ),
    )


def conversation_handoff(
    *, conversation: Conversation, actor: User | None, reason: HandoffReason | str
) -> Conversation:
    """Hand a conversation from the bot to the queue: `bot` → `queued` with queued_at = queue_order =
    now, a "handed_off" timeline entry (reason, actor), conversation.queued (reason "handoff") and a
    dispatch after commit, like an arrival. Outside the schedule it is closed `after_hours` with the
    campaign's after-hours message instead (once per closed period), as an arrival would be.

    actor=None: the system (the timeout, a keyword). 409 when it is no longer with the bot (already
    handed off, closed, …): handing off twice is a refusal, never a second queue entry.
    Locks the conversation (routing's order: conversation, then agents in the dispatch after commit).
    """
    reason = HandoffReason(reason)
    with transaction.atomic():
        conversation = _lock_conversation(conversation.pk)
        if actor is not None:
            _check_handoff_actor(conversation, actor)
        if conversation.state != BOT:
            raise ApplicationError(
                "not_with_bot",
                _(
                    "Conversation #%(id)s is %(state)s, no longer with the bot: only a conversation in "
                    "state “bot” can be handed off. Read it again to see who has it."
                )
                % {"id": conversation.pk, "state": conversation.get_state_display().lower()},
                status=409,
            )
        campaign = conversation.campaign
        now = clock.now()
        _bump(conversation, state=ConversationState.QUEUED, queued_at=now, queue_order=now)
        _event(conversation, "handed_off", actor=actor, reason=str(reason))
        if not campaign_is_open(campaign=campaign, at=now):
            _close_after_hours(conversation, campaign=campaign, now=now)
            return conversation
        _publish(
            campaign,
            ConversationQueued(
                conversation_id=conversation.pk,
                campaign_id=campaign.pk,
                version=conversation.version,
                reason="handoff",
            ),
        )
        _schedule_dropout(conversation, campaign=campaign)
        _queue_grew(campaign)
    return conversation


# --- the bot's silence -------------------------------------------------------------------------------


def bot_timer_arm(*, conversation: Conversation, message: Message, campaign: Campaign) -> bool:
    """A customer wrote in a bot conversation: make sure a timer watches for the bot's answer.

    One timer per unanswered stretch, not one per message: when an earlier customer message is still
    unanswered by the bot, its timer is already running and re-arms itself to the newest message's
    due time (`bot_timeout_check`). Returns whether it armed one. One query plus the task row.
    """
    before = Message.objects.filter(conversation=conversation, pk__lt=message.pk).aggregate(
        customer=Max("pk", filter=Q(sender_type=SenderType.CUSTOMER)),
        bot=Max("pk", filter=Q(sender_type=SenderType.INTEGRATION)),
    )
    if before["customer"] is not None and (before["bot"] is None or before["bot"] < before["customer"]):
        return False
    _enqueue_bot_timer(
        conversation_id=conversation.pk,
        message_id=message.pk,
        run_after=clock.now() + dt.timedelta(seconds=campaign.bot_timeout_seconds),
    )
    return True


def _enqueue_bot_timer(*, conversation_id: int, message_id: int, run_after: dt.datetime) -> None:
    from pagedesk.routing.tasks import bot_timeout  # lazy (task): routing.tasks imports these services

    bot_timeout.using(run_after=run_after).enqueue(conversation_id=conversation_id, message_id=message_id)


def _bot_timeout_due(conversation: Conversation) -> dt.datetime:
    base = conversation.last_customer_message_at or conversation.created_at
    return base + dt.timedelta(seconds=conversation.campaign.bot_timeout_seconds)


def bot_timeout_check(*, conversation_id: int, message_id: int) -> bool:
    """The bot timer's body. `message_id` is the customer message that armed it.

    Stops when the conversation left the bot, or when the bot answered after that message (a later
    customer message armed its own timer); re-arms while the customer's newest message is younger than
    the bot timeout; otherwise hands off (reason timeout). True if it handed off. Cheap and idempotent:
    a timer that fires twice or late does nothing harmful.
    """
    conversation = (
        Conversation.objects.select_related("campaign").filter(pk=conversation_id, state=BOT).first()
    )
    if conversation is None:
        return False
    if Message.objects.filter(
        conversation_id=conversation_id, pk__gt=message_id, sender_type=SenderType.INTEGRATION
    ).exists():
        return False
    due = _bot_timeout_due(conversation)
    if due > clock.now():
        _enqueue_bot_timer(
            conversation_id=conversation_id, message_id=message_id, run_after=_timer_run_after(due)
        )
        return False
    try:
        conversation_handoff(conversation=conversation, actor=None, reason=HandoffReason.TIMEOUT)
    except (ApplicationError, NotFound):
        # Handed off, closed or gone since the read above: nothing left to do.
        return False
    return True


def bot_conversations_orphaned() -> list[int]:
    """Bot conversations whose campaign has no working bot any more (revoked, no longer given the
    campaign, or unset): nobody answers them, so the minute reconciliation hands them to the queue
    instead of leaving them for the bot timeout (up to a day)."""
    orphaned = []
    campaigns: dict[int, bool] = {}
    for conversation in Conversation.objects.filter(state=BOT).select_related("campaign").order_by("pk"):
        if conversation.campaign_id not in campaigns:
            campaigns[conversation.campaign_id] = campaign_bot(campaign=conversation.campaign) is not None
        if not campaigns[conversation.campaign_id]:
            orphaned.append(conversation.pk)
    return orphaned


def bot_timeouts_overdue() -> list[int]:
    """Bot conversations whose customer has waited longer than the bot timeout with no bot answer
    since: what a lost timer would have handed off (the minute reconciliation)."""
    now = clock.now()
    overdue = []
    for conversation in Conversation.objects.filter(state=BOT).select_related("campaign"):
        if _bot_timeout_due(conversation) > now:
            continue
        last_customer = (
            Message.objects.filter(conversation=conversation, sender_type=SenderType.CUSTOMER)
            .order_by("-pk")
            .values_list("pk", flat=True)
            .first()
        )
        if last_customer is None:
            continue
        answered = Message.objects.filter(
            conversation=conversation, pk__gt=last_customer, sender_type=SenderType.INTEGRATION
        ).exists()
        if not answered:
            overdue.append(conversation.pk)
    return overdue
