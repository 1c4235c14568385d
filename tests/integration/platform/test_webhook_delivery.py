"""Delivering the outbox to a real local HTTP receiver: signed bodies, order per conversation under
failures, 4xx against 5xx, Retry-After, the 24 h disable, redelivery and the send-time re-check."""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict

import pytest

from pagedesk.core import clock
from pagedesk.platform import delivery as delivery_module
from pagedesk.platform.delivery import endpoint_drain
from pagedesk.platform.models import DeliveryState, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from pagedesk.platform.services import (
    EndpointSpec,
    webhook_delivery_redeliver,
    webhook_endpoint_enable,
    webhook_endpoint_update,
)
from tests.integration.platform.conftest import customer_writes

pytestmark = pytest.mark.django_db


def drain(endpoint: WebhookEndpoint) -> dt.datetime | None:
    return endpoint_drain(endpoint_id=endpoint.pk)


def open_count(endpoint: WebhookEndpoint) -> int:
    return WebhookDelivery.objects.filter(
        endpoint=endpoint, state__in=[DeliveryState.PENDING, DeliveryState.DELIVERING]
    ).count()


def test_each_delivery_arrives_signed_with_the_api_shapes(page, campaign, register, receiver):
    endpoint, secret = register(receiver.url, types=["message.created"])
    received = customer_writes(campaign, "psid-1", "Hello")
    assert drain(endpoint) is None
    (request,) = receiver.received
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert request.signature_valid(secret)
    assert not request.signature_valid(secret + "x")
    assert request.headers["X-Pagedesk-Event"] == "message.created"
    assert request.headers["X-Pagedesk-Delivery"] == str(delivery.uuid)
    assert request.headers["Content-Type"] == "application/json"
    body = request.json
    assert set(body) == {"id", "type", "created_at", "data"}
    assert body["id"] == str(delivery.uuid)
    assert body["data"]["message"]["id"] == received.message.pk
    assert body["data"]["message"]["text"] == "Hello"
    assert body["data"]["conversation"]["campaign"] == {"id": campaign.pk, "name": campaign.name}
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED and delivery.attempts == 1
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code == 200 and attempt.response_body == "ok" and attempt.duration_ms > 0


def test_a_5xx_holds_back_its_conversation_only(page, campaign, register, receiver, frozen_clock):
    endpoint, _ = register(receiver.url, types=["message.created"])
    first_a = customer_writes(campaign, "psid-a", "a1").message
    failed_once: set[str] = set()

    def answer(request):
        body = request.json
        if body["data"]["message"]["id"] == first_a.pk and body["id"] not in failed_once:
            failed_once.add(body["id"])
            return 503, {}, b"busy"
        return 200, {}, b"ok"

    receiver.answer = answer
    customer_writes(campaign, "psid-a", "a2")
    customer_writes(campaign, "psid-b", "b1")
    customer_writes(campaign, "psid-b", "b2")
    retry_at = drain(endpoint)
    texts = [b["data"]["message"]["text"] for b in receiver.bodies()]
    # a2 waits behind a1's retry; the two conversations go side by side (lanes), each in order.
    assert sorted(texts) == ["a1", "b1", "b2"] and texts.index("b1") < texts.index("b2")
    assert retry_at is not None and retry_at > clock.now()
    a1 = WebhookDelivery.objects.get(event__data__message__id=first_a.pk)
    assert a1.state == DeliveryState.PENDING and a1.last_status_code == 503
    assert 2.5 <= (a1.next_attempt_at - clock.now()).total_seconds() <= 5
    frozen_clock.advance(seconds=6)
    assert drain(endpoint) is None
    texts = [b["data"]["message"]["text"] for b in receiver.bodies()]
    assert texts[3:] == ["a1", "a2"]
    assert open_count(endpoint) == 0


def test_a_4xx_is_final_and_does_not_hold_back(page, campaign, register, receiver):
    endpoint, _ = register(receiver.url, types=["message.created"])
    receiver.answer = lambda request: (
        (400, {}, b"bad" * 1000) if request.json["data"]["message"]["text"] == "one" else (200, {}, b"ok")
    )
    customer_writes(campaign, "psid-c", "one")
    customer_writes(campaign, "psid-c", "two")
    drain(endpoint)
    one, two = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("id")
    assert one.state == DeliveryState.FAILED and one.last_status_code == 400 and one.attempts == 1
    assert two.state == DeliveryState.DELIVERED
    assert len(WebhookAttempt.objects.get(delivery=one).response_body) == 2048


