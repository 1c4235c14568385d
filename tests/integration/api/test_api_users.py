"""Users, /me and break reasons over the API."""

from __future__ import annotations

import pytest

from pagedesk.accounts.models import BreakReason, User
from tests.conftest import PASSWORD
from tests.integration.api.conftest import error_of
from tests.integration.api.writes import make_integration

pytestmark = pytest.mark.django_db

NEW_USER = {
    "username": "dora",
    "role": "agent",
    "password": "a-long-pass-phrase-1",
    "first_name": "Dora",
    "email": "dora@example.com",
}


def test_admin_lists_users_and_filters_by_role(admin_api, sam, alice, bob):
    everyone = admin_api.get("/users").json()["items"]
    assert [u["username"] for u in everyone] == ["ada", "alice", "bob", "sam"]
    agents = admin_api.get("/users", role="agent").json()["items"]
    assert [u["username"] for u in agents] == ["alice", "bob"]
    assert agents[0]["presence"] == "offline"
    assert admin_api.get("/users", role="boss").status_code == 422


def test_admin_creates_a_user_who_can_log_in(admin_api):
    response = admin_api.post("/users", NEW_USER)
    assert response.status_code == 201
    body = response.json()
    assert (body["username"], body["role"], body["email"], body["is_active"]) == (
        "dora",
        "agent",
        "dora@example.com",
        True,
    )
    assert "password" not in body
    assert User.objects.get(username="dora").check_password(NEW_USER["password"])


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"password": "123"}, 400, "password"),  # the password validators
        ({"password": "dora"}, 400, "password"),
        ({"role": "boss"}, 422, "role"),
        ({"email": "not-an-email"}, 422, "email"),
        ({"username": ""}, 422, "username"),
        ({"username": "bad name!"}, 400, "username"),
        ({"username": "x" * 151}, 422, "username"),
        ({"first_name": "x" * 151}, 422, "first_name"),
        ({"first_name": 7}, 422, "first_name"),
        ({"username": "ada"}, 409, "username"),
    ],
)
def test_create_user_rejects_bad_input_and_writes_nothing(admin_api, change, status, field):
    before = User.objects.count()
    response = admin_api.post("/users", {**NEW_USER, **change})
    assert response.status_code == status, response.content
    error = error_of(response)
    assert field in error.get("fields", {}) or error.get("field") == field, error
    assert User.objects.count() == before


def test_get_user_and_unknown_id(admin_api, alice):
    assert admin_api.get(f"/users/{alice.pk}").json()["username"] == "alice"
    response = admin_api.get("/users/424242")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_an_integrations_user_is_not_a_user_here(admin_api, client_for, ada, campaign):
    """Integrations are managed under /integrations: an admin reaching its user here could make it a
    person (a role, a password) behind the integration's back."""
    bot = make_integration(campaign).user
    for response in (
        admin_api.get(f"/users/{bot.pk}"),
        admin_api.patch(f"/users/{bot.pk}", {"role": "admin", "password": "a-long-pass-phrase-1"}),
        admin_api.post(f"/users/{bot.pk}/unlock"),
    ):
        assert response.status_code == 404, response.content
        assert error_of(response)["code"] == "not_found"
    bot.refresh_from_db()
    assert bot.role == "integration" and not bot.has_usable_password()
    assert bot.pk not in [u["id"] for u in admin_api.get("/users").json()["items"]]
    # The user pages refuse it the same way.
    assert client_for(ada).get(f"/accounts/users/{bot.pk}/").status_code == 404
    assert client_for(ada).post(f"/accounts/users/{bot.pk}/", {"role": "admin"}).status_code == 404


def test_admin_updates_role_names_email_active_and_password(admin_api, alice):
    response = admin_api.patch(
        f"/users/{alice.pk}",
        {
            "role": "supervisor",
            "first_name": "Alicia",
            "last_name": "Liddell",
            "email": "alicia@example.com",
            "is_active": False,
            "password": "another-long-phrase-2",
        },
    )
    assert response.status_code == 200, response.content
    alice.refresh_from_db()
    assert (alice.role, alice.first_name, alice.last_name, alice.email, alice.is_active) == (
        "supervisor",
        "Alicia",
        "Liddell",
        "alicia@example.com",
        False,
    )
    assert alice.check_password("another-long-phrase-2")


