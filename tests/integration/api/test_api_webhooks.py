"""/api/v1/webhooks: administrators only, validation with clear 422s, the secret once, the log."""

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
        ({"event_types": ["message.deleted"]}, "event_types"),
        ({"event_types": []}, "event_types"),
        ({"campaign_ids": []}, "campaign_ids"),
        ({"campaign_ids": [999999]}, "campaign_ids"),
        ({"secret": "short"}, "secret"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(admin_api, campaign, receiver, change, field):
    response = admin_api.post("/webhooks", {**body(receiver, campaign), **change})
    assert response.status_code == 422, response.content
    error = error_of(response)
    assert error["code"] == "invalid"
    assert any(name.split(".")[0] == field for name in error["fields"]), error


def test_a_private_address_is_refused_unless_allowed(admin_api, campaign, receiver, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    for url in (receiver.url, "http://169.254.169.254/latest", "http://10.0.0.8/hook", "http://[::1]/x"):
        response = admin_api.post("/webhooks", {**body(receiver, campaign), "url": url})
        assert response.status_code == 422
        assert "private or local address" in error_of(response)["message"]


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