@pytest.mark.parametrize(("status", "paused"), [(429, True), (408, False)])
def test_408_and_429_honour_retry_after(page, campaign, register, receiver, frozen_clock, status, paused):
    endpoint, _ = register(receiver.url, types=["message.created"])
    receiver.answer = lambda request: (status, {"Retry-After": "120"}, b"later")
    customer_writes(campaign, "psid-d", "x")
    drain(endpoint)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.state == DeliveryState.PENDING
    assert delivery.next_attempt_at == clock.now() + dt.timedelta(seconds=120)
    endpoint.refresh_from_db()
    assert (endpoint.paused_until == delivery.next_attempt_at) is paused


def test_receiver_down_for_ten_minutes_loses_nothing_and_keeps_order(
    page, campaign, register, receiver, frozen_clock
):
    endpoint, secret = register(receiver.url)
    receiver.up = False
    for step in range(20):  # ten minutes, a message every 30 s from one of three customers
        customer_writes(campaign, f"psid-{step % 3}", f"message {step}")
        drain(endpoint)
        frozen_clock.advance(seconds=30)
    assert not receiver.received
    assert WebhookAttempt.objects.filter(status_code=None, error__startswith="Could not connect").exists()
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.failing_since is not None
    receiver.up = True
    for _ in range(10):
        next_at = drain(endpoint)
        if next_at is None:
            break
        frozen_clock.set(max(next_at, clock.now()))
    assert open_count(endpoint) == 0
    sent = list(WebhookDelivery.objects.filter(endpoint=endpoint).order_by("id"))
    assert all(d.state == DeliveryState.DELIVERED for d in sent)
    got = [request for request in receiver.received]
    assert all(request.signature_valid(secret) for request in got)
    first_arrival: dict[str, int] = {}
    for index, request in enumerate(got):
        first_arrival.setdefault(request.json["id"], index)
    assert set(first_arrival) == {str(d.uuid) for d in sent}  # nothing lost
    by_key: dict[str, list[int]] = defaultdict(list)
    for delivery in sent:
        by_key[delivery.ordering_key].append(first_arrival[str(delivery.uuid)])
    for key, arrivals in by_key.items():
        assert arrivals == sorted(arrivals), key  # in order per conversation
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.paused_until is None


def test_failing_for_24_hours_disables_the_endpoint(page, campaign, register, receiver, frozen_clock, ada):
    endpoint, _ = register(receiver.url, types=["message.created"])
    receiver.answer = lambda request: (500, {}, b"down")
    customer_writes(campaign, "psid-e", "x")
    drain(endpoint)
    for _ in range(30):
        frozen_clock.advance(hours=1)
        customer_writes(campaign, "psid-e", "more")
        drain(endpoint)
        endpoint.refresh_from_db()
        if not endpoint.enabled:
            break
    assert not endpoint.enabled
    assert "24 h" in endpoint.disabled_reason and "500" in endpoint.disabled_reason
    assert WebhookDelivery.objects.filter(endpoint=endpoint, state=DeliveryState.FAILED).exists()
    customer_writes(campaign, "psid-e", "after")
    count = WebhookDelivery.objects.filter(endpoint=endpoint).count()
    assert drain(endpoint) is None
    receiver.answer = lambda request: (200, {}, b"ok")
    webhook_endpoint_enable(endpoint=endpoint)
    drain(endpoint)
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == count
    assert open_count(endpoint) == 0


def test_redeliver_sends_the_same_delivery_id_again(page, campaign, register, receiver):
    endpoint, _ = register(receiver.url, types=["message.created"])
    customer_writes(campaign, "psid-f", "x")
    drain(endpoint)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    webhook_delivery_redeliver(delivery=delivery)
    drain(endpoint)
    first, second = receiver.received
    assert first.headers["X-Pagedesk-Delivery"] == second.headers["X-Pagedesk-Delivery"] == str(delivery.uuid)
    assert first.body == second.body
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED and delivery.attempts == 2
    assert [a.manual for a in WebhookAttempt.objects.filter(delivery=delivery).order_by("number")] == [
        False,
        True,
    ]


