"""Members (order and penalty) and supervisors over the API."""

from __future__ import annotations

import pytest

from pagedesk.accounts.models import Role
from tests.conftest import make_user
from tests.integration.api.conftest import error_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def carol(db):  # type: ignore[no-untyped-def]
    return make_user("carol", Role.AGENT)


def members(campaign):  # type: ignore[no-untyped-def]
    return list(
        campaign.memberships.order_by("position").values_list("agent__username", "position", "penalty")
    )


def test_members_are_listed_in_order_with_presence(api_as, alice, campaign):
    body = api_as(alice).get(f"/campaigns/{campaign.pk}/members").json()
    assert [(m["username"], m["position"], m["penalty"], m["presence"]) for m in body] == [
        ("alice", 0, 0, "offline"),
        ("bob", 1, 0, "offline"),
    ]
    assert body[0]["agent_id"] == alice.pk


def test_put_replaces_members_in_the_given_order(admin_api, campaign, bob, carol):
    body = {"members": [{"agent_id": carol.pk, "penalty": 10}, {"agent_id": bob.pk}]}
    response = admin_api.put(f"/campaigns/{campaign.pk}/members", body)
    assert response.status_code == 200, response.content
    assert [m["username"] for m in response.json()] == ["carol", "bob"]
    assert members(campaign) == [("carol", 0, 10), ("bob", 1, 0)]


@pytest.mark.parametrize(
    ("entry", "status", "code"),
    [
        ("sam", 400, "not_an_agent"),
        ("ada", 400, "not_an_agent"),
        ({"agent_id": 4242}, 400, "unknown_agent"),
        ("bob", 400, "duplicate_member"),
        ({"agent_id": "carol"}, 422, "invalid"),
        ({"penalty": 101}, 422, "invalid"),
        ({"penalty": -1}, 422, "invalid"),
        ({"agent_id": 10**30}, 422, "invalid"),
    ],
)
def test_put_members_bad_input_changes_nothing(admin_api, request, campaign, bob, carol, entry, status, code):
    if isinstance(entry, str):
        entry = {"agent_id": request.getfixturevalue(entry).pk}
    elif "agent_id" not in entry:
        entry = {"agent_id": carol.pk, **entry}
    before = members(campaign)
    response = admin_api.put(f"/campaigns/{campaign.pk}/members", {"members": [{"agent_id": bob.pk}, entry]})
    assert response.status_code == status, response.content
    assert error_of(response)["code"] == code
    assert members(campaign) == before


def test_add_patch_and_remove_a_member(admin_api, campaign, alice, bob, carol):
    added = admin_api.post(f"/campaigns/{campaign.pk}/members", {"agent_id": carol.pk, "penalty": 40})
    assert added.status_code == 201
    assert (added.json()["position"], added.json()["penalty"]) == (2, 40)

    moved = admin_api.patch(f"/campaigns/{campaign.pk}/members/{carol.pk}", {"position": 0, "penalty": 5})
    assert moved.status_code == 200
    assert members(campaign) == [("carol", 0, 5), ("alice", 1, 0), ("bob", 2, 0)]

    assert admin_api.delete(f"/campaigns/{campaign.pk}/members/{alice.pk}").status_code == 204
    assert members(campaign) == [("carol", 0, 5), ("bob", 1, 0)]


def test_member_add_and_patch_refusals(admin_api, campaign, alice, sam, carol):
    duplicate = admin_api.post(f"/campaigns/{campaign.pk}/members", {"agent_id": alice.pk})
    assert (duplicate.status_code, error_of(duplicate)["code"]) == (409, "duplicate_member")
    supervisor = admin_api.post(f"/campaigns/{campaign.pk}/members", {"agent_id": sam.pk})
    assert (supervisor.status_code, error_of(supervisor)["code"]) == (400, "not_an_agent")
    assert (
        admin_api.post(
            f"/campaigns/{campaign.pk}/members", {"agent_id": carol.pk, "penalty": 101}
        ).status_code
        == 422
    )

    not_member = admin_api.patch(f"/campaigns/{campaign.pk}/members/{carol.pk}", {"penalty": 1})
    assert (not_member.status_code, error_of(not_member)["code"]) == (404, "not_found")
    assert admin_api.delete(f"/campaigns/{campaign.pk}/members/{carol.pk}").status_code == 404
    for bad in ({"penalty": 500}, {"position": -1}, {"penalty": None}, {"position": "first"}):
        response = admin_api.patch(f"/campaigns/{campaign.pk}/members/{alice.pk}", bad)
        assert response.status_code == 422, bad
    assert members(campaign) == [("alice", 0, 0), ("bob", 1, 0)]


def test_supervisors_get_and_put(admin_api, api_as, campaign, sam, alice):
    sue = make_user("sue", Role.SUPERVISOR)
    assert [s["username"] for s in api_as(alice).get(f"/campaigns/{campaign.pk}/supervisors").json()] == [
        "sam"
    ]
    response = admin_api.put(f"/campaigns/{campaign.pk}/supervisors", {"supervisor_ids": [sue.pk, sam.pk]})
    assert [s["username"] for s in response.json()] == ["sam", "sue"]
    # Sue now reads the campaign.
    assert api_as(sue).get(f"/campaigns/{campaign.pk}").status_code == 200


@pytest.mark.parametrize(
    ("who", "code"), [("alice", "not_a_supervisor"), ("ada", "not_a_supervisor"), (None, "unknown_user")]
)
def test_supervisors_must_be_supervisors(admin_api, request, campaign, sam, who, code):
    user_id = request.getfixturevalue(who).pk if who else 4242
    response = admin_api.put(f"/campaigns/{campaign.pk}/supervisors", {"supervisor_ids": [user_id]})
    assert response.status_code == 400
    assert error_of(response)["code"] == code
    assert list(campaign.supervisors.all()) == [sam]
