"""Writing the outbox: a realtime event becomes one WebhookEvent and a delivery per subscribed endpoint,
inside the transaction of the change it reports (the `event_published` receiver calls this).

Costs nothing when no endpoint wants the event (platform.subscriptions answers from memory). When
one does, the transaction gets only what decides and orders the deliveries: the type, the campaigns
(the event's own fields; one small query for the two events that do not carry them), the ordering
key and the realtime event's fields, in one event row and one bulk insert of deliveries. The body's
`data` (the public shapes, which cost joins and building) is made after commit by
platform.building, off the committing thread, before anything is sent
(docs/decisions/outbound-webhooks.md, "Data after commit").
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.db import transaction

from pagedesk.accounts.models import User
from pagedesk.campaigns.models import Membership
from pagedesk.conversations.models import Conversation
from pagedesk.core import clock
from pagedesk.core.db import rows_insert
from pagedesk.platform import shapes, signing
from pagedesk.platform.kicker import drains_request
from pagedesk.platform.models import PING, DeliveryState, WebhookDelivery, WebhookEndpoint, WebhookEvent
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


# Every column without a NULL default, in rows_insert's order (the others start NULL).
DELIVERY_FIELDS = [
    "uuid",
    "endpoint",
    "event",
    "event_type",
    "ordering_key",
    "state",
    "created_at",
    "next_attempt_at",
    "retry_until",
    "replay",
    "attempts",
    "claim",
    "last_error",
]


@dataclass
class Decided:
    campaign_ids: list[int]
    ordering_key: str


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
            decided = _decide(event)
            if decided is None:
                return 0
            endpoints = [s for s in wanted if s.covers(decided.campaign_ids)]
            return _write(webhook_type=webhook_type, event=event, decided=decided, endpoints=endpoints)
    except Exception:
        logger.exception("webhook deliveries for %s were not written", event.type)
        return 0


def _write(*, webhook_type: str, event: rt.Event, decided: Decided, endpoints: list[Subscription]) -> int:
    if not endpoints:
        return 0
    now = clock.now()
    # Two prepared statements, not the ORM's create/bulk_create: they run in the customer's
    # transaction, and compiling them cost more than the inserts (profiled: about 1 ms an event with
    # 5 endpoints; docs/decisions/outbound-webhooks.md).
    event_id = rows_insert(
        WebhookEvent,
        fields=["type", "created_at", "campaign_ids", "ordering_key", "source"],
        rows=[[webhook_type, now, decided.campaign_ids, decided.ordering_key, event.as_message()]],
        returning_pk=True,
    )
    rows_insert(
        WebhookDelivery,
        fields=DELIVERY_FIELDS,
        rows=[
            [
                uuid.uuid4(),
                s.endpoint_id,
                event_id,
                webhook_type,
                decided.ordering_key,
                DeliveryState.PENDING,
                now,
                now,
                now + signing.RETRY_WINDOW,
                False,
                0,
                "",
                "",
            ]
            for s in endpoints
        ],
    )
    # After commit, the kicker asks for drains; each drain builds the data of every event still
    # without it before it sends anything, so the data is built a moment after commit even when
    # every endpoint of the event is paused.
    drains_request(s.endpoint_id for s in endpoints)
    return len(endpoints)


def _decide(event: rt.Event) -> Decided | None:
    """The campaigns and the ordering key, from the event's own fields where it carries them."""
    if isinstance(event, rt.MessageCreated):
        return Decided([event.campaign_id], f"conversation:{event.conversation_id}")
    if isinstance(event, rt.MessageStatusChanged):
        # The one conversation event without its campaign: one indexed single-column read (order_by():
        # compiling the model's default ordering cost more than the query).
        campaign_id = (
            Conversation.objects.filter(pk=event.conversation_id)
            .order_by()
            .values_list("campaign_id", flat=True)
            .first()
        )
        if campaign_id is None:
            return None
        return Decided([campaign_id], f"conversation:{event.conversation_id}")
    if isinstance(event, rt.ConversationTransferred):
        ids = sorted({event.from_campaign_id, event.to_campaign_id})
        return Decided(ids, f"conversation:{event.conversation_id}")
    if isinstance(
        event,
        rt.ConversationQueued | rt.ConversationAssigned | rt.ConversationClosed | rt.ConversationAbandoned,
    ):
        return Decided([event.campaign_id], f"conversation:{event.conversation_id}")
    if isinstance(event, rt.AgentStatusChanged):
        # An agent's event concerns the campaigns she is a member of (none: all-campaign endpoints).
        campaign_ids = sorted(
            set(
                Membership.objects.filter(agent_id=event.agent_id)
                .order_by()
                .values_list("campaign_id", flat=True)
            )
        )
        return Decided(campaign_ids, f"agent:{event.agent_id}")
    if isinstance(event, rt.CampaignTokenStatusChanged):
        return Decided([event.campaign_id], f"page:{event.campaign_id}")
    return None


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
