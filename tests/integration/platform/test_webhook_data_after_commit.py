"""The body's data is built after commit, off the change's transaction: the transaction writes the
event's own fields only; the drain builds the data before it sends anything (also for a paused
endpoint), stores it once, and every attempt sends those bytes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from pagedesk.conversations.models import Message
from pagedesk.core import clock
from pagedesk.platform import delivery as delivery_module
from pagedesk.platform.building import webhook_events_build
from pagedesk.platform.delivery import endpoint_drain
from pagedesk.platform.models import DeliveryState, WebhookDelivery, WebhookEndpoint, WebhookEvent
from pagedesk.platform.services import webhook_delivery_redeliver
from pagedesk.realtime.events import MessageStatusChanged
from pagedesk.realtime.publish import publish
from tests.integration.platform.conftest import customer_writes

pytestmark = pytest.mark.django_db


def test_the_change_writes_no_shape_and_the_drain_builds_it_before_the_first_send(
    page, campaign, register, receiver
):
    endpoint, _ = register(receiver.url)
    received = customer_writes(campaign, "psid-1", "Where is my order?")
    events = list(WebhookEvent.objects.order_by("id"))
    assert events and all(event.data is None for event in events)
    assert {event.source["type"] for event in events} >= {"conversation.queued", "message.created"}

    assert endpoint_drain(endpoint_id=endpoint.pk) is None
    bodies = receiver.bodies()
    assert [b["type"] for b in bodies] == [e.type for e in events]
    assert all(b["data"] for b in bodies)
    created = next(b for b in bodies if b["type"] == "message.created")
    assert created["data"]["message"]["text"] == "Where is my order?"
    assert created["data"]["conversation"]["id"] == received.conversation.pk
    assert not WebhookEvent.objects.filter(data__isnull=True).exists()


def test_a_rolled_back_change_leaves_nothing_to_build_or_send(page, campaign, register, receiver):
    endpoint, _ = register(receiver.url)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        customer_writes(campaign, "psid-2")
        raise Boom
    assert webhook_events_build() == 0
    assert endpoint_drain(endpoint_id=endpoint.pk) is None
    assert receiver.received == []


def test_the_data_is_built_once_and_every_attempt_sends_the_same_bytes(page, campaign, register, receiver):
    endpoint, _ = register(receiver.url, types=["message.created"])
    received = customer_writes(campaign, "psid-3", "first words")
    endpoint_drain(endpoint_id=endpoint.pk)
    # The message changes after the data was built: a redelivery still sends the first body.
    Message.objects.filter(pk=received.message.pk).update(text="edited later")
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    webhook_delivery_redeliver(delivery=delivery)
    endpoint_drain(endpoint_id=endpoint.pk)
    first, second = receiver.received
    assert first.body == second.body
    assert first.json["data"]["message"]["text"] == "first words"


def test_a_paused_endpoint_s_events_are_built_at_once(page, campaign, register, receiver):
    endpoint, _ = register(receiver.url, types=["message.created"])
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(paused_until=clock.now() + dt.timedelta(minutes=5))
    customer_writes(campaign, "psid-4", "while paused")
    assert endpoint_drain(endpoint_id=endpoint.pk) is not None  # paused: comes back later
    assert receiver.received == []
    event = WebhookEvent.objects.get()
    assert event.data is not None and event.data["message"]["text"] == "while paused"


def test_an_event_not_built_yet_holds_back_its_conversation(page, campaign, register, receiver, monkeypatch):
    endpoint, _ = register(receiver.url, types=["message.created"])
    customer_writes(campaign, "psid-5", "one")
    customer_writes(campaign, "psid-5", "two")
    # The builder failing (say, the database was unreachable for a moment).
    monkeypatch.setattr(delivery_module, "webhook_events_build", lambda **kwargs: 0)
    next_at = endpoint_drain(endpoint_id=endpoint.pk)
    assert next_at is not None and next_at > clock.now()
    assert receiver.received == []
    assert not WebhookDelivery.objects.exclude(state=DeliveryState.PENDING).exists()
    monkeypatch.undo()
    assert endpoint_drain(endpoint_id=endpoint.pk) is None
    assert [b["data"]["message"]["text"] for b in receiver.bodies()] == ["one", "two"]


def test_a_status_event_says_the_status_it_reports_not_a_later_one(page, campaign, register, receiver, ada):
    endpoint, _ = register(receiver.url, types=["message.status_changed"])
    received = customer_writes(campaign, "psid-6", "hi")
    message = received.message
    with transaction.atomic():
        publish(
            MessageStatusChanged(
                message_id=message.pk, conversation_id=message.conversation_id, status="sent"
            ),
            to=[],
        )
    # The row moved on before the data was built.
    Message.objects.filter(pk=message.pk).update(status="read")
    endpoint_drain(endpoint_id=endpoint.pk)
    (body,) = receiver.bodies()
    assert body["data"]["message"]["status"] == "sent"
    assert body["data"]["conversation"]["id"] == message.conversation_id


def test_a_gone_subject_cancels_its_deliveries_and_holds_nothing_back(page, campaign, register, receiver):
    endpoint, _ = register(receiver.url, types=["message.created"])
    gone = customer_writes(campaign, "psid-7", "deleted").message
    customer_writes(campaign, "psid-7", "kept")
    Message.objects.filter(pk=gone.pk).delete()
    endpoint_drain(endpoint_id=endpoint.pk)
    assert [b["data"]["message"]["text"] for b in receiver.bodies()] == ["kept"]
    cancelled = WebhookDelivery.objects.get(state=DeliveryState.CANCELLED)
    assert cancelled.last_error == "The message no longer exists."


def test_the_build_reads_a_batch_in_a_few_queries(page, campaign, register, receiver):
    register(receiver.url)
    for index in range(10):
        customer_writes(campaign, f"psid-batch-{index}", "hello")
    count = WebhookEvent.objects.filter(data__isnull=True).count()
    assert count >= 20
    with CaptureQueriesContext(connection) as queries:
        assert webhook_events_build() == count
    # The work list, messages, their attachments, conversations, and the stores (one executemany).
    assert len(queries) <= 8, [q["sql"][:80] for q in queries]