def test_a_campaign_removed_after_the_event_is_not_sent(page, campaign, register, receiver):
    from pagedesk.campaigns import schedule
    from pagedesk.campaigns.services import campaign_create

    other = campaign_create(
        fields={"name": "Other", "page_name": "Other"},
        ranges=[schedule.Range(schedule.ALL_WEEKDAYS, 0, schedule.MINUTES_PER_DAY)],
    )
    endpoint, _ = register(receiver.url, campaigns=[campaign], types=["message.created"])
    customer_writes(campaign, "psid-g", "x")
    webhook_endpoint_update(
        endpoint=endpoint,
        spec=EndpointSpec(url=receiver.url, event_types=["message.created"], campaign_ids=[other.pk]),
    )
    drain(endpoint)
    assert not receiver.received
    assert WebhookDelivery.objects.get(endpoint=endpoint).state == DeliveryState.CANCELLED


def test_a_private_address_is_refused_at_send_unless_allowed(page, campaign, register, receiver, settings):
    endpoint, _ = register(receiver.url, types=["message.created"])
    customer_writes(campaign, "psid-h", "x")
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    drain(endpoint)
    assert not receiver.received
    endpoint.refresh_from_db()
    assert "private or local address" in endpoint.last_error
    assert WebhookDelivery.objects.get(endpoint=endpoint).state == DeliveryState.PENDING


def test_conversations_go_side_by_side_each_in_order(page, campaign, register, receiver, monkeypatch):
    """Lanes: a receiver far away is not fed one delivery at a time. Each request waits until another
    is in flight beside it; sent one at a time, every one would give up and answer 500."""
    endpoint, _ = register(receiver.url, types=["message.created"])
    monkeypatch.setattr(delivery_module, "_answer_ms", {endpoint.pk: 150.0})  # a receiver far away
    side_by_side = threading.Barrier(2, timeout=5)

    def answer(request):
        try:
            side_by_side.wait()
        except threading.BrokenBarrierError:
            return 500, {}, b"alone"
        return 200, {}, b"ok"

    receiver.answer = answer
    for step in range(3):
        for psid in ("psid-x", "psid-y"):
            customer_writes(campaign, psid, f"{psid} {step}")
    assert drain(endpoint) is None
    assert WebhookAttempt.objects.filter(status_code=200).count() == 6
    texts = [b["data"]["message"]["text"] for b in receiver.bodies()]
    for psid in ("psid-x", "psid-y"):
        assert [t for t in texts if t.startswith(psid)] == [f"{psid} {step}" for step in range(3)]


def test_a_receiver_refusing_connections_stops_every_lane(page, campaign, register, receiver):
    endpoint, _ = register(receiver.url, types=["message.created"])
    receiver.up = False
    for psid in ("psid-1", "psid-2", "psid-3", "psid-4", "psid-5"):
        customer_writes(campaign, psid, "x")
    drain(endpoint)
    # One failed attempt per lane at most (those already in flight), then the endpoint pauses.
    assert 1 <= WebhookAttempt.objects.count() <= delivery_module.LANES
    assert open_count(endpoint) == 5
    endpoint.refresh_from_db()
    assert endpoint.paused_until is not None


def test_a_receiver_answering_at_once_gets_one_lane(monkeypatch):
    monkeypatch.setattr(delivery_module, "_answer_ms", {})
    assert delivery_module._slow(7)  # not known yet: lanes, in case it is far away
    fast = [delivery_module.Outcome(delivery=None, started_at=clock.now(), duration_ms=1.5, status_code=200)]  # type: ignore[arg-type]
    delivery_module._answer_time_note(7, fast)
    assert not delivery_module._slow(7)
    slow = [delivery_module.Outcome(delivery=None, started_at=clock.now(), duration_ms=300, status_code=200)]  # type: ignore[arg-type]
    delivery_module._answer_time_note(7, slow)
    assert delivery_module._slow(7)
