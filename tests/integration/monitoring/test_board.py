"""The board: snapshot contents, bounded queries, role rules, supervisor actions, escaping."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from pagedesk.accounts.models import DisplayStatus, Presence, PresenceChange
from pagedesk.campaigns import schedule
from pagedesk.campaigns.services import MemberSpec, campaign_create, campaign_set_supervisors, membership_set
from pagedesk.conversations.models import Contact, Conversation, ConversationState
from pagedesk.monitoring.selectors import board_snapshot, board_snapshot_for_user
from pagedesk.routing.services import presence_set
from tests.conftest import make_user
from tests.fixtures.traffic import build_traffic

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def _conv(campaign, psid: str, **fields) -> Conversation:
    contact = Contact.objects.create(page_id="p", psid=psid, first_name=fields.pop("first_name", "Carla"))
    return Conversation.objects.create(campaign=campaign, contact=contact, **fields)


def test_snapshot_agents_queue_and_alarms(frozen_clock, campaign, alice, bob, lunch):
    frozen_clock.set(NOW - dt.timedelta(minutes=30))
    presence_set(agent=alice, presence=Presence.AVAILABLE)
    presence_set(agent=bob, presence=Presence.BREAK, break_reason=lunch)
    campaign.acd_threshold = 2
    campaign.save()
    _conv(
        campaign,
        "1",
        state=ConversationState.ASSIGNED,
        agent=alice,
        queued_at=NOW - dt.timedelta(minutes=25),
        assigned_at=NOW - dt.timedelta(minutes=20),
        first_response_at=NOW - dt.timedelta(minutes=19),
    )
    _conv(
        campaign,
        "2",
        state=ConversationState.CLOSED,
        agent=alice,
        queued_at=NOW - dt.timedelta(minutes=50),
        assigned_at=NOW - dt.timedelta(minutes=49),
        closed_at=NOW - dt.timedelta(minutes=40),
    )
    _conv(
        campaign,
        "3",
        state=ConversationState.QUEUED,
        queued_at=NOW - dt.timedelta(seconds=90),
        queue_order=NOW - dt.timedelta(seconds=90),
        first_name="Olga",
    )
    _conv(
        campaign,
        "4",
        state=ConversationState.QUEUED,
        queued_at=NOW - dt.timedelta(seconds=10),
        queue_order=NOW - dt.timedelta(seconds=10),
        first_name="Pia",
    )

    snap = board_snapshot(campaign=campaign, now=NOW)

    rows = {row.username: row for row in snap.agents}
    assert rows["alice"].status == DisplayStatus.FREE
    assert rows["alice"].has_open_interaction and rows["alice"].active_now == 1
    assert rows["alice"].completed_today == 1
    assert rows["alice"].seconds_in_status == 30 * 60
    assert rows["alice"].chat_time_alarm  # 20 min > the 15 min default chat-time threshold
    assert rows["bob"].status == DisplayStatus.BREAK and rows["bob"].break_reason == "Lunch"
    assert not rows["bob"].has_open_interaction
    assert [(q.customer, q.position, q.seconds_on_hold, q.sl_breach) for q in snap.queue] == [
        ("Olga", 1, 90, True),
        ("Pia", 2, 10, False),
    ]
    assert snap.kpis.queue_length == 2 and snap.kpis.acd_alarm
    assert snap.kpis.chat_time_alarms == 1 and snap.kpis.sl_breaches == 1
    assert snap.kpis.stats.longest_wait_seconds == 90


def test_busy_when_at_capacity(campaign, alice):
    presence_set(agent=alice, presence=Presence.AVAILABLE)
    campaign.max_interactions_per_agent = 1
    campaign.save()
    _conv(campaign, "1", state=ConversationState.ASSIGNED, agent=alice, queued_at=NOW, assigned_at=NOW)
    [row] = [r for r in board_snapshot(campaign=campaign, now=NOW).agents if r.username == "alice"]
    assert row.status == DisplayStatus.BUSY


def test_snapshot_query_count_does_not_grow_with_traffic(campaign, alice, bob, django_assert_max_num_queries):
    build_traffic(campaign=campaign, agents=[alice, bob], day=NOW.date(), conversations=300)
    for index in range(10):
        make_user(f"agent{index}", "agent")
    with django_assert_max_num_queries(5):
        snap = board_snapshot(campaign=campaign, now=NOW + dt.timedelta(hours=12))
    assert snap.queue and snap.agents


def test_all_my_campaigns_is_bounded_and_merges(campaign, alice, bob, sam, django_assert_max_num_queries):
    other = campaign_create(
        fields={"name": "Beta", "page_name": "Beta", "timezone": "America/New_York"},
        ranges=[schedule.Range(schedule.ALL_WEEKDAYS, 0, schedule.MINUTES_PER_DAY)],
    )
    membership_set(campaign=other, members=[MemberSpec(agent_id=bob.pk)])
    campaign_set_supervisors(campaign=other, supervisor_ids=[sam.pk])
    _conv(
        campaign,
        "1",
        state=ConversationState.QUEUED,
        queued_at=NOW - dt.timedelta(seconds=5),
        queue_order=NOW,
    )
    _conv(
        other, "2", state=ConversationState.QUEUED, queued_at=NOW - dt.timedelta(seconds=50), queue_order=NOW
    )
    with django_assert_max_num_queries(6):
        snap = board_snapshot_for_user(user=sam, now=NOW)
    assert len(snap.campaigns) == 2
    assert sorted(row.username for row in snap.agents) == ["alice", "bob"]  # bob once, though in both
    assert [(q.campaign_name, q.position) for q in snap.queue] == [("Beta", 1), ("Acme Support", 1)]
    assert snap.kpis.stats.queued_now == 2


def test_board_pages_and_role_rules(client_for, campaign, ada, sam, alice):
    other_sup = make_user("sue", "supervisor")
    assert client_for(sam).get(reverse("monitoring:board", args=[campaign.pk])).status_code == 200
    assert client_for(sam).get(reverse("monitoring:board_all")).status_code == 200
    assert client_for(ada).get(reverse("monitoring:board_fragment", args=[campaign.pk])).status_code == 200
    assert client_for(alice).get(reverse("monitoring:board_all")).status_code == 403
    assert client_for(alice).get(reverse("monitoring:board", args=[campaign.pk])).status_code == 403
    assert client_for(other_sup).get(reverse("monitoring:board", args=[campaign.pk])).status_code == 403
    assert client_for(sam).get(reverse("monitoring:board", args=[99999])).status_code == 404


def test_board_page_shows_the_live_wiring_and_escapes_names(client_for, campaign, sam, alice):
    alice.first_name = "<script>alert(1)</script>"
    alice.save()
    _conv(
        campaign,
        "9",
        state=ConversationState.QUEUED,
        queued_at=NOW,
        queue_order=NOW,
        first_name="<img src=x onerror=alert(2)>",
    )
    html = client_for(sam).get(reverse("monitoring:board", args=[campaign.pk])).content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert 'data-refresh-on="agent.status_changed conversation.queued' in html
    assert 'hx-trigger="pd-refresh"' in html and "data-throttle-refresh" in html
    assert 'data-sort-key="name"' in html


def test_force_offline_records_who_and_why(client_for, campaign, sam, alice, published):
    presence_set(agent=alice, presence=Presence.AVAILABLE)
    response = client_for(sam).post(reverse("monitoring:agent_force_offline", args=[alice.pk]))
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.presence == Presence.OFFLINE
    change = PresenceChange.objects.filter(agent=alice).first()
    assert change is not None and change.changed_by == sam and "board" in change.note


def test_force_offline_refused_outside_scope(client_for, campaign, alice, bob):
    other_sup = make_user("sue", "supervisor")
    presence_set(agent=alice, presence=Presence.AVAILABLE)
    assert (
        client_for(other_sup).post(reverse("monitoring:agent_force_offline", args=[alice.pk])).status_code
        == 403
    )
    assert client_for(bob).post(reverse("monitoring:agent_force_offline", args=[alice.pk])).status_code == 403
    alice.refresh_from_db()
    assert alice.presence == Presence.AVAILABLE


def test_return_to_queue_from_the_board(client_for, campaign, sam, alice, bob):
    from pagedesk.conversations.models import ConversationEvent

    presence_set(agent=bob, presence=Presence.AVAILABLE)
    conversation = _conv(
        campaign,
        "7",
        state=ConversationState.ASSIGNED,
        agent=bob,
        queued_at=NOW,
        assigned_at=NOW,
        queue_order=NOW,
    )
    html = client_for(sam).get(reverse("monitoring:board", args=[campaign.pk])).content.decode()
    assert reverse("monitoring:conversation_return", args=[conversation.pk]) in html
    response = client_for(sam).post(reverse("monitoring:conversation_return", args=[conversation.pk]))
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.QUEUED and conversation.agent_id is None
    event = ConversationEvent.objects.filter(conversation=conversation, kind="returned_to_queue").get()
    assert event.actor == sam
    # An agent cannot use the supervisor's action.
    assert (
        client_for(alice).post(reverse("monitoring:conversation_return", args=[conversation.pk])).status_code
        == 403
    )


def test_board_names_customers_like_their_contact(campaign, alice):
    """The board reads three contact columns instead of whole rows; names must match Contact's own."""
    named = _conv(
        campaign, "1", state=ConversationState.QUEUED, queued_at=NOW, queue_order=NOW, first_name="Olga"
    )
    named.contact.last_name = "Novak"
    named.contact.save()
    unnamed = Contact.objects.create(page_id="p", psid="100200399")
    Conversation.objects.create(
        campaign=campaign, contact=unnamed, state=ConversationState.ASSIGNED, agent=alice, assigned_at=NOW
    )
    snap = board_snapshot(campaign=campaign, now=NOW)
    assert [(q.customer, q.psid) for q in snap.queue] == [("Olga Novak", "1")]
    [row] = [r for r in snap.agents if r.username == "alice"]
    assert [c.customer for c in row.conversations] == [unnamed.display_name]
    assert unnamed.display_name.endswith("0399")


