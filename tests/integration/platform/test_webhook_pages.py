"""The webhook admin pages: admins only; register (secret shown once), test event, log, redeliver,
re-enable after the 24 h disable (the admins are told on the list)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from pagedesk.core import clock
from pagedesk.platform.delivery import endpoint_drain
from pagedesk.platform.models import WebhookDelivery, WebhookEndpoint
from pagedesk.platform.signing import secret_decrypt

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("who", ["sam", "alice"])
def test_only_admins(client_for, request, who, register, receiver):
    endpoint, _ = register(receiver.url)
    client = client_for(request.getfixturevalue(who))
    for url in (reverse("platform:webhook_list"), reverse("platform:webhook_detail", args=[endpoint.pk])):
        assert client.get(url).status_code == 403
    assert client.post(reverse("platform:webhook_test", args=[endpoint.pk])).status_code == 403


@pytest.mark.parametrize(
    ("url", "campaigns", "field", "words"),
    [
        ("http://10.0.0.8/hook", True, "url", "private or local address"),
        ("https://no-such-host.invalid/hook", True, "url", "could not be found"),
        ("gopher://example.com/", True, "url", "http:// or https://"),
        ("RECEIVER", False, None, "Choose the campaigns whose events it receives"),
    ],
)
def test_the_form_shows_the_services_refusals(
    client_for, ada, campaign, receiver, settings, url, campaigns, field, words
):
    """The API's 400s and 422s are the same refusals the page shows beside the field (or on top)."""
    settings.WEBHOOKS_ALLOW_PRIVATE = url == "RECEIVER"
    data = {"url": receiver.url if url == "RECEIVER" else url, "event_types": ["message.created"]}
    if campaigns:
        data["campaigns"] = [campaign.pk]
    response = client_for(ada).post(reverse("platform:webhook_create"), data)
    assert response.status_code == 422
    form = response.context["form"]
    errors = form.errors.get(field) if field else form.non_field_errors()
    assert errors and words in " ".join(errors), form.errors
    assert words in response.content.decode().replace("&#x27;", "'")
    assert not WebhookEndpoint.objects.exists()


def test_register_test_and_redeliver(client_for, ada, campaign, receiver):
    client = client_for(ada)
    assert client.get(reverse("platform:webhook_create")).status_code == 200
    refused = client.post(
        reverse("platform:webhook_create"), {"url": "gopher://x", "event_types": ["message.created"]}
    )
    assert refused.status_code == 422
    response = client.post(
        reverse("platform:webhook_create"),
        {
            "url": receiver.url,
            "event_types": ["message.created", "conversation.closed"],
            "campaigns": [campaign.pk],
        },
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    secret = secret_decrypt(endpoint.secret_encrypted)
    assert secret and secret in response.content.decode()
    detail = client.get(reverse("platform:webhook_detail", args=[endpoint.pk]))
    assert secret not in detail.content.decode()
    client.post(reverse("platform:webhook_test", args=[endpoint.pk]))
    endpoint_drain(endpoint_id=endpoint.pk)
    delivery = WebhookDelivery.objects.get()
    log = client.get(
        reverse("platform:webhook_log", args=[endpoint.pk]), {"event_type": "ping"}
    ).content.decode()
    assert "ping" in log and "200" in log and 'hx-trigger="every 2s"' not in log
    client.post(reverse("platform:webhook_redeliver", args=[endpoint.pk, delivery.uuid]))
    assert (
        'hx-trigger="every 2s"'
        in client.get(reverse("platform:webhook_log", args=[endpoint.pk])).content.decode()
    )
    endpoint_drain(endpoint_id=endpoint.pk)
    assert len(receiver.received) == 2


def test_a_disabled_endpoint_is_told_and_enabled_again(client_for, ada, register, receiver):
    endpoint, _ = register(receiver.url)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        enabled=False, disabled_at=clock.now(), disabled_reason="Disabled after failing for 24 h (since …)."
    )
    client = client_for(ada)
    page = client.get(reverse("platform:webhook_list")).content.decode()
    assert "Disabled after failing for 24 h" in page
    client.post(reverse("platform:webhook_enable", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.enabled and not endpoint.disabled_reason


def test_edit_rotate_delete(client_for, ada, campaign, register, receiver):
    endpoint, old = register(receiver.url)
    client = client_for(ada)
    assert client.get(reverse("platform:webhook_edit", args=[endpoint.pk])).status_code == 200
    saved = client.post(
        reverse("platform:webhook_edit", args=[endpoint.pk]),
        {"url": receiver.url, "event_types": ["agent.status_changed"], "all_campaigns": "on"},
    )
    assert saved.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.event_types == ["agent.status_changed"]
    rotated = client.post(reverse("platform:webhook_rotate", args=[endpoint.pk])).content.decode()
    endpoint.refresh_from_db()
    new = secret_decrypt(endpoint.secret_encrypted)
    assert new != old and new in rotated
    client.post(reverse("platform:webhook_delete", args=[endpoint.pk]))
    assert not WebhookEndpoint.objects.exists()
