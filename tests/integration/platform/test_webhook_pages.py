"""The webhook admin pages: admins only; register (secret shown once), test event, log, redeliver,
re-enable after the 24 h disable (the admins are told on the list)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from pagedesk.core import clock
from pagedesk.platform.delivery import endpoint_drain
from pagedesk.platform.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
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
        ("RECEIVER", False, "campaigns", "Choose the campaigns whose events it receives"),
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
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("platform:webhook_rotate", args=[endpoint.pk])
    shown = client.get(response["Location"])
    secret = secret_decrypt(endpoint.secret_encrypted)
    assert secret and secret in shown.content.decode() and "Endpoint registered" in shown.content.decode()
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
    rotated = client.post(reverse("platform:webhook_rotate", args=[endpoint.pk]), follow=True)
    rotated = rotated.content.decode()
    endpoint.refresh_from_db()
    new = secret_decrypt(endpoint.secret_encrypted)
    assert new != old and new in rotated
    client.post(reverse("platform:webhook_delete", args=[endpoint.pk]))
    assert not WebhookEndpoint.objects.exists()


# --- issue 15, a first-time admin's findings ------------------------------------------------------------


def test_reloading_a_secret_page_registers_and_rotates_nothing_more(client_for, ada, campaign, receiver):
    """C2: the page answered the POST itself; a reload registered a second endpoint (or rotated again)."""
    client = client_for(ada)
    created = client.post(
        reverse("platform:webhook_create"),
        {"url": receiver.url, "event_types": ["message.created"], "campaigns": [campaign.pk]},
    )
    endpoint = WebhookEndpoint.objects.get()
    page = created["Location"]
    first = client.get(page)
    secret = secret_decrypt(endpoint.secret_encrypted)
    assert first["Cache-Control"] == "no-store" and secret in first.content.decode()
    # The Copy button the token pages have.
    assert 'data-copy="webhook-secret"' in first.content.decode()
    again = client.get(page).content.decode()
    assert secret not in again and "already shown" in again
    assert WebhookEndpoint.objects.count() == 1

    assert client.post(page).status_code == 302
    endpoint.refresh_from_db()
    rotated = secret_decrypt(endpoint.secret_encrypted)
    assert rotated != secret and rotated in client.get(page).content.decode()
    assert rotated not in client.get(page).content.decode()
    endpoint.refresh_from_db()
    assert secret_decrypt(endpoint.secret_encrypted) == rotated


def test_the_endpoint_form_shows_every_mistake_at_once(client_for, ada, campaign):
    """C12: `ftp://x` with no events showed only the events' error."""
    client = client_for(ada)
    refused = client.post(reverse("platform:webhook_create"), {"url": "ftp://x", "secret": "short"})
    body = refused.content.decode()
    assert refused.status_code == 422
    assert "Give an http:// or https:// URL with a host name." in body
    assert "Choose at least one event type." in body
    assert "Choose the campaigns whose events it receives, or all campaigns." in body
    assert "A secret needs 16 to 200 characters" in body
    assert not WebhookEndpoint.objects.exists()


def test_the_endpoint_form_groups_its_checkboxes_under_legends(client_for, ada, campaign):
    body = client_for(ada).get(reverse("platform:webhook_create")).content.decode()
    events = body.index('<legend class="label">Events</legend>')
    assert events < body.index('name="event_types"')
    campaigns = body.index('<legend class="label">Campaigns</legend>')
    assert campaigns < body.index('name="all_campaigns"') < body.index('name="campaigns"')
    assert 'type="url"' in body


@pytest.mark.parametrize(
    ("ago", "said", "not_said"),
    [
        (dt.timedelta(seconds=20), "Failing for less than a minute", "0 minutes"),
        (dt.timedelta(hours=3, minutes=5), "Failing for 3 hours, 5 minutes", "less than a minute"),
    ],
)
def test_a_failing_endpoint_says_for_how_long(client_for, ada, register, receiver, ago, said, not_said):
    """C11: an endpoint failing for 20 s said "Failing for 0 minutes"."""
    endpoint, _ = register(receiver.url)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=clock.now() - ago)
    client = client_for(ada)
    listed = client.get(reverse("platform:webhook_list")).content.decode()
    detail = client.get(reverse("platform:webhook_detail", args=[endpoint.pk])).content.decode()
    for page in (listed, detail):
        page = page.replace("\xa0", " ")  # timesince keeps "3 hours" on one line
        assert said in page and not_said not in page


def test_the_delivery_log_shows_times_like_other_pages_in_the_campaigns_zone(
    client_for, ada, campaign, register, receiver
):
    """Times read "7 Dec 2026, 15:25" in the campaign's zone (Madrid), not "2026-12-07 14:25:22" UTC."""
    endpoint, _ = register(receiver.url, campaigns=[campaign])
    at = dt.datetime(2026, 12, 7, 14, 25, 22, tzinfo=dt.UTC)
    event = WebhookEvent.objects.create(
        type="message.created", campaign_ids=[campaign.pk], ordering_key="c:1"
    )
    WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=event,
        event_type=event.type,
        ordering_key=event.ordering_key,
        state="delivered",
        created_at=at,
        retry_until=at,
        attempts=1,
        last_status_code=200,
    )
    client = client_for(ada)
    log = client.get(reverse("platform:webhook_log", args=[endpoint.pk])).content.decode()
    assert "7 Dec 2026, 15:25" in log and "Europe/Madrid" in log
    assert "2026-12-07 14:25" not in log and "2026-12-07 15:25" not in log
    # An endpoint for all campaigns shows the site's zone.
    everything, _ = register(receiver.url)
    WebhookDelivery.objects.filter(endpoint=endpoint).update(endpoint=everything)
    log = client.get(reverse("platform:webhook_log", args=[everything.pk])).content.decode()
    assert "7 Dec 2026, 14:25" in log and "UTC" in log


def test_the_delivery_filters_are_labelled(client_for, ada, register, receiver):
    endpoint, _ = register(receiver.url)
    body = client_for(ada).get(reverse("platform:webhook_detail", args=[endpoint.pk])).content.decode()
    form = body[body.index('class="inline-form log-filters"') :]
    form = form[: form.index("</form>")]
    assert (
        '<label for="id_state">State</label>' in form and '<label for="id_event_type">Event</label>' in form
    )
    assert "visually-hidden" not in form


def test_rotating_deleting_and_disabling_ask_first(client_for, ada, register, receiver):
    """C10: each happened in one click."""
    endpoint, _ = register(receiver.url)
    body = client_for(ada).get(reverse("platform:webhook_detail", args=[endpoint.pk])).content.decode()
    for name in ("webhook_rotate", "webhook_delete", "webhook_enable"):
        start = body.index(f'action="{reverse(f"platform:{name}", args=[endpoint.pk])}"')
        assert "data-confirm=" in body[start : body.index(">", start)], name
    # Enabling a disabled endpoint again is not a danger: no question.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False)
    body = client_for(ada).get(reverse("platform:webhook_detail", args=[endpoint.pk])).content.decode()
    start = body.index(f'action="{reverse("platform:webhook_enable", args=[endpoint.pk])}"')
    assert "data-confirm=" not in body[start : body.index(">", start)]
