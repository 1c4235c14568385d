"""The role matrix: every endpoint answered for admin (token and session), supervisor, agent,
anonymous and a revoked token. Refusals are 403 (role) or 401 (no valid credentials), always in the
{"error": {"code", "message"}} shape, never a 404 that hides a campaign or a 500."""

from __future__ import annotations

import pytest

from pagedesk.accounts.models import Role
from pagedesk.accounts.services import api_token_create
from pagedesk.campaigns.models import Campaign
from pagedesk.campaigns.services import blocked_contact_add, canned_response_create, disposition_create
from tests.conftest import make_user
from tests.integration.api.conftest import CALLERS, error_of

pytestmark = pytest.mark.django_db

ADMIN_ONLY = {"admin": 200, "admin_session": 200, "supervisor": 403, "agent": 403}
ADMIN_CREATES = {"admin": 201, "admin_session": 201, "supervisor": 403, "agent": 403}
ADMIN_DELETES = {"admin": 204, "admin_session": 204, "supervisor": 403, "agent": 403}
# Read by admins, the campaign's supervisor (sam) and its member agents (alice).
CAMPAIGN_READERS = {"admin": 200, "admin_session": 200, "supervisor": 200, "agent": 200}
ANYONE = CAMPAIGN_READERS
# Presence of bob: admins, bob's supervisor; not another agent.
SUPERVISES_BOB = {"admin": 200, "admin_session": 200, "supervisor": 200, "agent": 403}
AGENT_ONLY = {"admin": 403, "admin_session": 403, "supervisor": 403, "agent": 200}
ANYONE_CREATES = {"admin": 201, "admin_session": 201, "supervisor": 201, "agent": 201}
# Another user's (carol's) token: nobody may revoke it, not even an administrator.
NOBODY = {"admin": 404, "admin_session": 404, "supervisor": 404, "agent": 404}

RANGE = {"weekdays": ["mon"], "from": "09:00", "to": "17:00"}

ENDPOINTS = [
    # users
    ("GET", "/users", None, ADMIN_ONLY),
    (
        "POST",
        "/users",
        {"username": "dora", "role": "agent", "password": "a-long-pass-phrase-1"},
        ADMIN_CREATES,
    ),
    ("GET", "/users/{alice}", None, ADMIN_ONLY),
    ("PATCH", "/users/{alice}", {"first_name": "Alicia"}, ADMIN_ONLY),
    ("POST", "/users/{alice}/unlock", None, ADMIN_ONLY),
    ("GET", "/me", None, ANYONE),
    # one's own API tokens
    ("GET", "/me/tokens", None, ANYONE),
    ("POST", "/me/tokens", {"name": "script"}, ANYONE_CREATES),
    ("DELETE", "/me/tokens/{carols_token}", None, NOBODY),
    # presence
    ("GET", "/me/presence", None, AGENT_ONLY),
    ("PUT", "/me/presence", {"presence": "available"}, AGENT_ONLY),
    ("GET", "/me/presence/history", None, AGENT_ONLY),
    ("GET", "/agents/{bob}/presence", None, SUPERVISES_BOB),
    ("PUT", "/agents/{bob}/presence", {"presence": "available"}, SUPERVISES_BOB),
    ("GET", "/agents/{bob}/presence/history", None, SUPERVISES_BOB),
    # break reasons
    ("GET", "/break-reasons", None, ANYONE),
    ("POST", "/break-reasons", {"name": "Training"}, ADMIN_CREATES),
    ("PATCH", "/break-reasons/{lunch}", {"active": False}, ADMIN_ONLY),
    # campaigns
    ("GET", "/campaigns", None, ANYONE),
    ("POST", "/campaigns", {"name": "New", "page_name": "New page"}, ADMIN_CREATES),
    ("GET", "/campaigns/{c}", None, CAMPAIGN_READERS),
    ("PUT", "/campaigns/{c}", {"name": "Acme Support", "page_name": "Acme"}, ADMIN_ONLY),
    ("PATCH", "/campaigns/{c}", {"enabled": False}, ADMIN_ONLY),
    ("DELETE", "/campaigns/{c}", None, ADMIN_DELETES),
    ("GET", "/campaigns/{c}/schedule", None, CAMPAIGN_READERS),
    ("PUT", "/campaigns/{c}/schedule", {"ranges": [RANGE]}, ADMIN_ONLY),
    ("GET", "/campaigns/{c}/holidays", None, CAMPAIGN_READERS),
    ("PUT", "/campaigns/{c}/holidays", {"holidays": [{"date": "2026-12-25"}]}, ADMIN_ONLY),
    ("GET", "/campaigns/{c}/members", None, CAMPAIGN_READERS),
    ("PUT", "/campaigns/{c}/members", {"members": [{"agent_id": "{bob}"}]}, ADMIN_ONLY),
    ("POST", "/campaigns/{c}/members", {"agent_id": "{carol}"}, ADMIN_CREATES),
    ("PATCH", "/campaigns/{c}/members/{bob}", {"penalty": 5}, ADMIN_ONLY),
    ("DELETE", "/campaigns/{c}/members/{bob}", None, ADMIN_DELETES),
    ("GET", "/campaigns/{c}/supervisors", None, CAMPAIGN_READERS),
    ("PUT", "/campaigns/{c}/supervisors", {"supervisor_ids": []}, ADMIN_ONLY),
    ("GET", "/campaigns/{c}/canned-responses", None, CAMPAIGN_READERS),
    ("POST", "/campaigns/{c}/canned-responses", {"title": "Hi", "text": "Hello"}, ADMIN_CREATES),
    ("PATCH", "/campaigns/{c}/canned-responses/{canned}", {"title": "Hey"}, ADMIN_ONLY),
    ("PUT", "/campaigns/{c}/canned-responses/order", {"ids": ["{canned}"]}, ADMIN_ONLY),
    ("DELETE", "/campaigns/{c}/canned-responses/{canned}", None, ADMIN_DELETES),
    ("GET", "/campaigns/{c}/dispositions", None, CAMPAIGN_READERS),
    ("POST", "/campaigns/{c}/dispositions", {"name": "Callback"}, ADMIN_CREATES),
    ("PATCH", "/campaigns/{c}/dispositions/{disposition}", {"name": "Resolved"}, ADMIN_ONLY),
    ("DELETE", "/campaigns/{c}/dispositions/{disposition}", None, ADMIN_DELETES),
    ("GET", "/campaigns/{c}/blocked-contacts", None, CAMPAIGN_READERS),
    ("POST", "/campaigns/{c}/blocked-contacts", {"psid": "123456", "note": "spam"}, ADMIN_CREATES),
    ("DELETE", "/campaigns/{c}/blocked-contacts/{blocked}", None, ADMIN_DELETES),
]


