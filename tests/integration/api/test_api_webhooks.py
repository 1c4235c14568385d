"""/api/v1/webhooks: administrators only, refusals in the API's convention (422 malformed, 400 a rule
the request breaks) naming the field, the secret once, the log."""

from __future__ import annotations

import pytest

from pagedesk.platform.delivery import endpoint_drain
from pagedesk.platform.models import WebhookEndpoint
from pagedesk.platform.signing import secret_decrypt
from pagedesk.platform.subscriptions import cache_clear
from tests.integration.api.conftest import error_of
from tests.webhook_receiver import Receiver, running_receiver

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def private_allowed(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    cache_clear()


@pytest.fixture
def receiver():
    with running_receiver() as running:
        yield running


def body(receiver: Receiver, campaign, **extra):
    return {"url": receiver.url, "event_types": ["message.created"], "campaign_ids": [campaign.pk], **extra}


@pytest.mark.parametrize("who", ["supervisor", "agent"])
def test_only_admins(caller, who, campaign, receiver):
    api = caller(who)
    for response in (api.get("/webhooks"), api.post("/webhooks", body(receiver, campaign))):
        assert response.status_code == 403
        assert error_of(response)["code"] == "forbidden"


def test_anonymous_is_401(caller):
    assert caller("anonymous").get("/webhooks").status_code == 401


def test_register_shows_the_secret_once(admin_api, campaign, receiver):
    created = admin_api.post("/webhooks", body(receiver, campaign, description="CRM"))
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["secret"].startswith("whsec_")
    endpoint = WebhookEndpoint.objects.get(pk=data["id"])
    assert secret_decrypt(endpoint.secret_encrypted) == data["secret"]
    assert data["secret"] not in endpoint.secret_encrypted
    assert data["state"] == "active" and data["campaign_ids"] == [campaign.pk]
    shown = admin_api.get(f"/webhooks/{data['id']}").json()
    assert "secret" not in shown
    listed = admin_api.get("/webhooks").json()
    assert listed["count"] == 1 and "secret" not in listed["items"][0]
    rotated = admin_api.post(f"/webhooks/{data['id']}/secret", {}).json()["secret"]
    endpoint.refresh_from_db()
    assert rotated != data["secret"] and secret_decrypt(endpoint.secret_encrypted) == rotated


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "https://user:pass@example.com/x"}, "url"),
        ({"url": "https://example.com:65536/x"}, "url"),
        ({"url": "https://[1::2::3]/x"}, "url"),
        ({"url": "https://example.com/a b"}, "url"),
        ({"event_types": ["message.deleted"]}, "event_types"),
        ({"event_types": []}, "event_types"),
        ({"secret": "short"}, "secret"),
        ({"secret": "a-long-enough-secret\x00"}, "secret"),
        ({"description": "CRM\x00"}, "description"),
    ],
)
def test_a_malformed_field_is_a_422_naming_it(admin_api, campaign, receiver, change, field):
    response = admin_api.post("/webhooks", {**body(receiver, campaign), **change})
    assert response.status_code == 422, response.content
    error = error_of(response)
    assert error["code"] == "invalid"
    assert any(name.split(".")[0] == field for name in error["fields"]), error
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        ({"campaign_ids": []}, "no_campaigns", "or all campaigns"),
        ({"campaign_ids": [999999]}, "unknown_campaign", "999999"),
        ({"url": "https://no-such-host.invalid/hook"}, "unresolvable_url", "could not be found"),
    ],
)
def test_a_rule_the_well_formed_request_breaks_is_a_400_naming_the_field(
    admin_api, campaign, receiver, change, code, words
):
    response = admin_api.post("/webhooks", {**body(receiver, campaign), **change})
    assert response.status_code == 400, response.content
    error = error_of(response)
    field = next(iter(change))
    assert (
        error["code"] == code
        and error["field"] == field
        and error["fields"] == {field: [error["message"].split(": ", 1)[1]]}
    )
    assert words in error["message"]
    assert not WebhookEndpoint.objects.exists()


