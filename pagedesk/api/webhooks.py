"""REST endpoints for outbound webhooks (mounted at /api/v1/webhooks; administrators only).

Register an endpoint (URL, event types, campaigns; the secret is returned once), change, disable or
enable it, rotate its secret, send it a `ping`, read its delivery log and redeliver. Receivers'
guide: docs/webhooks.md.
"""

# No `from __future__ import annotations` here: ninja's @paginate resolves the annotations.
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from pagedesk.api.pagination import PagePagination
from pagedesk.api.permissions import admin_user
from pagedesk.api.schemas import DELETE_REFUSALS, READ_REFUSALS, WRITE_REFUSALS, ObjectId
from pagedesk.api.webhooks_schemas import (
    DeliveryOut,
    DeliveryStateName,
    EventTypeName,
    SecretIn,
    SecretOut,
    WebhookCreatedOut,
    WebhookIn,
    WebhookOut,
    WebhookPatch,
)
from pagedesk.platform.models import WebhookEndpoint
from pagedesk.platform.selectors import (
    webhook_delivery_get,
    webhook_delivery_list,
    webhook_endpoint_get,
    webhook_endpoint_list,
)
from pagedesk.platform.services import (
    EndpointSpec,
    webhook_delivery_redeliver,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_disable,
    webhook_endpoint_enable,
    webhook_endpoint_secret_rotate,
    webhook_endpoint_test,
    webhook_endpoint_update,
)

router = Router(tags=["webhooks"])


def _get(request: HttpRequest, webhook_id: int) -> WebhookEndpoint:
    admin_user(request)
    return webhook_endpoint_get(endpoint_id=webhook_id)


def _out(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return WebhookOut.from_endpoint(webhook_endpoint_get(endpoint_id=endpoint.pk))


@router.get("", response={200: list[WebhookOut], **READ_REFUSALS})
@paginate(PagePagination)
def webhooks_list(request: HttpRequest) -> list[dict[str, Any]]:
    """Every registered endpoint with its state (admins only)."""
    admin_user(request)
    return _Shaped(webhook_endpoint_list(), WebhookOut.from_endpoint)  # type: ignore[return-value]


@router.post("", response={201: WebhookCreatedOut, **WRITE_REFUSALS})
def webhooks_create(request: HttpRequest, payload: WebhookIn) -> Status[dict[str, Any]]:
    """Register an endpoint; the answer carries its signing secret, this once."""
    user = admin_user(request)
    spec = EndpointSpec(
        url=payload.url,
        event_types=list(payload.event_types),
        campaign_ids=list(payload.campaign_ids),
        all_campaigns=payload.all_campaigns,
        description=payload.description,
    )
    endpoint, secret = webhook_endpoint_create(spec=spec, created_by=user, secret=payload.secret)
    return Status(201, {**_out(endpoint), "secret": secret})


@router.get("/{webhook_id}", response={200: WebhookOut, **READ_REFUSALS})
def webhooks_get(request: HttpRequest, webhook_id: ObjectId) -> dict[str, Any]:
    return WebhookOut.from_endpoint(_get(request, webhook_id))


@router.patch("/{webhook_id}", response={200: WebhookOut, **WRITE_REFUSALS})
def webhooks_update(request: HttpRequest, webhook_id: ObjectId, payload: WebhookPatch) -> dict[str, Any]:
    """Change what it receives; `enabled` disables it or enables it again."""
    user = admin_user(request)
    endpoint = _get(request, webhook_id)
    given = payload.dict(exclude_unset=True)
    enabled = given.pop("enabled", None)
    if given:
        current = WebhookOut.from_endpoint(endpoint)
        spec = EndpointSpec(
            url=given.get("url", endpoint.url),
            event_types=list(given.get("event_types", endpoint.event_types)),
            campaign_ids=list(given.get("campaign_ids", current["campaign_ids"])),
            all_campaigns=given.get("all_campaigns", endpoint.all_campaigns),
            description=given.get("description", endpoint.description),
        )
        endpoint = webhook_endpoint_update(endpoint=endpoint, spec=spec)
    if enabled is True and not endpoint.enabled:
        endpoint = webhook_endpoint_enable(endpoint=endpoint)
    elif enabled is False and endpoint.enabled:
        endpoint = webhook_endpoint_disable(endpoint=endpoint, by=user)
    return _out(endpoint)


@router.delete("/{webhook_id}", response={204: None, **DELETE_REFUSALS})
def webhooks_delete(request: HttpRequest, webhook_id: ObjectId) -> Status[None]:
    """Delete the endpoint and its delivery log; nothing more is sent to it."""
    webhook_endpoint_delete(endpoint=_get(request, webhook_id))
    return Status(204, None)


@router.post("/{webhook_id}/secret", response={200: SecretOut, **WRITE_REFUSALS})
def webhooks_rotate_secret(request: HttpRequest, webhook_id: ObjectId, payload: SecretIn) -> dict[str, str]:
    """A new signing secret, used from the next attempt on; returned this once."""
    secret = webhook_endpoint_secret_rotate(endpoint=_get(request, webhook_id), secret=payload.secret)
    return {"secret": secret}


@router.post("/{webhook_id}/test", response={202: DeliveryOut, **WRITE_REFUSALS})
def webhooks_test(request: HttpRequest, webhook_id: ObjectId) -> Status[dict[str, Any]]:
    """Queue a `ping` event to the endpoint; follow it in the delivery log."""
    user = admin_user(request)
    delivery = webhook_endpoint_test(endpoint=_get(request, webhook_id), by=user)
    return Status(202, DeliveryOut.from_delivery(delivery))


@router.get("/{webhook_id}/deliveries", response={200: list[DeliveryOut], **READ_REFUSALS})
@paginate(PagePagination)
def webhooks_deliveries(
    request: HttpRequest,
    webhook_id: ObjectId,
    state: DeliveryStateName | None = None,
    event_type: EventTypeName | None = None,
) -> list[dict[str, Any]]:
    """The delivery log, newest first: state, attempts with status, answer and timing."""
    endpoint = _get(request, webhook_id)
    rows = webhook_delivery_list(endpoint=endpoint, state=state or "", event_type=event_type or "")
    return _Shaped(rows.prefetch_related("attempt_rows"), DeliveryOut.from_delivery)  # type: ignore[return-value]


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver", response={202: DeliveryOut, **WRITE_REFUSALS}
)
def webhooks_redeliver(
    request: HttpRequest, webhook_id: ObjectId, delivery_id: str
) -> Status[dict[str, Any]]:
    """Send the delivery again, with the same id (receivers de-duplicate by it)."""
    endpoint = _get(request, webhook_id)
    delivery = webhook_delivery_redeliver(
        delivery=webhook_delivery_get(endpoint=endpoint, delivery_id=delivery_id)
    )
    return Status(202, DeliveryOut.from_delivery(delivery))


class _Shaped:
    """A queryset as the paginator slices it, each row of the page shaped (only that page is read)."""

    def __init__(self, rows: Any, shape: Callable[[Any], dict[str, Any]]) -> None:
        self.rows = rows
        self.shape = shape
        self.ordered = rows.ordered

    def count(self) -> int:
        return int(self.rows.count())

    def __getitem__(self, window: slice) -> list[dict[str, Any]]:
        return [self.shape(row) for row in self.rows[window]]