@pytest.fixture
def world(campaign, ada, alice, bob, lunch) -> dict[str, int]:
    carol = make_user("carol", Role.AGENT)
    return {
        "c": campaign.pk,
        "alice": alice.pk,
        "bob": bob.pk,
        "carol": carol.pk,
        "carols_token": api_token_create(user=carol, name="carol's")[0].pk,
        "lunch": lunch.pk,
        "canned": canned_response_create(campaign=campaign, title="Bye", text="Goodbye").pk,
        "disposition": disposition_create(campaign=campaign, name="Solved").pk,
        "blocked": blocked_contact_add(campaign=campaign, psid="999").pk,
    }


def _fill(value, ids: dict[str, int]):  # type: ignore[no-untyped-def]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
        return ids[value[1:-1]]
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize("who", CALLERS)
@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _b, _e in ENDPOINTS]
)
def test_role_matrix(caller, world, who, method, path, body, expected):
    response = caller(who).call(method, _fill(path, world), _fill(body, world))

    want = expected.get(who, 401)
    assert response.status_code == want, (who, response.content)
    if want >= 400:
        error = error_of(response)
        assert error["code"] in {"forbidden", "unauthenticated", "not_an_agent"} | (
            {"not_found"} if want == 404 else set()
        )


def test_every_api_path_is_in_the_matrix(admin_api):
    """A new endpoint must be added to ENDPOINTS (and so get its role checks tested)."""
    paths = admin_api.get("/openapi.json").json()["paths"]
    # Only this issue's routers; other apps' routers (monitoring) test their own role rules.
    documented = {
        (method.upper(), path.removeprefix("/api/v1"))
        for path, operations in paths.items()
        for method, operation in operations.items()
        if operation["operationId"].startswith(("pagedesk_accounts_api_", "pagedesk_campaigns_api_"))
    }
    covered = {(m, p.replace("{c}", "{campaign_id}")) for m, p, _b, _e in ENDPOINTS}
    normalise = {
        "{alice}": "{user_id}",
        "{bob}": "{agent_id}",
        "{lunch}": "{reason_id}",
        "{canned}": "{canned_id}",
        "{disposition}": "{disposition_id}",
        "{blocked}": "{blocked_id}",
        "{carols_token}": "{token_id}",
    }
    normalised = set()
    for method, path in covered:
        for old, new in normalise.items():
            path = path.replace(old, new)
        normalised.add((method, path))
    assert documented == normalised


def test_supervisor_and_agent_outside_a_campaign_get_403_not_404(caller, world, alice, bob):
    other = Campaign.objects.create(name="Other", page_name="Other")
    for who in ("supervisor", "agent"):
        for path in (
            f"/campaigns/{other.pk}",
            f"/campaigns/{other.pk}/members",
            f"/campaigns/{other.pk}/schedule",
        ):
            response = caller(who).get(path)
            assert response.status_code == 403, (who, path)
            assert error_of(response)["code"] == "forbidden"


def test_supervisor_cannot_touch_agents_outside_their_campaigns(caller, world):
    response = caller("supervisor").put(f"/agents/{world['carol']}/presence", {"presence": "available"})
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"