def test_update_leaves_omitted_fields_alone(admin_api, alice):
    admin_api.patch(f"/users/{alice.pk}", {"last_name": "L"})
    alice.refresh_from_db()
    assert (alice.first_name, alice.role, alice.is_active) == ("Alice", "agent", True)
    assert alice.check_password(PASSWORD)


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"password": "123"}, 400),
        ({"role": None}, 422),
        ({"is_active": "maybe"}, 422),
        ({"email": "nope"}, 422),
        # Longer than RFC 5321's 64 characters before the @: Django took it (found by schemathesis).
        ({"email": "a" * 65 + "@acme.example"}, 422),
        ({"display_name": "x" * 121}, 422),
    ],
)
def test_update_rejects_bad_input_without_partial_write(admin_api, alice, change, status):
    response = admin_api.patch(f"/users/{alice.pk}", {"first_name": "Changed", **change})
    assert response.status_code == status, response.content
    error_of(response)
    alice.refresh_from_db()
    assert alice.first_name == "Alice"


def test_admin_cannot_lock_themselves_out(admin_api, ada):
    for change in ({"role": "agent"}, {"is_active": False}):
        response = admin_api.patch(f"/users/{ada.pk}", change)
        assert response.status_code == 409
        assert error_of(response)["code"] == "cannot_lock_out_self"
    ada.refresh_from_db()
    assert (ada.role, ada.is_active) == ("admin", True)


@pytest.mark.parametrize("who", ["ada", "sam", "alice"])
def test_me_answers_for_every_role(api_as, request, who):
    user = request.getfixturevalue(who)
    body = api_as(user).get("/me").json()
    assert (body["id"], body["username"], body["role"]) == (user.pk, user.username, user.role)


# --- Break reasons ---------------------------------------------------------------------------------


def test_everyone_lists_active_break_reasons_admins_also_inactive(admin_api, api_as, alice, lunch):
    BreakReason.objects.create(name="Retired", active=False)
    assert [r["name"] for r in api_as(alice).get("/break-reasons").json()["items"]] == ["Lunch"]
    assert api_as(alice).get("/break-reasons", include_inactive="true").status_code == 403
    assert {r["name"] for r in admin_api.get("/break-reasons", include_inactive="true").json()["items"]} == {
        "Lunch",
        "Retired",
    }


def test_admin_creates_renames_and_retires_a_break_reason(admin_api):
    created = admin_api.post("/break-reasons", {"name": "Training"})
    assert created.status_code == 201
    reason_id = created.json()["id"]
    renamed = admin_api.patch(f"/break-reasons/{reason_id}", {"name": "Coaching"})
    assert renamed.json()["name"] == "Coaching"
    retired = admin_api.patch(f"/break-reasons/{reason_id}", {"active": False})
    assert retired.json() == {"id": reason_id, "name": "Coaching", "position": 0, "active": False}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "lunch"}, 409),
        ({"name": ""}, 422),
        ({"name": "x" * 61}, 422),
        ({"name": None}, 422),
        ({}, 422),
    ],
)
def test_break_reason_bad_input(admin_api, lunch, body, status):
    response = admin_api.post("/break-reasons", body)
    assert response.status_code == status
    error_of(response)
    assert BreakReason.objects.count() == 1


def test_break_reason_rename_clash_and_unknown_id(admin_api, lunch):
    other = BreakReason.objects.create(name="Training", position=1)
    response = admin_api.patch(f"/break-reasons/{other.pk}", {"name": "LUNCH"})
    assert response.status_code == 409
    other.refresh_from_db()
    assert other.name == "Training"
    assert admin_api.patch("/break-reasons/9999", {"name": "X"}).status_code == 404
