"""Integrations and their tokens: the admin API, the `apitoken --integration` command, what an
integration's token may do (its campaigns; never admin endpoints; never the UI), and revocation."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from pagedesk.accounts.models import ApiToken, Role
from pagedesk.campaigns.models import Integration
from tests.conftest import PASSWORD
from tests.integration.api.conftest import ApiClient, error_of
from tests.integration.api.writes import integration_api, make_integration

pytestmark = pytest.mark.django_db


def bearer_client(raw: str) -> ApiClient:
    return ApiClient(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw}"})


def test_an_admin_creates_an_integration_and_a_token_shown_once(admin_api, ada, campaign):
    created = admin_api.post("/integrations", {"name": "Acme CRM", "campaign_ids": [campaign.pk]})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["name"] == "Acme CRM" and body["username"] == "integration-acme-crm"
    assert body["campaigns"] == [{"id": campaign.pk, "name": "Acme Support"}] and body["tokens"] == []
    integration = Integration.objects.get(pk=body["id"])
    assert integration.user.role == Role.INTEGRATION and not integration.user.has_usable_password()
    assert integration.created_by == ada
    token = admin_api.post(f"/integrations/{integration.pk}/tokens", {"name": "prod"})
    assert token.status_code == 201
    raw = token.json()["token"]
    assert raw.startswith(token.json()["prefix"])
    me = bearer_client(raw).get("/me")
    assert me.status_code == 200 and me.json()["username"] == "integration-acme-crm"
    listed = admin_api.get("/integrations").json()["items"]
    assert [t["prefix"] for t in listed[0]["tokens"]] == [token.json()["prefix"]]
    assert "token" not in listed[0]["tokens"][0]
    assert listed[0]["tokens"][0]["last_used_at"] is not None


def test_names_and_campaigns_are_checked(admin_api, campaign):
    assert admin_api.post("/integrations", {"name": "CRM", "campaign_ids": [campaign.pk]}).status_code == 201
    duplicate = admin_api.post("/integrations", {"name": "crm", "campaign_ids": [campaign.pk]})
    assert duplicate.status_code == 409 and error_of(duplicate)["code"] == "duplicate_name"
    unknown = admin_api.post("/integrations", {"name": "Other", "campaign_ids": [999999]})
    assert unknown.status_code == 400 and "999999" in error_of(unknown)["message"]
    assert admin_api.post("/integrations", {"name": "Other", "campaign_ids": []}).status_code == 422
    assert (
        admin_api.post("/integrations", {"name": "a\x00b", "campaign_ids": [campaign.pk]}).status_code == 422
    )
    assert (
        admin_api.post("/integrations", {"name": "x" * 101, "campaign_ids": [campaign.pk]}).status_code == 422
    )
    assert Integration.objects.count() == 1


def test_revoking_a_token_or_the_integration_refuses_its_tokens_at_once(admin_api, campaign):
    integration = make_integration(campaign)
    first = admin_api.post(f"/integrations/{integration.pk}/tokens", {}).json()
    second = admin_api.post(f"/integrations/{integration.pk}/tokens", {}).json()
    assert admin_api.delete(f"/integrations/{integration.pk}/tokens/{first['id']}").status_code == 204
    assert bearer_client(first["token"]).get("/me").status_code == 401
    assert bearer_client(second["token"]).get("/me").status_code == 200
    assert admin_api.delete(f"/integrations/{integration.pk}/tokens/999999").status_code == 404
    assert admin_api.delete(f"/integrations/{integration.pk}").status_code == 204
    refused = bearer_client(second["token"]).get("/me")
    assert refused.status_code == 401 and error_of(refused)["code"] == "unauthenticated"
    integration.refresh_from_db()
    assert integration.revoked_at is not None and not integration.user.is_active
    assert not ApiToken.objects.filter(user=integration.user, revoked_at__isnull=True).exists()
    again = admin_api.post(f"/integrations/{integration.pk}/tokens", {})
    assert again.status_code == 409 and error_of(again)["code"] == "integration_revoked"


def test_a_token_of_one_integration_is_not_revoked_through_another(admin_api, campaign):
    one, other = make_integration(campaign, name="One"), make_integration(campaign, name="Other")
    token = admin_api.post(f"/integrations/{one.pk}/tokens", {}).json()
    assert admin_api.delete(f"/integrations/{other.pk}/tokens/{token['id']}").status_code == 404
    assert bearer_client(token["token"]).get("/me").status_code == 200


def test_the_campaigns_can_be_changed(admin_api, campaign):
    integration = make_integration(campaign)
    response = admin_api.put(f"/integrations/{integration.pk}/campaigns", {"campaign_ids": [campaign.pk]})
    assert response.status_code == 200 and response.json()["campaigns"][0]["id"] == campaign.pk


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/users", None),
        ("POST", "/users", {"username": "eve", "role": "admin", "password": PASSWORD}),
        ("GET", "/integrations", None),
        ("POST", "/integrations", {"name": "Mine", "campaign_ids": [1]}),
        ("POST", "/campaigns", {"name": "Mine", "page_name": "Mine"}),
        ("PATCH", "/campaigns/{campaign}", {"name": "Mine"}),
        ("POST", "/break-reasons", {"name": "Nap"}),
    ],
)
def test_an_integration_gets_403_on_admin_endpoints(campaign, method, path, body):
    api = integration_api(make_integration(campaign))
    response = api.call(method, path.format(campaign=campaign.pk), body)
    assert response.status_code == 403, (path, response.content)


def test_non_admins_cannot_manage_integrations(api_as, sam, alice, campaign):
    integration = make_integration(campaign)
    for person in (sam, alice):
        assert api_as(person).get("/integrations").status_code == 403
        assert api_as(person).post(f"/integrations/{integration.pk}/tokens", {}).status_code == 403
        assert api_as(person).delete(f"/integrations/{integration.pk}").status_code == 403


def test_an_integration_cannot_log_in_to_the_pages(campaign):
    integration = make_integration(campaign)
    # Not even if an administrator gave its user a password.
    integration.user.set_password(PASSWORD)
    integration.user.save()
    client = Client()
    response = client.post("/accounts/login/", {"username": integration.user.username, "password": PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert response.context["form"].errors.as_data()["__all__"][0].code == "invalid_login"


# --- the command ------------------------------------------------------------------------------------


def test_apitoken_creates_then_reuses_an_integration(campaign, alice):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "apitoken", "--integration", "Acme Bot", "--campaign", str(campaign.pk), stdout=out, stderr=err
    )
    first = out.getvalue().strip()
    assert "Created the integration" in err.getvalue()
    out = io.StringIO()
    call_command(
        "apitoken",
        "--integration",
        "acme bot",
        "--campaign",
        str(campaign.pk),
        stdout=out,
        stderr=io.StringIO(),
    )
    second = out.getvalue().strip()
    assert first != second and Integration.objects.count() == 1
    integration = Integration.objects.get()
    assert list(integration.campaigns.all()) == [campaign]
    for raw in (first, second):
        assert bearer_client(raw).get("/me").json()["username"] == "integration-acme-bot"
    # A personal token still works as before.
    out = io.StringIO()
    call_command("apitoken", "--username", "alice", stdout=out)
    assert bearer_client(out.getvalue().strip()).get("/me").json()["username"] == "alice"


@pytest.mark.parametrize(
    "args",
    [
        ["--integration", "Bot"],
        ["--integration", "Bot", "--campaign", "999999"],
        ["--username", "alice", "--campaign", "1"],
    ],
)
def test_apitoken_refuses_what_it_cannot_do(campaign, alice, args):
    with pytest.raises(CommandError):
        call_command("apitoken", *args, stdout=io.StringIO(), stderr=io.StringIO())
    assert not Integration.objects.exists()
