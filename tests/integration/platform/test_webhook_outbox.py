"""The outbox: deliveries are written in the transaction of the change they report, only for the
endpoints registered for its type and campaign, and an event with no endpoint costs no query."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from pagedesk.campaigns import schedule
from pagedesk.campaigns.services import campaign_create
from pagedesk.platform.building import webhook_events_build
from pagedesk.platform.models import WebhookDelivery, WebhookEvent
from pagedesk.platform.services import webhook_endpoint_disable
from pagedesk.platform.subscriptions import active_subscriptions
from pagedesk.realtime.events import ConversationQueued
from pagedesk.realtime.publish import publish
from tests.integration.platform.conftest import customer_writes

pytestmark = pytest.mark.django_db


def test_a_customer_message_writes_its_events_for_the_endpoint(page, campaign, register, receiver):
    endpoint, _secret = register(receiver.url)
    received = customer_writes(campaign, "psid-1", "Where is my order?")
    types = list(
        WebhookDelivery.objects.filter(endpoint=endpoint).order_by("id").values_list("event_type", flat=True)
    )
    assert types[0] == "conversation.queued"
    assert "message.created" in types
    created = WebhookEvent.objects.get(type="message.created")
    # The transaction wrote what decides and orders the deliveries; the shapes come after commit.
    assert created.data is None
    assert created.source["message_id"] == received.message.pk
    assert created.ordering_key == f"conversation:{received.conversation.pk}"
    assert created.campaign_ids == [campaign.pk]
    assert webhook_events_build() == len(types)
    created.refresh_from_db()
    assert created.data["message"]["text"] == "Where is my order?"
    assert created.data["message"]["direction"] == "in"
    assert created.data["conversation"]["id"] == received.conversation.pk
    assert created.data["conversation"]["contact"]["psid"] == "psid-1"
    assert created.ordering_key == f"conversation:{received.conversation.pk}"
    assert created.campaign_ids == [campaign.pk]


def test_the_outbox_rolls_back_with_the_change(page, campaign, register, receiver):
    register(receiver.url)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        customer_writes(campaign, "psid-2")
        assert WebhookDelivery.objects.exists()
        raise Boom
    assert not WebhookDelivery.objects.exists()
    assert not WebhookEvent.objects.exists()


def test_only_the_registered_campaigns_and_types(page, campaign, register, receiver):
    other = campaign_create(
        fields={"name": "Other", "page_name": "Other"},
        ranges=[schedule.Range(schedule.ALL_WEEKDAYS, 0, schedule.MINUTES_PER_DAY)],
    )
    for_other, _ = register(receiver.url, campaigns=[other])
    only_messages, _ = register(receiver.url, campaigns=[campaign], types=["message.created"])
    customer_writes(campaign, "psid-3")
    assert not WebhookDelivery.objects.filter(endpoint=for_other).exists()
    assert set(
        WebhookDelivery.objects.filter(endpoint=only_messages).values_list("event_type", flat=True)
    ) == {"message.created"}


def test_a_disabled_endpoint_gets_nothing(page, campaign, register, receiver, ada):
    endpoint, _ = register(receiver.url)
    webhook_endpoint_disable(endpoint=endpoint, by=ada)
    customer_writes(campaign, "psid-4")
    assert not WebhookDelivery.objects.exists()


def test_no_endpoint_no_query(campaign):
    active_subscriptions()  # the once-a-second version check, done
    with CaptureQueriesContext(connection) as queries:
        for _ in range(50):
            publish(ConversationQueued(conversation_id=1, campaign_id=campaign.pk, version=1), to=["x"])
    assert len(queries) == 0, [q["sql"] for q in queries]


def test_an_endpoint_for_other_event_types_costs_no_query_either(campaign, register, receiver):
    register(receiver.url, types=["agent.status_changed"])
    active_subscriptions()
    with CaptureQueriesContext(connection) as queries:
        publish(ConversationQueued(conversation_id=1, campaign_id=campaign.pk, version=1), to=["x"])
    assert len(queries) == 0
