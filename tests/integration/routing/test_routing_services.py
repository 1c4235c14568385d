"""Routing services against the database, with real commits (on_commit follow-ups run)."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django_tasks_db.models import DBTaskResult

from pagedesk.accounts.models import Presence
from pagedesk.campaigns.models import Disposition
from pagedesk.campaigns.services import (
    MemberSpec,
    blocked_contact_add,
    campaign_update,
    disposition_create,
    membership_set,
)
from pagedesk.conversations.models import Conversation, ConversationEvent, ConversationState
from pagedesk.core import clock
from pagedesk.core.errors import ApplicationError
from pagedesk.realtime import groups
from pagedesk.routing import services, tasks
from pagedesk.routing.models import AfterHoursNotice, Assignment, Transfer, TransferState
from pagedesk.routing.selectors import (
    agent_loads,
    agent_rows_for_campaign,
    alarms,
    conversation_list_for_agent,
    queue_list_for_agent,
    queue_list_for_campaign,
)
from pagedesk.routing.services import arrivals, presence_set

from .conftest import arrive, available, make_campaign, state_of

pytestmark = pytest.mark.django_db(transaction=True)

A = ConversationState.ASSIGNED
Q = ConversationState.QUEUED


def kinds(conversation: Conversation) -> list[str]:
    return list(ConversationEvent.objects.filter(conversation=conversation).values_list("kind", flat=True))


def tasks_named(name: str) -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=f"pagedesk.routing.tasks.{name}", status="READY"))


# --- arrival -------------------------------------------------------------------------------------------


def test_blocked_contact_is_recorded_never_routed_and_sent_nothing(frozen_clock, alice, sent, published):
    campaign = make_campaign("C", agents=[alice], strategy="linear")
    blocked_contact_add(campaign=campaign, psid="4242")
    available(alice)
    published.clear()
    conversation = arrive(campaign, psid="4242")
    assert state_of(conversation) == (ConversationState.BLOCKED, None)
    assert conversation.closed_at == clock.now()
    assert kinds(conversation) == ["queued", "blocked"]
    assert sent == []
    [(event, to)] = [(e, to) for e, to in published if e.type == "conversation.closed"]
    assert event.state == "blocked" and groups.supervisors(campaign.pk) in to


def test_disabled_campaign_records_but_routes_nothing_until_enabled(frozen_clock, alice, published):
    campaign = make_campaign("C", agents=[alice], strategy="linear", enabled=False)
    available(alice)
    published.clear()
    conversation = arrive(campaign)
    assert state_of(conversation) == (Q, None)
    assert list(queue_list_for_agent(agent=alice)) == []
    assert all(groups.campaign_queue(campaign.pk) not in to for _, to in published)

    campaign_update(campaign=campaign, fields={"enabled": True})  # the campaign-change hook re-routes
    assert state_of(conversation) == (A, alice.pk)


def test_new_conversation_is_queued_published_and_gets_a_dropout_timer(frozen_clock, alice, published):
    campaign = make_campaign("C", agents=[alice], strategy="linear", dropout_threshold_seconds=300)
    published.clear()
    conversation = arrive(campaign)
    assert state_of(conversation) == (Q, None)
    queued = [(e, to) for e, to in published if e.type == "conversation.queued"]
    assert [e.conversation_id for e, _ in queued] == [conversation.pk]
    # linear: the members' pages do not show its queue (only ringall members have a Pending list).
    assert queued[0][1] == [groups.supervisors(campaign.pk)]
    [timer] = tasks_named("dropout_check")
    assert timer.run_after == clock.now() + dt.timedelta(seconds=300)
    assert timer.args_kwargs["kwargs"] == {"conversation_id": conversation.pk}


# --- after hours ---------------------------------------------------------------------------------------


def test_after_hours_message_once_per_closed_period_per_contact(frozen_clock, alice, sent):
    campaign = make_campaign("C", agents=[alice], open_all_week=False, after_hours_message="Closed")
    frozen_clock.set(dt.datetime(2026, 3, 2, 19, 0, tzinfo=dt.UTC))  # Monday evening, closed
    first = arrive(campaign, psid="1")
    assert state_of(first) == (ConversationState.AFTER_HOURS, None)
    frozen_clock.set(dt.datetime(2026, 3, 3, 7, 0, tzinfo=dt.UTC))  # same closed period (opens Tue 09:00)
    second = arrive(campaign, psid="1")
    other = arrive(campaign, psid="2")
    assert [pk for pk, _ in sent] == [first.pk, other.pk]
    assert (
        ConversationEvent.objects.get(conversation=second, kind="after_hours").data["message_sent"] is False
    )

    frozen_clock.set(dt.datetime(2026, 3, 3, 18, 30, tzinfo=dt.UTC))  # Tuesday evening: a new period
    third = arrive(campaign, psid="1")
    assert [pk for pk, _ in sent] == [first.pk, other.pk, third.pk]
    assert AfterHoursNotice.objects.filter(contact__psid="1").count() == 2


@pytest.mark.parametrize(
    ("local", "is_open"),
    [
        (dt.datetime(2026, 3, 2, 8, 59, 59), False),
        (dt.datetime(2026, 3, 2, 9, 0, 0), True),
        (dt.datetime(2026, 3, 2, 17, 59, 59), True),
        (dt.datetime(2026, 3, 2, 18, 0, 0), False),
        (dt.datetime(2026, 3, 7, 12, 0, 0), False),  # Saturday
    ],
)
def test_schedule_edges_decide_queue_or_after_hours(frozen_clock, alice, sent, local, is_open):
    campaign = make_campaign("C", agents=[alice], open_all_week=False, timezone="America/New_York")
    frozen_clock.set(local.replace(tzinfo=campaign.tzinfo))
    conversation = arrive(campaign)
    assert conversation.state == (Q if is_open else ConversationState.AFTER_HOURS)
    assert len(sent) == (0 if is_open else 1)


def test_close_queue_at_schedule_end_sends_after_hours_to_those_still_waiting(frozen_clock, alice, sent):
    frozen_clock.set(dt.datetime(2026, 3, 2, 17, 50, tzinfo=dt.UTC))
    campaign = make_campaign(
        "C",
        agents=[alice],
        open_all_week=False,
        close_queue_at_schedule_end=True,
        strategy="linear",
        dropout_threshold_seconds=0,
    )
    waiting = [arrive(campaign) for _ in range(2)]
    assert services.queue_close_for_schedule_end(campaign=campaign) == 0  # still open
    frozen_clock.set(dt.datetime(2026, 3, 2, 18, 0, 30, tzinfo=dt.UTC))
    assert services.routing_reconcile()["closed_at_schedule_end"] == 2
    assert [state_of(c)[0] for c in waiting] == [ConversationState.AFTER_HOURS] * 2
    assert sorted(pk for pk, _ in sent) == sorted(c.pk for c in waiting)


def test_without_close_queue_option_agents_finish_the_queue(frozen_clock, alice, sent):
    frozen_clock.set(dt.datetime(2026, 3, 2, 17, 50, tzinfo=dt.UTC))
    campaign = make_campaign(
        "C", agents=[alice], open_all_week=False, strategy="linear", dropout_threshold_seconds=0
    )
    waiting = arrive(campaign)
    frozen_clock.set(dt.datetime(2026, 3, 2, 18, 30, tzinfo=dt.UTC))
    services.routing_reconcile()
    assert state_of(waiting) == (Q, None)
    available(alice)  # after hours, an agent still gets the leftover queue
    assert state_of(waiting) == (A, alice.pk)
    assert sent == []


# --- strategies through the services ---------------------------------------------------------------------


def test_linear_fills_the_first_member_first(frozen_clock, alice, bob):
    campaign = make_campaign("C", agents=[bob, alice], strategy="linear", max_interactions_per_agent=2)
    available(alice, bob)
    got = [state_of(arrive(campaign))[1] for _ in range(4)]
    assert got == [bob.pk, bob.pk, alice.pk, alice.pk]


def test_rrmemory_continues_after_the_last_served_agent(frozen_clock, alice, bob, carol, lunch):
    campaign = make_campaign(
        "C", agents=[alice, bob, carol], strategy="rrmemory", max_interactions_per_agent=5
    )
    available(alice, bob, carol)
    got = [state_of(arrive(campaign))[1] for _ in range(4)]
    assert got == [alice.pk, bob.pk, carol.pk, alice.pk]
    # A break, not Offline: an Offline bob's conversation would go back to the queue and be routed.
    presence_set(agent=bob, presence=Presence.BREAK, break_reason=lunch)
    got = [state_of(arrive(campaign))[1] for _ in range(2)]
    assert got == [carol.pk, alice.pk]  # after alice comes bob (on a break), so carol, then alice
    campaign.refresh_from_db()
    assert campaign.rr_last_agent_id == alice.pk


def test_leastrecent_prefers_never_assigned_then_longest_idle(frozen_clock, alice, bob, carol):
    campaign = make_campaign(
        "C", agents=[alice, bob, carol], strategy="leastrecent", max_interactions_per_agent=5
    )
    available(alice, bob, carol)
    got = []
    for _ in range(4):
        got.append(state_of(arrive(campaign))[1])
        frozen_clock.advance(seconds=1)
    assert got == [alice.pk, bob.pk, carol.pk, alice.pk]


def test_fewest_counts_todays_assignments_in_the_campaign_timezone(frozen_clock, alice, bob):
    frozen_clock.set(dt.datetime(2026, 3, 2, 22, 30, tzinfo=dt.UTC))  # 23:30 in Madrid
    campaign = make_campaign(
        "C", agents=[alice, bob], strategy="fewest", max_interactions_per_agent=9, timezone="Europe/Madrid"
    )
    available(alice)
    first, second = arrive(campaign), arrive(campaign)  # both alice's, "yesterday" after midnight
    available(bob)
    frozen_clock.set(dt.datetime(2026, 3, 2, 23, 30, tzinfo=dt.UTC))  # 00:30 Madrid: a new day
    services.conversation_close(conversation=first, agent=alice)
    services.conversation_close(conversation=second, agent=alice)
    got = [state_of(arrive(campaign))[1] for _ in range(3)]
    assert got == [alice.pk, bob.pk, alice.pk]  # 0–0 tie → member order; then 1–0 → bob; 1–1 → alice


def test_wrandom_only_picks_free_members(frozen_clock, alice, bob):
    services.set_rng(random.Random(3))
    membership = make_campaign("C", agents=[alice, bob], strategy="wrandom", max_interactions_per_agent=1)
    available(alice, bob)
    got = {state_of(arrive(membership))[1] for _ in range(2)}
    assert got == {alice.pk, bob.pk}
    assert state_of(arrive(membership)) == (Q, None)


def test_break_keeps_conversations_offline_returns_them_and_available_again_resumes(
    frozen_clock, alice, lunch
):
    campaign = make_campaign("C", agents=[alice], strategy="linear", max_interactions_per_agent=3)
    available(alice)
    mine = arrive(campaign)
    presence_set(agent=alice, presence=Presence.BREAK, break_reason=lunch)
    waiting = arrive(campaign)
    assert state_of(mine) == (A, alice.pk)
    assert state_of(waiting) == (Q, None)
    presence_set(agent=alice, presence=Presence.OFFLINE)  # issue 12: Offline strands nobody
    assert state_of(mine) == (Q, None)
    assert list(queue_list_for_campaign(campaign=campaign)) == [mine, waiting]
    available(alice)
    assert state_of(mine) == (A, alice.pk)
    assert state_of(waiting) == (A, alice.pk)


def test_membership_and_max_changes_reroute(frozen_clock, alice, bob):
    campaign = make_campaign("C", agents=[alice], strategy="linear", max_interactions_per_agent=1)
    available(alice, bob)
    first, second, third = arrive(campaign), arrive(campaign), arrive(campaign)
    assert [state_of(c)[1] for c in (first, second, third)] == [alice.pk, None, None]
    campaign_update(campaign=campaign, fields={"max_interactions_per_agent": 2})
    assert state_of(second) == (A, alice.pk)
    membership_set(campaign=campaign, members=[MemberSpec(agent_id=alice.pk), MemberSpec(agent_id=bob.pk)])
    assert state_of(third) == (A, bob.pk)


def test_queue_is_fifo_and_return_to_queue_goes_to_the_front(frozen_clock, alice, bob, lunch):
    campaign = make_campaign("C", agents=[alice, bob], strategy="linear", max_interactions_per_agent=1)
    available(alice)
    first = arrive(campaign)
    waiting = []
    for _ in range(3):
        frozen_clock.advance(seconds=1)
        waiting.append(arrive(campaign))
    assert list(queue_list_for_campaign(campaign=campaign)) == waiting
    presence_set(agent=alice, presence=Presence.BREAK, break_reason=lunch)  # keeps hers; not routable
    services.conversation_return_to_queue(conversation=first, by=alice)
    assert list(queue_list_for_campaign(campaign=campaign)) == [first, *waiting]
    assert kinds(first)[-1] == "returned_to_queue"
    available(bob)
    assert state_of(first) == (A, bob.pk)  # the returned one is served first
    assert list(queue_list_for_campaign(campaign=campaign)) == waiting


# --- ringall ---------------------------------------------------------------------------------------------


def test_ringall_offers_to_all_and_the_second_take_is_refused(frozen_clock, alice, bob, published):
    campaign = make_campaign("C", agents=[alice, bob], strategy="ringall")
    available(alice, bob)
    conversation = arrive(campaign)
    assert state_of(conversation) == (Q, None)
    assert list(queue_list_for_agent(agent=alice)) == [conversation]
    assert list(queue_list_for_agent(agent=bob)) == [conversation]
    published.clear()
    services.conversation_take(conversation=conversation, agent=bob)
    with pytest.raises(ApplicationError) as second:
        services.conversation_take(conversation=conversation, agent=alice)
    assert (second.value.code, second.value.status) == ("already_taken", 409)
    assert state_of(conversation) == (A, bob.pk)
    [(event, to)] = [(e, to) for e, to in published if e.type == "conversation.assigned"]
    assert event.how == "taken"
    assert groups.campaign_queue(campaign.pk) in to  # the others see it disappear
    assert list(queue_list_for_agent(agent=alice)) == []


def test_ringall_take_needs_membership_presence_and_capacity(frozen_clock, alice, bob, carol, lunch):
    campaign = make_campaign("C", agents=[alice, bob], strategy="ringall", max_interactions_per_agent=1)
    available(alice, carol)
    one, two = arrive(campaign), arrive(campaign)
    with pytest.raises(ApplicationError) as outsider:
        services.conversation_take(conversation=one, agent=carol)
    assert outsider.value.code == "not_a_member"
    presence_set(agent=bob, presence=Presence.BREAK, break_reason=lunch)
    with pytest.raises(ApplicationError) as on_break:
        services.conversation_take(conversation=one, agent=bob)
    assert on_break.value.code == "agent_not_available"
    services.conversation_take(conversation=one, agent=alice)
    with pytest.raises(ApplicationError) as full:
        services.conversation_take(conversation=two, agent=alice)
    assert full.value.code == "agent_at_capacity"


def test_take_is_refused_in_routed_campaigns(frozen_clock, alice):
    campaign = make_campaign("C", agents=[alice], strategy="linear")
    conversation = arrive(campaign)
    with pytest.raises(ApplicationError) as refused:
        services.conversation_take(conversation=conversation, agent=alice)
    assert refused.value.code == "not_ringall"


# --- close, dispositions, wrap-up -----------------------------------------------------------------------


def test_close_requires_a_leaf_disposition_when_the_campaign_has_any(frozen_clock, alice, bob):
    campaign = make_campaign("C", agents=[alice], strategy="linear")
    other = make_campaign("D", agents=[alice], strategy="linear")
    solved = disposition_create(campaign=campaign, name="Solved")
    refund = disposition_create(campaign=campaign, name="Refund", parent=solved)
    foreign = disposition_create(campaign=other, name="Foreign")
    available(alice)
    conversation = arrive(campaign)
    for disposition, code in (
        (None, "disposition_required"),
        (solved, "disposition_too_general"),
        (foreign, "invalid_disposition"),
    ):
        with pytest.raises(ApplicationError) as refused:
            services.conversation_close(conversation=conversation, agent=alice, disposition=disposition)
        assert refused.value.code == code
    with pytest.raises(ApplicationError) as not_yours:
        services.conversation_close(conversation=conversation, agent=bob, disposition=refund)
    assert not_yours.value.code == "not_your_conversation"
    services.conversation_close(conversation=conversation, agent=alice, disposition=refund)
    conversation.refresh_from_db()
    assert (conversation.state, conversation.disposition, conversation.closed_by) == ("closed", refund, alice)
    assert isinstance(conversation.disposition, Disposition)
    with pytest.raises(ApplicationError) as again:
        services.conversation_close(conversation=conversation, agent=alice, disposition=refund)
    assert again.value.code == "wrong_state"


def test_wrap_up_holds_the_slot_until_its_timer_ends_it(frozen_clock, alice):
    campaign = make_campaign(
        "C", agents=[alice], strategy="linear", max_interactions_per_agent=1, wrap_up_seconds=30
    )
    available(alice)
    first = arrive(campaign)
    waiting = arrive(campaign)
    services.conversation_close(conversation=first, agent=alice)
    alice.refresh_from_db()
    assert alice.presence == Presence.WRAP_UP
    assert alice.wrap_up_until == clock.now() + dt.timedelta(seconds=30)
    assert state_of(waiting) == (Q, None)
    [timer] = tasks_named("wrap_up_end")
    assert timer.run_after == alice.wrap_up_until

    frozen_clock.advance(seconds=10)
    assert services.agent_wrap_up_end(agent_id=alice.pk) is False  # early: re-armed, nothing changes
    frozen_clock.advance(seconds=20)
    assert tasks.wrap_up_end.call(agent_id=alice.pk) is True
    alice.refresh_from_db()
    assert alice.presence == Presence.AVAILABLE and alice.wrap_up_until is None
    assert state_of(waiting) == (A, alice.pk)


def test_closing_while_on_break_does_not_start_wrap_up(frozen_clock, alice, lunch):
    campaign = make_campaign("C", agents=[alice], strategy="linear", wrap_up_seconds=30)
    available(alice)
    conversation = arrive(campaign)
    presence_set(agent=alice, presence=Presence.BREAK, break_reason=lunch)
    services.conversation_close(conversation=conversation, agent=alice)
    alice.refresh_from_db()
    assert alice.presence == Presence.BREAK


def test_reconcile_ends_a_wrap_up_whose_timer_was_lost(frozen_clock, alice):
    campaign = make_campaign("C", agents=[alice], strategy="linear", wrap_up_seconds=5)
    available(alice)
    services.conversation_close(conversation=arrive(campaign), agent=alice)
    DBTaskResult.objects.all().delete()
    frozen_clock.advance(seconds=6)
    assert services.routing_reconcile()["wrap_ups_ended"] == 1
    alice.refresh_from_db()
    assert alice.presence == Presence.AVAILABLE


# --- transfers -------------------------------------------------------------------------------------------


def test_transfer_to_agent_moves_it_with_the_note(frozen_clock, alice, bob, published):
    campaign = make_campaign("C", agents=[alice, bob], strategy="linear", max_interactions_per_agent=1)
    available(alice)
    conversation = arrive(campaign)
    waiting = arrive(campaign)
    available(bob)
    assert state_of(waiting) == (A, bob.pk)
    services.conversation_close(conversation=waiting, agent=bob)
    published.clear()
    services.conversation_transfer_to_agent(conversation=conversation, to_agent=bob, by=alice, note="VIP")
    conversation.refresh_from_db()
    assert (conversation.agent, conversation.transfer_note, conversation.transferred_by) == (
        bob,
        "VIP",
        alice,
    )
    [(event, to)] = [(e, to) for e, to in published if e.type == "conversation.transferred"]
    assert (event.from_agent_id, event.to_agent_id, event.note) == (alice.pk, bob.pk, "VIP")
    assert groups.agent(alice.pk) in to and groups.agent(bob.pk) in to
    assert Transfer.objects.get(conversation=conversation).state == TransferState.ACCEPTED
    assert list(Assignment.objects.filter(conversation=conversation).values_list("how", flat=True)) == [
        "routed",
        "transferred",
    ]


def test_transfer_to_agent_is_refused_clearly(frozen_clock, alice, bob, carol, lunch):
    campaign = make_campaign("C", agents=[alice, bob], strategy="linear", max_interactions_per_agent=1)
    available(alice)
    conversation = arrive(campaign)
    with pytest.raises(ApplicationError) as outsider:
        services.conversation_transfer_to_agent(conversation=conversation, to_agent=carol, by=alice)
    assert outsider.value.code == "not_a_member"
    presence_set(agent=bob, presence=Presence.BREAK, break_reason=lunch)
    with pytest.raises(ApplicationError) as on_break:
        services.conversation_transfer_to_agent(conversation=conversation, to_agent=bob, by=alice)
    assert on_break.value.code == "agent_not_available"
    assert "Bob is Break" in on_break.value.message
    available(bob)
    other = arrive(campaign)  # fills bob
    assert state_of(other) == (A, bob.pk)
    with pytest.raises(ApplicationError) as full:
        services.conversation_transfer_to_agent(conversation=conversation, to_agent=bob, by=alice)
    assert full.value.code == "agent_at_capacity"
    assert state_of(conversation) == (A, alice.pk)


def test_transfer_to_campaign_requeues_there_and_frees_the_sender(frozen_clock, alice, bob):
    sales = make_campaign("Sales", agents=[alice], strategy="linear", max_interactions_per_agent=1)
    billing = make_campaign("Billing", agents=[bob], strategy="linear")
    available(alice)
    conversation = arrive(sales)
    waiting = arrive(sales)
    services.conversation_transfer_to_campaign(
        conversation=conversation, campaign=billing, by=alice, note="invoice"
    )
    conversation.refresh_from_db()
    assert (conversation.campaign, conversation.state, conversation.transfer_note) == (billing, Q, "invoice")
    assert state_of(waiting) == (A, alice.pk)  # alice's freed slot served her own queue
    available(bob)
    assert state_of(conversation) == (A, bob.pk)
    assert Transfer.objects.get(conversation=conversation).state == TransferState.ACCEPTED


def test_unaccepted_ringall_transfer_returns_to_the_sender(frozen_clock, alice, bob):
    sales = make_campaign("Sales", agents=[alice], strategy="linear", max_interactions_per_agent=2)
    billing = make_campaign("Billing", agents=[bob], strategy="ringall", transfer_timeout_seconds=60)
    available(alice, bob)
    conversation = arrive(sales)
    services.conversation_transfer_to_campaign(conversation=conversation, campaign=billing, by=alice)
    [timer] = tasks_named("transfer_timeout")
    transfer = Transfer.objects.get(conversation=conversation)
    assert timer.run_after == transfer.created_at + dt.timedelta(seconds=60)
    frozen_clock.advance(seconds=30)
    assert services.transfer_timeout_expire(transfer_id=transfer.pk) is False  # not yet
    frozen_clock.advance(seconds=31)
    assert tasks.transfer_timeout.call(transfer_id=transfer.pk) is True
    conversation.refresh_from_db()
    assert (conversation.campaign, conversation.state, conversation.agent) == (sales, A, alice)
    assert kinds(conversation)[-2:] == ["transfer_returned", "assigned"]


def test_ringall_transfer_taken_in_time_does_not_return(frozen_clock, alice, bob):
    sales = make_campaign("Sales", agents=[alice], strategy="linear")
    billing = make_campaign("Billing", agents=[bob], strategy="ringall", transfer_timeout_seconds=60)
    available(alice, bob)
    conversation = arrive(sales)
    services.conversation_transfer_to_campaign(conversation=conversation, campaign=billing, by=alice)
    services.conversation_take(conversation=conversation, agent=bob)
    frozen_clock.advance(seconds=61)
    transfer = Transfer.objects.get(conversation=conversation)
    assert services.transfer_timeout_expire(transfer_id=transfer.pk) is False
    assert state_of(conversation) == (A, bob.pk)


def test_transfer_return_goes_to_the_queue_front_when_the_sender_is_full(frozen_clock, alice, bob):
    sales = make_campaign("Sales", agents=[alice], strategy="linear", max_interactions_per_agent=1)
    billing = make_campaign("Billing", agents=[bob], strategy="ringall", transfer_timeout_seconds=60)
    available(alice)
    conversation = arrive(sales)
    waiting = arrive(sales)
    services.conversation_transfer_to_campaign(conversation=conversation, campaign=billing, by=alice)
    assert state_of(waiting) == (A, alice.pk)  # alice is full again
    later = arrive(sales)
    frozen_clock.advance(seconds=61)
    assert services.routing_reconcile()["transfers_returned"] == 1
    conversation.refresh_from_db()
    assert (conversation.campaign, conversation.state) == (sales, Q)
    assert list(queue_list_for_campaign(campaign=sales)) == [conversation, later]


def test_transfer_to_campaign_refusals(frozen_clock, alice, bob):
    sales = make_campaign("Sales", agents=[alice], strategy="linear")
    closed = make_campaign("Closed", agents=[bob], strategy="linear", enabled=False)
    available(alice)
    conversation = arrive(sales, psid="77")
    with pytest.raises(ApplicationError) as same:
        services.conversation_transfer_to_campaign(conversation=conversation, campaign=sales, by=alice)
    assert same.value.code == "same_campaign"
    with pytest.raises(ApplicationError) as disabled:
        services.conversation_transfer_to_campaign(conversation=conversation, campaign=closed, by=alice)
    assert disabled.value.code == "campaign_disabled"
    billing = make_campaign("Billing", agents=[bob], strategy="linear")
    clash = Conversation.objects.create(
        campaign=billing,
        contact=conversation.contact,
        state=Q,
        queued_at=clock.now(),
        queue_order=clock.now(),
    )
    with pytest.raises(ApplicationError) as busy:
        services.conversation_transfer_to_campaign(conversation=conversation, campaign=billing, by=alice)
    assert busy.value.code == "contact_busy_in_target"
    assert clash.pk


# --- dropout ---------------------------------------------------------------------------------------------


def test_dropout_abandons_a_waiting_customer_and_rearms_when_they_write_again(frozen_clock, alice, published):
    campaign = make_campaign("C", agents=[alice], strategy="linear", dropout_threshold_seconds=120)
    conversation = arrive(campaign)
    frozen_clock.advance(seconds=100)
    Conversation.objects.filter(pk=conversation.pk).update(
        last_customer_message_at=clock.now()
    )  # wrote again
    frozen_clock.advance(seconds=30)
    DBTaskResult.objects.all().delete()
    assert tasks.dropout_check.call(conversation_id=conversation.pk) is False
    [rearmed] = tasks_named("dropout_check")
    # The wait left (90 s) from now in real time: the worker compares run_after with the real time.
    waited = rearmed.run_after - dt.datetime.now(dt.UTC)
    assert dt.timedelta(seconds=85) < waited <= dt.timedelta(seconds=90)
    frozen_clock.advance(seconds=90)
    published.clear()
    assert services.conversation_dropout_check(conversation_id=conversation.pk) is True
    conversation.refresh_from_db()
    assert (conversation.state, conversation.abandoned_at) == (ConversationState.ABANDONED, clock.now())
    assert kinds(conversation)[-1] == "abandoned"
    assert "conversation.abandoned" in [e.type for e, _ in published]


def test_dropout_zero_means_never_and_answered_conversations_never_drop(frozen_clock, alice, lunch):
    never = make_campaign("Never", agents=[alice], strategy="linear", dropout_threshold_seconds=0)
    waiting = arrive(never)
    assert tasks_named("dropout_check") == []
    frozen_clock.advance(days=2)
    assert services.conversation_dropout_check(conversation_id=waiting.pk) is False

    campaign = make_campaign("C", agents=[alice], strategy="linear", dropout_threshold_seconds=60)
    available(alice)
    answered = arrive(campaign)
    presence_set(agent=alice, presence=Presence.BREAK, break_reason=lunch)
    services.conversation_return_to_queue(conversation=answered, by=alice)
    frozen_clock.advance(seconds=600)
    assert services.conversation_dropout_check(conversation_id=answered.pk) is False
    assert services.routing_reconcile()["abandoned"] == 0
    assert state_of(answered) == (Q, None)


# --- disconnect grace ------------------------------------------------------------------------------------


def test_disconnect_longer_than_grace_sets_offline_and_reconnect_cancels(frozen_clock, alice, settings):
    settings.AGENT_DISCONNECT_GRACE_SECONDS = 120
    available(alice)
    services.agent_connected(agent=alice)
    services.agent_connected(agent=alice)  # two tabs
    services.agent_disconnected(agent=alice)
    assert tasks_named("disconnect_expire") == []  # one tab still open
    services.agent_disconnected(agent=alice)
    [timer] = tasks_named("disconnect_expire")
    assert timer.run_after == clock.now() + dt.timedelta(seconds=120)
    token = timer.args_kwargs["kwargs"]["token"]
    frozen_clock.advance(seconds=60)
    services.agent_connected(agent=alice)
    frozen_clock.advance(seconds=60)
    assert tasks.disconnect_expire.call(agent_id=alice.pk, token=token) is False
    alice.refresh_from_db()
    assert alice.presence == Presence.AVAILABLE

    services.agent_disconnected(agent=alice)
    timer = tasks_named("disconnect_expire")[-1]
    frozen_clock.advance(seconds=121)
    assert (
        services.agent_disconnect_expire(agent_id=alice.pk, token=timer.args_kwargs["kwargs"]["token"])
        is True
    )
    alice.refresh_from_db()
    assert alice.presence == Presence.OFFLINE


# --- reconciliation and start-up -------------------------------------------------------------------------


def test_reconcile_assigns_a_stranded_queue_and_startup_arms_the_minute_timer_once(frozen_clock, alice):
    campaign = make_campaign("C", agents=[alice], strategy="linear")
    available(alice)
    now = clock.now()
    # A conversation queued by a process that crashed before its dispatch ran:
    contact = arrive(campaign).contact
    services.conversation_close(conversation=Conversation.objects.get(contact=contact), agent=alice)
    orphan = Conversation.objects.create(
        campaign=campaign, contact=contact, state=Q, queued_at=now, queue_order=now
    )
    tasks.routing_startup()
    assert state_of(orphan) == (A, alice.pk)
    tasks.routing_startup()
    assert len(tasks_named("reconcile_every_minute")) == 1
    assert tasks.reconcile_every_minute.call()["assigned"] == 0
    assert len(tasks_named("reconcile_every_minute")) == 1  # the call saw a waiting copy and did not re-arm


# --- selectors -------------------------------------------------------------------------------------------


def test_board_selectors_loads_and_alarms(frozen_clock, alice, bob, lunch, django_assert_num_queries):
    campaign = make_campaign(
        "C",
        agents=[alice, bob],
        strategy="linear",
        max_interactions_per_agent=2,
        acd_threshold=2,
        sl_threshold_seconds=30,
        chat_time_threshold_seconds=300,
    )
    available(alice)
    presence_set(agent=bob, presence=Presence.BREAK, break_reason=lunch)
    first, second = arrive(campaign), arrive(campaign)
    frozen_clock.advance(seconds=30)
    third = arrive(campaign)
    frozen_clock.advance(seconds=40)
    fourth = arrive(campaign)
    assert agent_loads(agent_ids=[alice.pk, bob.pk]) == {alice.pk: 2, bob.pk: 0}
    with django_assert_num_queries(2):
        rows = agent_rows_for_campaign(campaign=campaign)
    assert [(r.agent, r.load, r.status) for r in rows] == [(alice, 2, "busy"), (bob, 0, "break")]
    with django_assert_num_queries(3):
        now_alarms = alarms(campaign=campaign)
    assert now_alarms.acd and now_alarms.queue_length == 2
    assert now_alarms.sl_conversation_ids == [third.pk]
    assert now_alarms.chat_time_conversation_ids == []
    frozen_clock.advance(seconds=240)
    later = alarms(campaign=campaign)
    assert later.chat_time_conversation_ids == [first.pk, second.pk]
    assert later.sl_conversation_ids == [third.pk, fourth.pk]
    assert list(conversation_list_for_agent(agent=alice)) == [first, second]


def test_after_hours_reply_goes_through_the_real_sending_path(frozen_clock, alice):
    from pagedesk.conversations.models import Message, SenderType

    campaign = make_campaign("C", agents=[alice], open_all_week=False, after_hours_message="Closed now")
    frozen_clock.set(dt.datetime(2026, 3, 2, 19, 0, tzinfo=dt.UTC))
    conversation = arrive(campaign)
    [message] = Message.objects.filter(conversation=conversation)
    assert (message.sender_type, message.text, message.direction) == (SenderType.SYSTEM, "Closed now", "out")
    assert state_of(conversation) == (ConversationState.AFTER_HOURS, None)


def test_a_failing_after_hours_send_never_fails_the_ingest_and_is_retried_next_time(
    frozen_clock, alice, monkeypatch
):
    calls: list[int] = []

    def broken(*, conversation: Conversation, text: str) -> None:
        calls.append(conversation.pk)
        if len(calls) == 1:
            raise RuntimeError("Graph is down")

    monkeypatch.setattr(arrivals, "_send_system_message", broken)
    campaign = make_campaign("C", agents=[alice], open_all_week=False)
    frozen_clock.set(dt.datetime(2026, 3, 2, 19, 0, tzinfo=dt.UTC))
    first = arrive(campaign, psid="5")
    assert state_of(first) == (ConversationState.AFTER_HOURS, None)
    assert ConversationEvent.objects.get(conversation=first, kind="after_hours").data["message_sent"] is False
    second = arrive(campaign, psid="5")
    assert calls == [first.pk, second.pk]
    assert ConversationEvent.objects.get(conversation=second, kind="after_hours").data["message_sent"] is True
