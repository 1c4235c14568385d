from __future__ import annotations

import datetime as dt

import pytest

from pagedesk.accounts.models import DisplayStatus, Presence, PresenceChange
from pagedesk.accounts.selectors import display_status, seconds_in_status
from pagedesk.accounts.services import break_reason_update
from pagedesk.core.errors import ApplicationError
from pagedesk.realtime import groups
from pagedesk.routing.services import presence_set

pytestmark = pytest.mark.django_db(transaction=True)


def test_presence_change_is_timestamped_recorded_and_published(
    frozen_clock, alice, campaign, lunch, published, sam
):
    frozen_clock.advance(minutes=5)
    presence_set(agent=alice, presence=Presence.BREAK, break_reason=lunch, changed_by=alice)

    alice.refresh_from_db()
    assert alice.presence == Presence.BREAK
    assert alice.break_reason == lunch
    last = PresenceChange.objects.filter(agent=alice).first()
    assert last is not None
    assert (last.presence, last.break_reason, last.changed_by) == (Presence.BREAK, lunch, alice)
    assert last.changed_at == alice.presence_changed_at

    frozen_clock.advance(seconds=42)
    assert seconds_in_status(agent=alice) == 42

    [(event, audience)] = published
    assert event.type == "agent.status_changed"
    assert event.break_reason == "Lunch"
    assert audience == sorted([groups.agent(alice.pk), groups.supervisors(campaign.pk)])


def test_setting_the_same_presence_again_keeps_time_in_status(frozen_clock, alice, published):
    presence_set(agent=alice, presence=Presence.AVAILABLE)
    first = alice.presence_changed_at
    frozen_clock.advance(minutes=1)
    presence_set(agent=alice, presence=Presence.AVAILABLE)
    alice.refresh_from_db()
    assert alice.presence_changed_at == first
    assert len(published) == 1


def test_break_needs_an_active_reason(alice, lunch):
    with pytest.raises(ApplicationError) as missing:
        presence_set(agent=alice, presence=Presence.BREAK)
    assert missing.value.code == "break_reason_required"
    break_reason_update(reason=lunch, active=False)
    with pytest.raises(ApplicationError) as inactive:
        presence_set(agent=alice, presence=Presence.BREAK, break_reason=lunch)
    assert inactive.value.code == "break_reason_inactive"
    alice.refresh_from_db()
    assert alice.presence == Presence.OFFLINE


def test_unknown_presence_and_non_agents_are_refused(alice, sam):
    with pytest.raises(ApplicationError):
        presence_set(agent=alice, presence="asleep")
    with pytest.raises(ApplicationError) as not_agent:
        presence_set(agent=sam, presence=Presence.AVAILABLE)
    assert not_agent.value.status == 409


def test_leaving_a_break_clears_the_reason(alice, lunch):
    presence_set(agent=alice, presence=Presence.BREAK, break_reason=lunch)
    presence_set(agent=alice, presence=Presence.AVAILABLE)
    alice.refresh_from_db()
    assert alice.break_reason is None


@pytest.mark.parametrize(
    ("presence", "load", "expected"),
    [
        (Presence.AVAILABLE, 0, DisplayStatus.FREE),
        (Presence.AVAILABLE, 2, DisplayStatus.FREE),
        (Presence.AVAILABLE, 3, DisplayStatus.BUSY),
        (Presence.BREAK, 0, DisplayStatus.BREAK),
        (Presence.WRAP_UP, 1, DisplayStatus.WRAP_UP),
        (Presence.OFFLINE, 2, DisplayStatus.OFFLINE),
    ],
)
def test_display_status_is_derived_from_presence_and_load(presence, load, expected):
    assert display_status(presence=presence, load=load, max_load=3) == expected


def test_agent_switches_presence_from_the_page(client_for, alice, lunch):
    client = client_for(alice)
    response = client.post(
        "/inbox/me/presence/", {"presence": "break", "break_reason": lunch.pk}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "Lunch" in response.content.decode()
    alice.refresh_from_db()
    assert alice.presence == Presence.BREAK
    assert alice.presence_changed_at <= dt.datetime.now(dt.UTC)


def test_only_agents_switch_presence(client_for, sam):
    assert client_for(sam).post("/inbox/me/presence/", {"presence": "available"}).status_code == 403
