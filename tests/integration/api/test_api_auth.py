"""Authentication, CSRF, error shape, the OpenAPI document and the `pagedesk apitoken` command."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from pagedesk.accounts.models import BreakReason
from pagedesk.accounts.services import user_update
from tests.integration.api.conftest import BASE, bearer, error_of

pytestmark = pytest.mark.django_db


def test_anonymous_read_and_write_get_401_not_a_csrf_403(api_as):
    for response in (api_as(None).get("/me"), api_as(None).post("/break-reasons", {"name": "Nap"})):
        assert response.status_code == 401
        assert error_of(response)["code"] == "unauthenticated"
    assert not BreakReason.objects.exists()


@pytest.mark.parametrize("header", ["Bearer pd_not-a-real-token", "Bearer ", "Basic YWRhOnB3", "pd_token"])
def test_unknown_or_malformed_token_gets_401(ada, header):
    client = Client()
    for response in (
        client.get(f"{BASE}/me", HTTP_AUTHORIZATION=header),
        client.post(
            f"{BASE}/break-reasons",
            {"name": "Nap"},
            content_type="application/json",
            HTTP_AUTHORIZATION=header,
        ),
    ):
        assert response.status_code == 401, header
        assert error_of(response)["code"] == "unauthenticated"
    assert not BreakReason.objects.exists()


def test_revoked_token_gets_401_on_reads_and_writes(revoked_api):
    assert revoked_api.get("/me").status_code == 401
    response = revoked_api.post("/break-reasons", {"name": "Nap"})
    assert response.status_code == 401
    assert not BreakReason.objects.exists()


def test_a_deactivated_users_token_and_session_stop_working(api_as, alice):
    token_api, session_api = api_as(alice), api_as(alice, via="session")
    assert token_api.get("/me").status_code == 200
    user_update(user=alice, is_active=False)
    assert token_api.get("/me").status_code == 401
    assert session_api.get("/me").status_code == 401


def test_bearer_token_needs_no_csrf_token(ada):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        f"{BASE}/break-reasons", data={"name": "Nap"}, content_type="application/json", **bearer(ada)
    )
    assert response.status_code == 201


def test_session_writes_need_the_csrf_token_reads_do_not(ada):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ada)
    assert client.get(f"{BASE}/me").json()["username"] == "ada"

    refused = client.post(f"{BASE}/break-reasons", data={"name": "Nap"}, content_type="application/json")
    assert refused.status_code == 403
    assert error_of(refused)["code"] == "csrf_failed"
    assert not BreakReason.objects.exists()

    secret = "a" * 32
    client.cookies["csrftoken"] = secret
    accepted = client.post(
        f"{BASE}/break-reasons",
        data={"name": "Nap"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=secret,
    )
    assert accepted.status_code == 201


def test_apitoken_command_prints_a_token_the_api_accepts(ada):
    out = StringIO()
    call_command("apitoken", "--username", "ada", stdout=out)
    raw = out.getvalue().strip()

    response = Client().get(f"{BASE}/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    assert response.json()["username"] == "ada"


def test_openapi_document_loads_and_lists_the_paths(api_as):
    response = api_as(None).get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    paths = set(document["paths"])
    for path in (
        "/api/v1/users",
        "/api/v1/users/{user_id}",
        "/api/v1/me",
        "/api/v1/me/presence",
        "/api/v1/agents/{agent_id}/presence",
        "/api/v1/agents/{agent_id}/presence/history",
        "/api/v1/break-reasons",
        "/api/v1/campaigns",
        "/api/v1/campaigns/{campaign_id}",
        "/api/v1/campaigns/{campaign_id}/schedule",
        "/api/v1/campaigns/{campaign_id}/holidays",
        "/api/v1/campaigns/{campaign_id}/members",
        "/api/v1/campaigns/{campaign_id}/members/{agent_id}",
        "/api/v1/campaigns/{campaign_id}/supervisors",
        "/api/v1/campaigns/{campaign_id}/canned-responses",
        "/api/v1/campaigns/{campaign_id}/canned-responses/order",
        "/api/v1/campaigns/{campaign_id}/dispositions",
        "/api/v1/campaigns/{campaign_id}/blocked-contacts",
    ):
        assert path in paths, path
    schemes = document["components"]["securitySchemes"]
    assert {scheme["type"] for scheme in schemes.values()} == {"http", "apiKey"}
    # Schedule ranges are documented with the names clients send: "from" and "to".
    range_schema = document["components"]["schemas"]["RangeSchema"]
    assert {"weekdays", "from", "to"} <= set(range_schema["properties"])


def test_docs_page_loads():
    response = Client().get(f"{BASE}/docs")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_malformed_json_is_a_400_with_the_error_shape(admin_api):
    response = admin_api.call("POST", "/break-reasons", "{not json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_request"
    assert not BreakReason.objects.exists()


def test_a_body_of_the_wrong_shape_is_a_422_naming_the_field(admin_api):
    for body in ([], "42", {"name": 42}, {}):
        response = admin_api.post("/break-reasons", body)
        assert response.status_code == 422, body
        assert error_of(response)["code"] == "invalid"


@pytest.mark.parametrize("bad_id", ["abc", "1.5", "99999999999999999999999999", "-1"])
def test_bad_or_huge_path_ids_are_a_4xx_never_a_500(admin_api, campaign, bad_id):
    for path in (f"/campaigns/{bad_id}", f"/users/{bad_id}", f"/campaigns/{campaign.pk}/members/{bad_id}"):
        response = admin_api.get(path) if "members" not in path else admin_api.delete(path)
        assert response.status_code in (404, 422), (path, response.status_code)
        error_of(response)


def test_an_unbounded_id_in_any_router_is_a_422_not_a_500(admin_api, campaign):
    # The monitoring router takes a plain int; the API-wide handler still answers with the error shape.
    response = admin_api.get("/campaigns/99999999999999999999999999/stats")
    assert response.status_code in (404, 422)
    error_of(response)