def test_on_a_break_a_customer_waiting_for_an_answer_is_marked_on_the_chip(
    client_for, frozen_clock, campaign, sam, alice, lunch
):
    """A Break keeps the agent's conversations (issue 12 #2); the board shows who is left waiting."""
    frozen_clock.set(NOW - dt.timedelta(minutes=10))
    presence_set(agent=alice, presence=Presence.AVAILABLE)
    asked = NOW - dt.timedelta(minutes=3)
    waiting = _conv(
        campaign,
        "1",
        state=ConversationState.ASSIGNED,
        agent=alice,
        assigned_at=NOW - dt.timedelta(minutes=8),
        last_customer_message_at=asked,
        last_message_at=asked,
    )
    _conv(
        campaign,
        "2",
        state=ConversationState.ASSIGNED,
        agent=alice,
        assigned_at=NOW - dt.timedelta(minutes=8),
        last_customer_message_at=asked,
        last_message_at=NOW - dt.timedelta(minutes=1),  # answered
        first_name="Olga",
    )
    working = board_snapshot(campaign=campaign, now=NOW)
    [row] = [r for r in working.agents if r.username == "alice"]
    assert [c.waiting_since for c in row.conversations] == [None, None]  # Available: she is on it

    presence_set(agent=alice, presence=Presence.BREAK, break_reason=lunch)
    [row] = [r for r in board_snapshot(campaign=campaign, now=NOW).agents if r.username == "alice"]
    assert [(c.conversation_id, c.waiting_since) for c in row.conversations] == [
        (waiting.pk, asked),
        (waiting.pk + 1, None),
    ]
    html = client_for(sam).get(reverse("monitoring:board_fragment", args=[campaign.pk])).content.decode()
    assert html.count('data-testid="chip-waiting"') == 1
    assert f'data-tick-from="{asked.isoformat()}"' in html
