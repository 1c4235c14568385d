"""Reads of the outbound webhooks' admin side (admins only; the edges check the role first)."""

from __future__ import annotations

import uuid

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from pagedesk.core.errors import NotFound
from pagedesk.platform.models import OPEN_DELIVERY_STATES, WebhookDelivery, WebhookEndpoint


def webhook_endpoint_list() -> QuerySet[WebhookEndpoint]:
    return (
        WebhookEndpoint.objects.prefetch_related("campaigns")
        .annotate(open_deliveries=Count("deliveries", filter=Q(deliveries__state__in=OPEN_DELIVERY_STATES)))
        .order_by("id")
    )


def webhook_endpoint_get(*, endpoint_id: int) -> WebhookEndpoint:
    endpoint = webhook_endpoint_list().filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("not_found", _("There is no webhook endpoint %(id)s.") % {"id": endpoint_id})
    return endpoint


def webhook_delivery_list(
    *, endpoint: WebhookEndpoint, state: str = "", event_type: str = ""
) -> QuerySet[WebhookDelivery]:
    """Newest first, each with its event; attempts prefetched for the log."""
    rows = WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event").order_by("-id")
    if state:
        rows = rows.filter(state=state)
    if event_type:
        rows = rows.filter(event_type=event_type)
    return rows


def webhook_delivery_get(*, endpoint: WebhookEndpoint, delivery_id: str) -> WebhookDelivery:
    """By its public id (the uuid receivers see)."""
    try:
        public_id = uuid.UUID(str(delivery_id))
    except ValueError:
        public_id = None
    delivery = (
        WebhookDelivery.objects.select_related("event").filter(endpoint=endpoint, uuid=public_id).first()
        if public_id
        else None
    )
    if delivery is None:
        raise NotFound("not_found", _("This endpoint has no delivery %(id)s.") % {"id": delivery_id})
    return delivery
