"""Writing the outbox: a realtime event becomes one WebhookEvent and a delivery per subscribed endpoint,
inside the transaction of the change it reports (the `event_published` receiver calls this).

Costs nothing when no endpoint wants the event (platform.subscriptions answers from memory). When
one does, the event's data is read once (one or two queries: the public shapes of
pagedesk.platform.shapes, as the API shows them at this moment) and written once, with one delivery
row per endpoint.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from pagedesk.accounts.models import User
from pagedesk.conversations.models import Conversation, Message
from pagedesk.core import clock
from pagedesk.messenger.models import InboundEvent, PageConnection
from pagedesk.platform import shapes, signing
from pagedesk.platform.kicker import drains_request
from pagedesk.platform.models import PING, WebhookDelivery, WebhookEndpoint, WebhookEvent
from pagedesk.platform.subscriptions import Subscription, active_subscriptions
from pagedesk.realtime import events as rt

logger = logging.getLogger(__name__)

# Realtime event type → webhook event type (the same name, except the page's token).
TYPES = {
    "message.created": "message.created",
    "message.status_changed": "message.status_changed",
    "conversation.queued": "conversation.queued",
    "conversation.assigned": "conversation.assigned",
    "conversation.transferred": "conversation.transferred",
    "conversation.closed": "conversation.closed",
    "conversation.abandoned": "conversation.abandoned",
    "agent.status_changed": "agent.status_changed",
    "campaign.token_status_changed": "page.token_status_changed",
}


@dataclass
class Built:
    campaign_ids: list[int]
    ordering_key: str
    data: dict[str, Any]


def webhook_event_record(*, event: rt.Event) -> int:
    """Write the outbox rows for a realtime event; returns how many deliveries were written."""
    webhook_type = TYPES.get(event.type)
    if webhook_type is None:
        return 0
    wanted = [s for s in active_subscriptions() if webhook_type in s.event_types]
    if not wanted:
        return 0
    hint = getattr(event, "campaign_id", None)
    if hint is not None and not any(s.covers([hint]) for s in wanted):
        return 0  # the common "registered for other campaigns" case, before reading anything
    try:
        # A savepoint: a fault here (a bug, a row gone) must not fail the customer's message or the
        # agent's action it reports; it costs that event's deliveries, and is logged loudly.
        with transaction.atomic():
            built = _build(event)
            if built is None:
                return 0
            endpoints = [s for s in wanted if s.covers(built.campaign_ids)]
            return _write(webhook_type=webhook_type, built=built, endpoints=endpoints)
    except Exception:
        logger.exception("webhook deliveries for %s were not written", event.type)
        return 0


def _write(*, webhook_type: str, built: Built, endpoints: list[Subscription]) -> int:
    if not endpoints:
        return 0
    now = clock.now()
    record = WebhookEvent.objects.create(
        type=webhook_type,
        created_at=now,
        campaign_ids=built.campaign_ids,
        ordering_key=built.ordering_key,
        data=built.data,
    )
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint_id=s.endpoint_id,
                event=record,
                event_type=webhook_type,
                ordering_key=built.ordering_key,
                created_at=now,
                next_attempt_at=now,
                retry_until=now + signing.RETRY_WINDOW,
            )
            for s in endpoints
        ]
    )
    drains_request(s.endpoint_id for s in endpoints)
    return len(endpoints)


def ping_record(*, endpoint: WebhookEndpoint, by: User) -> WebhookDelivery:
    """A `ping` for one endpoint ("Send a test event"), delivered like any other event."""
    now = clock.now()
    with transaction.atomic():
        record = WebhookEvent.objects.create(
            type=PING,
            created_at=now,
            campaign_ids=[],
            ordering_key=f"ping:{uuid.uuid4().hex[:16]}",
            data={"endpoint_id": endpoint.pk, "sent_by": shapes.json_data(shapes.user_ref(by))},  # type: ignore[arg-type]
        )
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event=record,
            event_type=PING,
            ordering_key=record.ordering_key,
            created_at=now,
            next_attempt_at=now,
            retry_until=now + signing.RETRY_WINDOW,
            # A test ignores the endpoint's queue: it shows whether the receiver answers now.
            replay=True,
        )
        drains_request([endpoint.pk])
    return delivery


# --- the data of each event: the API's shapes --------------------------------------------------------


def _conversation(conversation_id: int) -> Conversation | None:
    # order_by(): a lookup by key needs no ORDER BY, and compiling the model's default ordering was a
    # good part of this query's cost inside the change's transaction (profiled).
    return next(
        iter(
            Conversation.objects.select_related(*shapes.CONVERSATION_RELATED)
            .filter(pk=conversation_id)
            .order_by()[:1]
        ),
        None,
    )


def _conversation_built(conversation_id: int, extra: dict[str, Any], *campaign_ids: int) -> Built | None:
    conversation = _conversation(conversation_id)
    if conversation is None:
        return None
    data = {"conversation": shapes.json_data(shapes.conversation_shape(conversation)), **extra}
    ids = sorted({conversation.campaign_id, *campaign_ids})
    return Built(campaign_ids=ids, ordering_key=f"conversation:{conversation_id}", data=data)


def _build(event: rt.Event) -> Built | None:
    if isinstance(event, rt.MessageCreated | rt.MessageStatusChanged):
        related = [
            *shapes.MESSAGE_RELATED,
            *(f"conversation__{name}" for name in shapes.CONVERSATION_RELATED),
        ]
        rows = (
            Message.objects.select_related("conversation", *related)
            .prefetch_related(*shapes.MESSAGE_PREFETCH)
            .filter(pk=event.message_id)
            .order_by()[:1]
        )
        message = next(iter(rows), None)
        if message is None:
            return None
        conversation = message.conversation
        data = {
            "message": shapes.json_data(shapes.message_shape(message)),
            "conversation": shapes.json_data(shapes.conversation_shape(conversation)),
        }
        return Built(
            campaign_ids=[conversation.campaign_id],
            ordering_key=f"conversation:{conversation.pk}",
            data=data,
        )
    if isinstance(event, rt.ConversationQueued):
        return _conversation_built(event.conversation_id, {"reason": event.reason})
    if isinstance(event, rt.ConversationAssigned):
        return _conversation_built(event.conversation_id, {"how": event.how, "agent_id": event.agent_id})
    if isinstance(event, rt.ConversationTransferred):
        transfer = {
            "from_campaign_id": event.from_campaign_id,
            "to_campaign_id": event.to_campaign_id,
            "from_agent_id": event.from_agent_id,
            "to_agent_id": event.to_agent_id,
            "note": event.note,
        }
        return _conversation_built(
            event.conversation_id, {"transfer": transfer}, event.from_campaign_id, event.to_campaign_id
        )
    if isinstance(event, rt.ConversationClosed | rt.ConversationAbandoned):
        return _conversation_built(event.conversation_id, {})
    if isinstance(event, rt.AgentStatusChanged):
        agent = next(iter(User.objects.filter(pk=event.agent_id).order_by()[:1]), None)
        if agent is None:
            return None
        campaign_ids = sorted(agent.memberships.values_list("campaign_id", flat=True))
        shape = shapes.agent_status_shape(
            agent,
            campaign_ids=campaign_ids,
            break_reason=event.break_reason,
            changed_at=dt.datetime.fromisoformat(event.changed_at),
        )
        # The presence the event reports, not a later one read back from the row.
        shape.presence = event.presence  # type: ignore[assignment]
        return Built(
            campaign_ids=campaign_ids, ordering_key=f"agent:{agent.pk}", data=shapes.json_data(shape)
        )
    if isinstance(event, rt.CampaignTokenStatusChanged):
        connection = (
            PageConnection.objects.select_related("campaign").filter(campaign_id=event.campaign_id).first()
        )
        if connection is None:
            return None
        last = (
            InboundEvent.objects.filter(page_id=connection.page_id)
            .order_by("-received_at")
            .values_list("received_at", flat=True)
            .first()
            if connection.page_id
            else None
        )
        return Built(
            campaign_ids=[event.campaign_id],
            ordering_key=f"page:{event.campaign_id}",
            data=shapes.json_data(shapes.page_shape(connection, last_webhook_at=last)),
        )
    return None