def test_several_faults_are_named_together(admin_api, campaign, receiver):
    both = admin_api.post(
        "/webhooks",
        {**body(receiver, campaign), "campaign_ids": [999999], "url": "https://no-such-host.invalid/"},
    )
    assert both.status_code == 400
    assert error_of(both)["code"] == "invalid" and set(error_of(both)["fields"]) == {"url", "campaign_ids"}


def test_a_change_is_refused_the_same_way(admin_api, campaign, receiver):
    created = admin_api.post("/webhooks", body(receiver, campaign)).json()
    unknown = admin_api.patch(f"/webhooks/{created['id']}", {"campaign_ids": [999999]})
    assert unknown.status_code == 400 and error_of(unknown)["field"] == "campaign_ids"
    malformed = admin_api.patch(f"/webhooks/{created['id']}", {"url": "gopher://example.com"})
    assert malformed.status_code == 422
    rotated = admin_api.post(f"/webhooks/{created['id']}/secret", {"secret": "a-long-enough-secret\x00"})
    assert rotated.status_code == 422
    assert admin_api.get(f"/webhooks/{created['id']}").json()["campaign_ids"] == [campaign.pk]


def test_a_private_address_is_refused_unless_allowed(admin_api, campaign, receiver, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    for url in (receiver.url, "http://169.254.169.254/latest", "http://10.0.0.8/hook", "http://[::1]/x"):
        response = admin_api.post("/webhooks", {**body(receiver, campaign), "url": url})
        assert response.status_code == 400, response.content
        error = error_of(response)
        assert error["code"] == "private_url" and error["field"] == "url"
        assert "private or local address" in error["message"]
        assert "PAGEDESK_WEBHOOKS_ALLOW_PRIVATE" in error["message"]


def test_test_event_log_and_redeliver(admin_api, campaign, receiver):
    created = admin_api.post("/webhooks", body(receiver, campaign)).json()
    queued = admin_api.post(f"/webhooks/{created['id']}/test")
    assert queued.status_code == 202
    assert queued.json()["event_type"] == "ping" and queued.json()["state"] == "pending"
    endpoint_drain(endpoint_id=created["id"])
    log = admin_api.get(f"/webhooks/{created['id']}/deliveries").json()
    (delivery,) = log["items"]
    assert delivery["state"] == "delivered" and delivery["last_status_code"] == 200
    assert delivery["attempt_log"][0]["response_body"] == "ok"
    assert receiver.received[0].json["type"] == "ping"
    again = admin_api.post(f"/webhooks/{created['id']}/deliveries/{delivery['id']}/redeliver")
    assert again.status_code == 202 and again.json()["id"] == delivery["id"]
    endpoint_drain(endpoint_id=created["id"])
    assert [r.headers["X-Pagedesk-Delivery"] for r in receiver.received] == [delivery["id"]] * 2
    filtered = admin_api.get(f"/webhooks/{created['id']}/deliveries", state="failed").json()
    assert filtered["count"] == 0
    missing = admin_api.post(f"/webhooks/{created['id']}/deliveries/not-a-uuid/redeliver")
    assert missing.status_code == 404


def test_disable_enable_and_delete(admin_api, campaign, receiver):
    created = admin_api.post("/webhooks", body(receiver, campaign)).json()
    disabled = admin_api.patch(f"/webhooks/{created['id']}", {"enabled": False}).json()
    assert disabled["state"] == "disabled" and "Ada" in disabled["disabled_reason"]
    enabled = admin_api.patch(
        f"/webhooks/{created['id']}", {"enabled": True, "event_types": ["conversation.closed"]}
    )
    assert enabled.status_code == 200
    assert enabled.json()["state"] == "active" and enabled.json()["event_types"] == ["conversation.closed"]
    assert admin_api.delete(f"/webhooks/{created['id']}").status_code == 204
    assert admin_api.get(f"/webhooks/{created['id']}").status_code == 404
