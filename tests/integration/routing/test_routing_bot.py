"""Bot first, then the queue (issue 15 §3): a bot-first campaign's conversation opens with the bot, out
of the queue and its KPIs; the bot's hand-off, its silence or a customer's keyword queues it, with
queued time = hand-off time, and it is dispatched like an arrival."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from pagedesk.campaigns.selectors import campaign_bot, handoff_keyword_matches
from pagedesk.campaigns.services import campaign_set_supervisors, integration_revoke
from pagedesk.conversations import services as conversation_services
from pagedesk.conversations.models import Conversation, ConversationEvent, ConversationState
from pagedesk.core import clock
from pagedesk.core.errors import ApplicationError
from pagedesk.messenger.models import PageConnection
from pagedesk.monitoring.selectors import board_snapshot, campaign_stats_today
from pagedesk.realtime import groups
from pagedesk.routing import inbound, services, tasks
from pagedesk.routing.selectors import alarms, queue_list_for_agent, queue_list_for_campaign
from pagedesk.routing.services import HandoffReason, conversation_handoff
from tests.conftest import make_user
from tests.factories_bot import bot_says, make_bot, make_integration

from .conftest import available, make_campaign

pytestmark = pytest.mark.django_db(transaction=True)

BOT = ConversationState.BOT
Q = ConversationState.QUEUED
A = ConversationState.ASSIGNED


def receive(campaign, text: str = "hi", *, psid: str = "5551", mid: str | None = None) -> Conversation:
    page_id = f"page-{campaign.pk}"
    PageConnection.objects.update_or_create(campaign=campaign, defaults={"page_id": page_id})
    receive.n += 1  # type: ignore[attr-defined]
    with transaction.atomic():
        contact = conversation_services.contact_lock(page_id=page_id, psid=psid)
        received = inbound.message_receive(
            contact=contact,
            campaign=campaign,
            page_id=page_id,
            mid=mid or f"m_{receive.n}",  # type: ignore[attr-defined]
            kind="text",
            text=text,
        )
    conversation = received.conversation
    assert conversation is not None
    conversation.refresh_from_db()
    return conversation


receive.n = 0  # type: ignore[attr-defined]


def bot_timers() -> list[DBTaskResult]:
    return list(
        DBTaskResult.objects.filter(task_path="pagedesk.routing.tasks.bot_timeout", status="READY").order_by(
            "enqueued_at"
        )
    )


def handoffs(conversation: Conversation) -> list[dict]:
    return [
        {"reason": e.data.get("reason"), "actor": e.actor_id}
        for e in ConversationEvent.objects.filter(conversation=conversation, kind="handed_off")
    ]


# --- opening and joining -----------------------------------------------------------------------------


def test_a_bot_first_campaign_opens_with_the_bot_out_of_the_queue(frozen_clock, alice, published):
    campaign = make_campaign("C", agents=[alice], strategy="linear")
    make_bot(campaign)
    available(alice)
    published.clear()
    conversation = receive(campaign, "hello")
    assert (conversation.state, conversation.agent_id) == (BOT, None)
    assert conversation.queued_at is None and conversation.queue_order is None
    assert list(
        ConversationEvent.objects.filter(conversation=conversation).values_list("kind", flat=True)
    ) == ["bot_started"]
    # Only the supervisors hear of it (and, through them, the webhook outbox): no agent, no queue.
    assert [(e.type, to) for e, to in published] == [("message.created", [groups.supervisors(campaign.pk)])]
    assert published[0][0].pending is False
    assert list(queue_list_for_campaign(campaign=campaign)) == []


def test_a_ringall_bot_conversation_is_not_offered_to_members(frozen_clock, alice):
    campaign = make_campaign("C", agents=[alice], strategy="ringall")
    make_bot(campaign)
    available(alice)
    receive(campaign)
    assert list(queue_list_for_agent(agent=alice)) == []


def test_a_customer_message_joins_the_open_bot_conversation_and_stays_with_the_bot(
    frozen_clock, alice, published
):
    campaign = make_campaign("C", agents=[alice], strategy="linear")
    bot = make_bot(campaign)
    available(alice)
    first = receive(campaign, "hello")
    bot_says(first, bot, "Hi! I am the bot.")
    published.clear()
    second = receive(campaign, "what are your hours?")
    assert second.pk == first.pk and second.state == BOT
    assert [(e.type, to) for e, to in published] == [("message.created", [groups.supervisors(campaign.pk)])]
    assert second.messages.count() == 3


def test_a_campaign_without_a_bot_or_with_a_revoked_one_queues(frozen_clock, alice):
    campaign = make_campaign("C", agents=[alice], strategy="linear")
    assert receive(campaign, psid="1").state == Q
    bot = make_bot(campaign)
    bot.revoked_at = clock.now()
    bot.save()
    assert campaign_bot(campaign=campaign) is None
    assert receive(campaign, psid="2").state == Q
    bot.revoked_at = None
    bot.save()
    assert receive(campaign, psid="3").state == BOT
    # Taken out of the integration's campaigns: no longer its bot.
    bot.campaigns.clear()
    assert receive(campaign, psid="4").state == Q


def test_a_blocked_contact_is_blocked_before_the_bot(frozen_clock, alice):
    from pagedesk.campaigns.services import blocked_contact_add

    campaign = make_campaign("C", agents=[alice], strategy="linear")
    make_bot(campaign)
    blocked_contact_add(campaign=campaign, psid="666")
    assert receive(campaign, psid="666").state == ConversationState.BLOCKED


def test_the_bot_answers_after_hours_and_the_hand_off_meets_the_after_hours_rule(frozen_clock, alice, sent):
    # Monday 2026-03-02 22:00 UTC: outside Mon–Fri 09:00–18:00.
    frozen_clock.set(dt.datetime(2026, 3, 2, 22, 0, tzinfo=dt.UTC))
    campaign = make_campaign(
        "C", agents=[alice], strategy="linear", open_all_week=False, after_hours_message="We open at 9."
    )
    make_bot(campaign)
    available(alice)
    conversation = receive(campaign, "hello")
    assert conversation.state == BOT
    assert sent == []
    conversation = conversation_handoff(conversation=conversation, actor=None, reason=HandoffReason.API)
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.AFTER_HOURS
    assert sent == [(conversation.pk, "We open at 9.")]
    assert handoffs(conversation) == [{"reason": "api", "actor": None}]


# --- hand-off ------------------------------------------------------------------------------------------


def test_hand_off_queues_at_hand_off_time_and_dispatches_to_an_available_agent(
    frozen_clock, alice, published
):
    campaign = make_campaign("C", agents=[alice], strategy="linear")
    bot = make_bot(campaign)
    available(alice)
    conversation = receive(campaign, "hello")
    frozen_clock.advance(seconds=40)
    published.clear()
    conversation_handoff(conversation=conversation, actor=bot.user, reason=HandoffReason.API)
    conversation.refresh_from_db()
    assert (conversation.state, conversation.agent_id) == (A, alice.pk)
    assert conversation.queued_at == conversation.queue_order == clock.now()
    assert conversation.created_at == clock.now() - dt.timedelta(seconds=40)
    assert handoffs(conversation) == [{"reason": "api", "actor": bot.user.pk}]
    queued = [(e, to) for e, to in published if e.type == "conversation.queued"]
    assert [(e.reason, to) for e, to in queued] == [("handoff", [groups.supervisors(campaign.pk)])]
    assert "conversation.assigned" in [e.type for e, _to in published]


def test_hand_off_to_a_ringall_queue_tells_the_members(frozen_clock, alice, published):
    campaign = make_campaign("C", agents=[alice], strategy="ringall")
    make_bot(campaign)
    conversation = receive(campaign)
    published.clear()
    conversation_handoff(conversation=conversation, actor=None, reason=HandoffReason.API)
    [(_event, to)] = [(e, to) for e, to in published if e.type == "conversation.queued"]
    assert sorted(to) == sorted([groups.supervisors(campaign.pk), groups.campaign_queue(campaign.pk)])
    assert [c.pk for c in queue_list_for_agent(agent=alice)] == [conversation.pk]


def test_handing_off_twice_is_a_409_with_a_clear_message(frozen_clock, alice):
    campaign = make_campaign("C", agents=[alice], strategy="linear")
    make_bot(campaign)
    conversation = receive(campaign)
    conversation_handoff(conversation=conversation, actor=None, reason=HandoffReason.API)
    with pytest.raises(ApplicationError) as refused:
        conversation_handoff(conversation=conversation, actor=None, reason=HandoffReason.API)
    assert refused.value.status == 409 and refused.value.code == "not_with_bot"
    assert "no longer with the bot" in refused.value.message
    assert len(handoffs(conversation)) == 1


def test_who_may_hand_off(frozen_clock, alice, sam, ada):
    campaign = make_campaign("C", agents=[alice], strategy="linear")
    bot = make_bot(campaign)
    other = make_integration("Elsewhere")
    other_supervisor = make_user("sue", "supervisor")
    conversation = receive(campaign)
    # People are refused; an integration of another campaign is told nothing exists (404).
    for refused, status in ((alice, 403), (other_supervisor, 403), (other.user, 404)):
        with pytest.raises(ApplicationError) as denied:
            conversation_handoff(conversation=conversation, actor=refused, reason=HandoffReason.API)
        assert denied.value.status == status
    campaign_set_supervisors(campaign=campaign, supervisor_ids=[sam.pk])
    for allowed in (bot.user, sam, ada):
        conversation = receive(campaign, psid=f"p-{allowed.pk}")
        conversation_handoff(conversation=conversation, actor=allowed, reason=HandoffReason.API)


# --- keywords ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("agent", True),
        ("  AGENT!! ", True),
        ("Agént", True),
        ("talk to a human", True),
        ("Talk to a  human.", True),
        ("human please", False),
        ("agents", False),
        ("", False),
    ],
)
def test_keyword_matching_is_whole_message_case_accent_and_punctuation_tolerant(text, matches):
    from pagedesk.campaigns.models import Campaign

    campaign = Campaign(handoff_keywords="agent, talk to a human,  ")
    assert handoff_keyword_matches(campaign=campaign, text=text) is matches


def test_a_keyword_hands_off_at_once(frozen_clock, alice, published):
    campaign = make_campaign("C", agents=[alice], strategy="linear", handoff_keywords="agent, human")
    make_bot(campaign)
    available(alice)
    conversation = receive(campaign, "hello")
    assert conversation.state == BOT
    conversation = receive(campaign, "Human!")
    assert (conversation.state, conversation.agent_id) == (A, alice.pk)
    assert handoffs(conversation) == [{"reason": "keyword", "actor": None}]


def test_a_keyword_as_first_message_goes_straight_to_the_queue(frozen_clock, alice):
    campaign = make_campaign("C", agents=[alice], strategy="linear", handoff_keywords="agent")
    make_bot(campaign)
    conversation = receive(campaign, "agent")
    assert conversation.state == Q
    assert list(
        ConversationEvent.objects.filter(conversation=conversation).values_list("kind", flat=True)
    ) == [
        "bot_started",
        "handed_off",
    ]


# --- the bot's silence ---------------------------------------------------------------------------------


def test_the_bot_silence_hands_off_after_the_timeout(frozen_clock, alice):
    campaign = make_campaign("C", agents=[alice], strategy="linear")
    make_bot(campaign, bot_timeout_seconds=60)
    available(alice)
    conversation = receive(campaign, "hello")
    [timer] = bot_timers()
    assert timer.run_after == clock.now() + dt.timedelta(seconds=60)
    message_id = timer.args_kwargs["kwargs"]["message_id"]
    frozen_clock.advance(seconds=59)
    assert tasks.bot_timeout.call(conversation_id=conversation.pk, message_id=message_id) is False
    frozen_clock.advance(seconds=1)
    assert tasks.bot_timeout.call(conversation_id=conversation.pk, message_id=message_id) is True
    conversation.refresh_from_db()
    assert (conversation.state, conversation.agent_id) == (A, alice.pk)
    assert conversation.queued_at == clock.now()
    assert handoffs(conversation) == [{"reason": "timeout", "actor": None}]
    # Fired again (late, twice): nothing.
    assert tasks.bot_timeout.call(conversation_id=conversation.pk, message_id=message_id) is False


def test_a_bot_that_answers_keeps_the_conversation(frozen_clock, alice):
    campaign = make_campaign("C", agents=[alice], strategy="linear")
    bot = make_bot(campaign, bot_timeout_seconds=60)
    conversation = receive(campaign, "hello")
    [timer] = bot_timers()
    frozen_clock.advance(seconds=10)
    bot_says(conversation, bot, "How can I help?")
    frozen_clock.advance(seconds=120)
    assert services.bot_timeout_check(**timer.args_kwargs["kwargs"]) is False
    conversation.refresh_from_db()
    assert conversation.state == BOT
    # The customer writes again: a new timer watches that message.
    receive(campaign, "I need a refund")
    assert len(bot_timers()) == 2
    frozen_clock.advance(seconds=61)
    assert services.bot_timeout_check(**bot_timers()[-1].args_kwargs["kwargs"]) is True


def test_many_customer_messages_arm_one_timer_that_follows_the_newest(frozen_clock, alice):
    campaign = make_campaign("C", agents=[alice], strategy="linear")
    make_bot(campaign, bot_timeout_seconds=60)
    conversation = receive(campaign, "hello")
    for n in range(5):
        frozen_clock.advance(seconds=10)
        receive(campaign, f"hello? {n}")
    [timer] = bot_timers()
    kwargs = timer.args_kwargs["kwargs"]
    # Due 60 s after the first message, but the newest is only 10 s old: re-armed, not handed off.
    frozen_clock.advance(seconds=10)
    timer.delete()
    assert services.bot_timeout_check(**kwargs) is False
    [rearmed] = bot_timers()
    assert rearmed.args_kwargs["kwargs"] == kwargs
    frozen_clock.advance(seconds=50)
    assert services.bot_timeout_check(**kwargs) is True
    conversation.refresh_from_db()
    assert conversation.state == Q


def test_reconciliation_hands_off_a_conversation_whose_timer_was_lost(frozen_clock, alice):
    campaign = make_campaign("C", agents=[alice], strategy="linear")
    bot = make_bot(campaign, bot_timeout_seconds=60)
    lost = receive(campaign, "hello", psid="1")
    answered = receive(campaign, "hello", psid="2")
    bot_says(answered, bot, "Hi")
    DBTaskResult.objects.all().delete()
    frozen_clock.advance(seconds=61)
    assert services.routing_reconcile()["handed_off"] == 1
    lost.refresh_from_db()
    answered.refresh_from_db()
    assert (lost.state, answered.state) == (Q, BOT)


def test_a_bot_revoked_while_it_has_customers_hands_them_to_the_queue_within_a_minute(frozen_clock, alice):
    """They stayed with a bot nobody answered for until the bot timeout (up to a day), and no page
    offered a hand-off (found by a first-time admin)."""
    campaign = make_campaign("C", agents=[alice], strategy="linear")
    bot = make_bot(campaign, bot_timeout_seconds=3600)
    waiting = receive(campaign, "hello", psid="1")
    assert services.routing_reconcile()["handed_off"] == 0
    integration_revoke(integration=bot)
    assert services.routing_reconcile()["handed_off"] == 1
    waiting.refresh_from_db()
    assert waiting.state == Q
    handed = ConversationEvent.objects.get(conversation=waiting, kind="handed_off")
    assert handed.data["reason"] == "bot_gone"


# --- KPIs, board, alarms -------------------------------------------------------------------------------


def test_bot_conversations_count_in_no_queue_kpi_and_the_board_shows_them_with_the_bot(frozen_clock, alice):
    campaign = make_campaign(
        "C",
        agents=[alice],
        strategy="linear",
        acd_threshold=1,
        sl_threshold_seconds=10,
        dropout_threshold_seconds=30,
    )
    make_bot(campaign, bot_timeout_seconds=600)
    for psid in ("1", "2"):
        receive(campaign, psid=psid)
    frozen_clock.advance(seconds=300)
    stats = campaign_stats_today(campaign=campaign, now=clock.now())
    assert (stats.inbound, stats.abandoned, stats.queued_now, stats.longest_wait_seconds) == (0, 0, 0, None)
    assert stats.with_bot_now == 2
    current = alarms(campaign=campaign)
    assert (current.queue_length, current.acd, current.sl_conversation_ids) == (0, False, [])
    board = board_snapshot(campaign=campaign, now=clock.now())
    assert board.queue == [] and board.kpis.queue_length == 0
    assert board.kpis.with_bot == 2 and board.per_campaign[campaign.pk].with_bot_now == 2
    # Nothing drops out while with the bot (the dropout counts in the queue).
    assert services.routing_reconcile()["abandoned"] == 0


def test_after_hand_off_the_wait_counts_from_the_hand_off(frozen_clock, alice):
    campaign = make_campaign("C", agents=[alice], strategy="linear", dropout_threshold_seconds=30)
    make_bot(campaign)
    conversation = receive(campaign)
    frozen_clock.advance(seconds=200)
    conversation_handoff(conversation=conversation, actor=None, reason=HandoffReason.API)
    stats = campaign_stats_today(campaign=campaign, now=clock.now())
    assert (stats.inbound, stats.queued_now, stats.longest_wait_seconds, stats.with_bot_now) == (1, 1, 0, 0)
    # The customer wrote 200 s ago, but the dropout threshold counts from the hand-off.
    frozen_clock.advance(seconds=29)
    assert services.routing_reconcile()["abandoned"] == 0
    frozen_clock.advance(seconds=2)
    assert services.routing_reconcile()["abandoned"] == 1


def test_agents_cannot_open_or_take_a_bot_conversation_until_it_is_handed_off(frozen_clock, alice):
    from pagedesk.inbox.selectors import conversation_scope_for_agent

    campaign = make_campaign("C", agents=[alice], strategy="ringall")
    make_bot(campaign)
    conversation = receive(campaign)
    assert not conversation_scope_for_agent(agent=alice).filter(pk=conversation.pk).exists()
    with pytest.raises(ApplicationError) as refused:
        services.conversation_take(conversation=conversation, agent=alice)
    assert refused.value.status == 409
    conversation_handoff(conversation=conversation, actor=None, reason=HandoffReason.API)
    assert conversation_scope_for_agent(agent=alice).filter(pk=conversation.pk).exists()
