"""One's own API tokens over the API (/me/tokens), the twin of the "API tokens" page: list, create
(the raw token answered once), revoke; another user's token is not found, and an integration's
tokens are its administrators' (403)."""

from __future__ import annotations

import pytest
from django.test import Client

from pagedesk.accounts.models import ApiToken, hash_token
from tests.integration.api.conftest import ApiClient, error_of
from tests.integration.api.writes import integration_api, make_integration

pytestmark = pytest.mark.django_db


def bearer_client(raw: str) -> ApiClient:
    return ApiClient(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw}"})


@pytest.mark.parametrize("who", ["ada", "sam", "alice"])
def test_a_person_creates_a_token_shown_once_that_acts_as_them(api_as, request, who):
    user = request.getfixturevalue(who)
    api = api_as(user, via="session")
    created = api.post("/me/tokens", {"name": "Reporting script"})
    assert created.status_code == 201, created.content
    body = created.json()
    raw = body["token"]
    assert raw.startswith(body["prefix"]) and body["name"] == "Reporting script"
    assert body["revoked_at"] is None
    stored = ApiToken.objects.get(pk=body["id"])
    assert stored.user == user and stored.token_hash == hash_token(raw)
    me = bearer_client(raw).get("/me")
    assert me.status_code == 200 and me.json()["username"] == user.username
    listed = api.get("/me/tokens").json()
    assert [t["id"] for t in listed["items"]] == [body["id"]] and listed["count"] == 1
    assert "token" not in listed["items"][0]
    assert listed["items"][0]["last_used_at"] is not None


def test_the_list_is_newest_first_with_revoked_ones_marked(api_as, alice):
    api = api_as(alice, via="session")
    first = api.post("/me/tokens", {"name": "old"}).json()
    second = api.post("/me/tokens", {}).json()
    assert second["name"] == ""
    assert api.delete(f"/me/tokens/{first['id']}").status_code == 204
    items = api.get("/me/tokens").json()["items"]
    assert [t["id"] for t in items] == [second["id"], first["id"]]
    assert items[0]["revoked_at"] is None and items[1]["revoked_at"] is not None


def test_a_revoked_token_is_refused_and_revoking_again_keeps_the_time(api_as, alice):
    api = api_as(alice, via="session")
    created = api.post("/me/tokens", {"name": "script"}).json()
    assert bearer_client(created["token"]).get("/me").status_code == 200
    assert api.delete(f"/me/tokens/{created['id']}").status_code == 204
    assert bearer_client(created["token"]).get("/me").status_code == 401
    revoked_at = ApiToken.objects.get(pk=created["id"]).revoked_at
    assert revoked_at is not None
    assert api.delete(f"/me/tokens/{created['id']}").status_code == 204
    assert ApiToken.objects.get(pk=created["id"]).revoked_at == revoked_at


def test_a_token_can_revoke_itself(api_as, alice):
    raw = api_as(alice, via="session").post("/me/tokens", {"name": "leaked"}).json()["token"]
    own = bearer_client(raw)
    token_id = ApiToken.objects.get(token_hash=hash_token(raw)).pk
    assert own.delete(f"/me/tokens/{token_id}").status_code == 204
    assert own.get("/me").status_code == 401


def test_another_users_token_is_not_found(api_as, alice, bob, ada):
    bobs = api_as(bob, via="session").post("/me/tokens", {"name": "bob's"}).json()
    for api in (api_as(alice), api_as(ada)):
        assert bobs["id"] not in [t["id"] for t in api.get("/me/tokens").json()["items"]]
        response = api.delete(f"/me/tokens/{bobs['id']}")
        assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    assert ApiToken.objects.get(pk=bobs["id"]).revoked_at is None
    assert bearer_client(bobs["token"]).get("/me").status_code == 200
    # The page refuses it the same way.
    client = Client()
    client.force_login(alice)
    assert client.post(f"/accounts/tokens/{bobs['id']}/revoke/").status_code == 404
    assert ApiToken.objects.get(pk=bobs["id"]).revoked_at is None


def test_an_integration_cannot_manage_its_own_tokens(campaign):
    integration = make_integration(campaign)
    api = integration_api(integration)
    token = ApiToken.objects.get(user=integration.user)
    for response in (
        api.get("/me/tokens"),
        api.post("/me/tokens", {"name": "more"}),
        api.delete(f"/me/tokens/{token.pk}"),
    ):
        assert response.status_code == 403, response.content
        assert error_of(response)["code"] == "integration_tokens"
        assert "/integrations/" in error_of(response)["message"]
    assert ApiToken.objects.filter(user=integration.user).count() == 1
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.parametrize(
    ("body", "status"),
    [({"name": "x" * 81}, 422), ({"name": "a\x00b"}, 422), ({"name": 5}, 422), ("[", 400)],
)
def test_bad_names_are_refused_and_nothing_is_created(api_as, alice, body, status):
    api = api_as(alice, via="session")
    response = api.post("/me/tokens", body)
    assert response.status_code == status, response.content
    assert not ApiToken.objects.filter(user=alice).exists()


def test_anonymous_is_refused(api_as):
    assert api_as(None).get("/me/tokens").status_code == 401
    assert api_as(None).post("/me/tokens", {"name": "x"}).status_code == 401
