"""Issue 5's end-to-end scenario at the service level, clock frozen (the browser version waits for the inbox)."""

from __future__ import annotations

import datetime as dt

import pytest

from pagedesk.accounts.models import Presence
from pagedesk.conversations.models import ConversationState
from pagedesk.realtime import groups
from pagedesk.routing.selectors import queue_list_for_campaign
from pagedesk.routing.services import conversation_close

from .conftest import arrive, available, make_campaign, state_of

pytestmark = pytest.mark.django_db(transaction=True)

MADRID = dt.timezone(dt.timedelta(hours=1))  # CET in March, before the DST change


def test_two_agents_capacity_queue_and_after_hours(frozen_clock, alice, bob, sent, published):
    frozen_clock.set(dt.datetime(2026, 3, 2, 10, 0, tzinfo=MADRID))  # Monday 10:00 local
    campaign = make_campaign(
        "Acme Sales",
        agents=[alice, bob],
        open_all_week=False,  # Mon–Fri 09:00–18:00
        strategy="rrmemory",
        timezone="Europe/Madrid",
        max_interactions_per_agent=2,
        after_hours_message="We're closed; back at 9.",
    )
    available(alice)

    first, second, third = (arrive(campaign) for _ in range(3))
    assert [state_of(c) for c in (first, second, third)] == [
        (ConversationState.ASSIGNED, alice.pk),
        (ConversationState.ASSIGNED, alice.pk),
        (ConversationState.QUEUED, None),
    ]
    assert list(queue_list_for_campaign(campaign=campaign)) == [third]
    assigned_events = [(e, to) for e, to in published if e.type == "conversation.assigned"]
    assert {e.conversation_id for e, _ in assigned_events} == {first.pk, second.pk}
    assert all(
        groups.agent(alice.pk) in to and groups.supervisors(campaign.pk) in to for _, to in assigned_events
    )

    available(bob)
    assert state_of(third) == (ConversationState.ASSIGNED, bob.pk)

    published.clear()
    conversation_close(conversation=first, agent=alice)
    assert state_of(first) == (ConversationState.CLOSED, alice.pk)
    assert state_of(second) == (ConversationState.ASSIGNED, alice.pk)
    assert state_of(third) == (ConversationState.ASSIGNED, bob.pk)  # nothing moves: the queue is empty
    assert not [e for e, _ in published if e.type == "conversation.assigned"]

    frozen_clock.set(dt.datetime(2026, 3, 2, 18, 5, tzinfo=MADRID))
    fourth = arrive(campaign)
    assert state_of(fourth) == (ConversationState.AFTER_HOURS, None)
    assert sent == [(fourth.pk, "We're closed; back at 9.")]
    alice.refresh_from_db()
    assert alice.presence == Presence.AVAILABLE  # no wrap-up configured
