"""Agent presence over the API: agents set their own, admins anyone's, supervisors their agents'."""

from __future__ import annotations

import pytest

from pagedesk.accounts.models import Presence, PresenceChange, Role
from pagedesk.accounts.services import break_reason_update
from tests.conftest import make_user
from tests.integration.api.conftest import error_of

pytestmark = pytest.mark.django_db


def test_agent_goes_available_then_on_a_break_then_offline(frozen_clock, api_as, alice, lunch):
    api = api_as(alice)
    assert api.get("/me/presence").json()["presence"] == "offline"

    response = api.put("/me/presence", {"presence": "available"})
    assert response.status_code == 200
    assert response.json()["presence"] == "available"

    frozen_clock.advance(seconds=30)
    on_break = api.put("/me/presence", {"presence": "break", "break_reason_id": lunch.pk}).json()
    assert on_break["presence"] == "break"
    assert on_break["break_reason"] == {"id": lunch.pk, "name": "Lunch"}

    frozen_clock.advance(seconds=12)
    assert api.get("/me/presence").json()["seconds_in_status"] == 12
    api.put("/me/presence", {"presence": "offline"})

    history = api.get("/me/presence/history").json()
    assert [h["presence"] for h in history] == ["offline", "break", "available", "offline"]
    assert history[0]["changed_by"]["username"] == "alice"
    assert api.get("/me/presence/history", limit=2).json() == history[:2]


def test_admin_and_supervisor_set_an_agents_presence_and_are_recorded(api_as, ada, sam, bob, campaign):
    assert api_as(ada).put(f"/agents/{bob.pk}/presence", {"presence": "available"}).status_code == 200
    assert (
        api_as(sam)
        .put(f"/agents/{bob.pk}/presence", {"presence": "offline", "note": "Shift over"})
        .status_code
        == 200
    )

    changes = list(PresenceChange.objects.filter(agent=bob)[:2])
    assert [(c.presence, c.changed_by, c.note) for c in changes] == [
        (Presence.OFFLINE, sam, "Shift over"),
        (Presence.AVAILABLE, ada, ""),
    ]
    history = api_as(sam).get(f"/agents/{bob.pk}/presence/history").json()
    assert history[0]["changed_by"]["username"] == "sam"


def test_supervisor_of_another_campaign_and_other_agents_are_refused(api_as, alice, bob, campaign):
    other_supervisor = make_user("sue", Role.SUPERVISOR)
    for api in (api_as(other_supervisor), api_as(alice)):
        response = api.put(f"/agents/{bob.pk}/presence", {"presence": "available"})
        assert response.status_code == 403
        assert error_of(response)["code"] == "forbidden"
        assert api.get(f"/agents/{bob.pk}/presence/history").status_code == 403
    bob.refresh_from_db()
    assert bob.presence == Presence.OFFLINE


def test_non_agents_have_no_presence(api_as, ada, sam):
    response = api_as(ada).put("/me/presence", {"presence": "available"})
    assert response.status_code == 403
    assert error_of(response)["code"] == "not_an_agent"
    response = api_as(ada).get(f"/agents/{sam.pk}/presence")
    assert response.status_code == 404
    assert api_as(ada).get("/agents/424242/presence").status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"presence": "break"}, 400, "break_reason_required"),
        ({"presence": "break", "break_reason_id": 9999}, 400, "unknown_break_reason"),
        ({"presence": "wrap_up"}, 422, "invalid"),
        ({"presence": "asleep"}, 422, "invalid"),
        ({"presence": 1}, 422, "invalid"),
        ({"presence": "available", "note": "x" * 201}, 422, "invalid"),
        ({}, 422, "invalid"),
    ],
)
def test_bad_presence_input_changes_nothing(api_as, alice, lunch, body, status, code):
    response = api_as(alice).put("/me/presence", body)
    assert response.status_code == status, response.content
    assert error_of(response)["code"] == code
    alice.refresh_from_db()
    assert alice.presence == Presence.OFFLINE
    assert PresenceChange.objects.filter(agent=alice).count() == 1


def test_a_retired_break_reason_is_refused(api_as, alice, lunch):
    break_reason_update(reason=lunch, active=False)
    response = api_as(alice).put("/me/presence", {"presence": "break", "break_reason_id": lunch.pk})
    assert response.status_code == 400
    assert error_of(response)["code"] == "break_reason_inactive"


def test_history_limit_is_bounded(api_as, alice):
    for limit in (0, 501, "many"):
        assert api_as(alice).get("/me/presence/history", limit=limit).status_code == 422
