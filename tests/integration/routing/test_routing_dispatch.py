"""The dispatch transaction itself: its cost does not grow with members, a stale pick leaves nothing
behind, and a pass ends without an extra transaction (docs/decisions/routing-locks.md)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pagedesk.accounts.models import Presence, User
from pagedesk.campaigns.models import Campaign, Membership
from pagedesk.conversations.models import Conversation, ConversationEvent, ConversationState
from pagedesk.core import clock
from pagedesk.realtime import groups
from pagedesk.routing import policy, services
from pagedesk.routing.models import Assignment
from pagedesk.routing.services import presence_set

from .conftest import arrive, available, make_campaign, state_of

pytestmark = pytest.mark.django_db(transaction=True)

A = ConversationState.ASSIGNED
Q = ConversationState.QUEUED


def members(campaign: Campaign, count: int, *, prefix: str) -> list[User]:
    """Available agents without password hashing (hundreds of make_user calls would take minutes)."""
    agents = User.objects.bulk_create(
        User(username=f"{prefix}{i:03d}", role="agent", password="!", presence=Presence.AVAILABLE)
        for i in range(count)
    )
    Membership.objects.bulk_create(
        Membership(campaign=campaign, agent=agent, position=i + 1) for i, agent in enumerate(agents)
    )
    return agents


def queue_while_disabled(campaign: Campaign, count: int) -> list[Conversation]:
    """Queued customers nobody routed yet: the campaign is disabled while they arrive."""
    Campaign.objects.filter(pk=campaign.pk).update(enabled=False)
    campaign.refresh_from_db()
    waiting = [arrive(campaign) for _ in range(count)]
    Campaign.objects.filter(pk=campaign.pk).update(enabled=True)  # no hook: the test dispatches
    return waiting


def statements(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries]


def transactions(captured: CaptureQueriesContext) -> int:
    return sum(1 for sql in statements(captured) if sql.upper().startswith("BEGIN"))


@pytest.mark.parametrize("strategy", ["linear", "rrmemory", "leastrecent", "fewest", "wrandom"])
def test_one_decision_costs_the_same_queries_with_3_or_60_members(frozen_clock, alice, strategy):
    counts = []
    for size in (3, 60):
        campaign = make_campaign(f"C{size}", agents=[], strategy=strategy, max_interactions_per_agent=2)
        members(campaign, size, prefix=f"{strategy[:4]}{size}-")
        [waiting] = queue_while_disabled(campaign, 1)
        with CaptureQueriesContext(connection) as captured:
            routed = services.queue_dispatch(campaign=campaign)
        assert [r.conversation_id for r in routed] == [waiting.pk]
        assert state_of(waiting)[0] == A
        # One transaction: the decision's own reads showed nobody else waiting.
        assert transactions(captured) == 1
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]
    # SQLite: BEGIN, campaign, head, members, agent lock, up to five writes, COMMIT and the queue length
    # for QueueChanged. PostgreSQL: BEGIN, the locks with the members read (one more query when the
    # strategy differs from this process's last dispatch of the campaign), the agent lock with the
    # writes, COMMIT and the queue length.
    assert counts[0] <= (6 if connection.vendor == "postgresql" else 13)


def test_a_pass_ends_when_the_last_free_slot_is_taken_without_another_transaction(frozen_clock, alice, bob):
    campaign = make_campaign("C", agents=[alice, bob], strategy="linear", max_interactions_per_agent=2)
    available(alice, bob)
    waiting = queue_while_disabled(campaign, 6)
    with CaptureQueriesContext(connection) as captured:
        routed = services.queue_dispatch(campaign=campaign)
    assert [r.conversation_id for r in routed] == [c.pk for c in waiting[:4]]  # FIFO
    assert [r.agent_id for r in routed] == [alice.pk, alice.pk, bob.pk, bob.pk]
    assert transactions(captured) == 4
    assert [state_of(c) for c in waiting[4:]] == [(Q, None), (Q, None)]


def test_a_pass_ends_when_the_queue_is_empty_without_another_transaction(frozen_clock, alice):
    campaign = make_campaign("C", agents=[alice], strategy="rrmemory", max_interactions_per_agent=5)
    available(alice)
    waiting = queue_while_disabled(campaign, 3)
    with CaptureQueriesContext(connection) as captured:
        routed = services.queue_dispatch(campaign=campaign)
    assert [r.conversation_id for r in routed] == [c.pk for c in waiting]
    assert transactions(captured) == 3


def test_a_stale_pick_is_undone_and_decided_again(frozen_clock, alice, bob, monkeypatch, published):
    """The policy picks from an unlocked snapshot; the re-count under the picked agent's lock is what
    keeps capacity. Here the policy is made to pick alice although she is full (as if her last slot
    went to another campaign after the snapshot): nothing of that attempt may survive."""
    campaign = make_campaign("C", agents=[alice, bob], strategy="linear", max_interactions_per_agent=1)
    available(alice)
    first = arrive(campaign)
    assert state_of(first) == (A, alice.pk)
    alice.refresh_from_db()
    alice_last_assigned = alice.last_assigned_at
    available(bob)
    waiting = queue_while_disabled(campaign, 1)[0]
    frozen_clock.advance(seconds=5)

    real_pick = policy.pick
    picks: list[int | None] = []

    def pick_alice_first(**kwargs):  # type: ignore[no-untyped-def]
        picked = alice.pk if not picks else real_pick(**kwargs)
        picks.append(picked)
        return picked

    monkeypatch.setattr(policy, "pick", pick_alice_first)
    published.clear()
    routed = services.queue_dispatch(campaign=campaign)

    assert picks == [alice.pk, bob.pk]
    assert [(r.conversation_id, r.agent_id) for r in routed] == [(waiting.pk, bob.pk)]
    assert state_of(waiting) == (A, bob.pk)
    alice.refresh_from_db()
    assert alice.last_assigned_at == alice_last_assigned  # the lock-taking write was rolled back
    assert list(Assignment.objects.filter(conversation=waiting).values_list("agent_id", "how")) == [
        (bob.pk, "routed")
    ]
    assert list(
        ConversationEvent.objects.filter(conversation=waiting, kind="assigned").values_list("data", flat=True)
    ) == [{"agent_id": bob.pk, "how": "routed"}]
    assigned = [(e, to) for e, to in published if e.type == "conversation.assigned"]
    assert [(e.conversation_id, e.agent_id) for e, _ in assigned] == [(waiting.pk, bob.pk)]
    assert groups.agent(alice.pk) not in assigned[0][1]
    assert Conversation.objects.filter(agent=alice, state=A).count() == 1  # never above capacity


def test_dispatch_writes_what_take_and_transfer_write(frozen_clock, alice, published):
    """The hand-written dispatch statements record the same rows and event as the ORM paths."""
    campaign = make_campaign("C", agents=[alice], strategy="rrmemory")
    available(alice)
    published.clear()
    conversation = arrive(campaign)
    conversation.refresh_from_db()
    assert (conversation.state, conversation.agent_id, conversation.version) == (A, alice.pk, 2)
    assert conversation.assigned_at == clock.now()
    alice.refresh_from_db()
    assert alice.last_assigned_at == conversation.assigned_at
    campaign.refresh_from_db()
    assert campaign.rr_last_agent_id == alice.pk
    assignment = Assignment.objects.get(conversation=conversation)
    assert (assignment.campaign_id, assignment.agent_id, assignment.how) == (campaign.pk, alice.pk, "routed")
    assert assignment.at == conversation.assigned_at
    event = ConversationEvent.objects.get(conversation=conversation, kind="assigned")
    assert (event.actor_id, event.data, event.at) == (
        None,
        {"agent_id": alice.pk, "how": "routed"},
        assignment.at,
    )
    [(assigned, to)] = [(e, to) for e, to in published if e.type == "conversation.assigned"]
    assert (assigned.agent_id, assigned.version, assigned.how) == (alice.pk, 2, "routed")
    # Not the members' queue group: their pages show nothing of a routing campaign's queue.
    assert sorted(to) == sorted([groups.supervisors(campaign.pk), groups.agent(alice.pk)])
    # One queue length per arrival: the dispatch pass's, not the arrival's a moment earlier too.
    assert [e.length for e, _ in published if e.type == "queue.changed"] == [0]


def test_a_strategy_change_between_dispatches_is_honoured_at_once(frozen_clock, alice, bob):
    """PostgreSQL sends the members read along with the locks, guessing its shape from this process's
    last dispatch of the campaign; the guess must never decide."""
    campaign = make_campaign("C", agents=[alice, bob], strategy="linear", max_interactions_per_agent=5)
    available(alice, bob)
    assert [state_of(arrive(campaign))[1] for _ in range(2)] == [alice.pk, alice.pk]
    Campaign.objects.filter(pk=campaign.pk).update(strategy="leastrecent")  # no hook: next arrival routes
    frozen_clock.advance(seconds=1)
    assert state_of(arrive(campaign))[1] == bob.pk  # never assigned first; linear would say alice
    frozen_clock.advance(seconds=1)
    assert state_of(arrive(campaign))[1] == alice.pk  # idle longer than bob now


def test_a_pick_of_an_agent_who_left_is_undone_and_decided_again(
    frozen_clock, alice, bob, lunch, monkeypatch
):
    """The agent lock re-checks presence. On PostgreSQL the lock and the writes travel together, so the
    writes run even when the lock found nobody: they must not survive."""
    campaign = make_campaign("C", agents=[bob, alice], strategy="linear", max_interactions_per_agent=2)
    available(alice)
    presence_set(agent=bob, presence=Presence.BREAK, break_reason=lunch)
    waiting = queue_while_disabled(campaign, 1)[0]

    real_pick = policy.pick
    picks: list[int | None] = []

    def pick_bob_first(**kwargs):  # type: ignore[no-untyped-def]
        picked = bob.pk if not picks else real_pick(**kwargs)
        picks.append(picked)
        return picked

    monkeypatch.setattr(policy, "pick", pick_bob_first)
    routed = services.queue_dispatch(campaign=campaign)
    assert picks == [bob.pk, alice.pk]
    assert [(r.conversation_id, r.agent_id) for r in routed] == [(waiting.pk, alice.pk)]
    assert state_of(waiting) == (A, alice.pk)
    assert not Assignment.objects.filter(agent=bob).exists()
    assert not ConversationEvent.objects.filter(conversation=waiting, data__agent_id=bob.pk).exists()
    bob.refresh_from_db()
    assert bob.last_assigned_at is None
