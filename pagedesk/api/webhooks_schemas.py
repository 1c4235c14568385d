"""API shapes for outbound webhook endpoints and their delivery logs (docs/webhooks.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict
from pydantic.config import JsonDict

from pagedesk.api.schemas import InputSchema, ObjectId, OptionalFieldsSchema
from pagedesk.platform.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from pagedesk.platform.signing import URL_PATTERN

EventTypeName = Literal[
    "message.created",
    "message.status_changed",
    "conversation.queued",
    "conversation.assigned",
    "conversation.transferred",
    "conversation.closed",
    "conversation.abandoned",
    "agent.status_changed",
    "page.token_status_changed",
]
DeliveryStateName = Literal["pending", "delivering", "delivered", "failed", "cancelled"]
URL_HELP = (
    "http(s) URL pagedesk POSTs to, without user:password@. A host that cannot be found, or that "
    "resolves to a private or local address, is refused with a 400 (private ones are allowed when the "
    "server sets PAGEDESK_WEBHOOKS_ALLOW_PRIVATE)."
)
URL_EXAMPLES = ["https://crm.example.com/hooks/pagedesk"]

# The examples below: Acme's CRM receiving campaign 1's messages and closes.
CRM: JsonDict = {
    "id": 4,
    "url": "https://crm.example.com/hooks/pagedesk",
    "description": "CRM sync",
    "event_types": ["message.created", "conversation.closed"],
    "campaign_ids": [1],
    "all_campaigns": False,
    "state": "active",
    "enabled": True,
    "failing_since": None,
    "last_error": "",
    "paused_until": None,
    "disabled_at": None,
    "disabled_reason": "",
    "open_deliveries": 0,
    "created_at": "2026-12-01T11:02:45+01:00",
}
FAILING: JsonDict = {
    **CRM,
    "id": 5,
    "url": "https://reports.example.com/pagedesk",
    "description": "Reporting",
    "event_types": ["conversation.closed", "conversation.abandoned"],
    "campaign_ids": [],
    "all_campaigns": True,
    "state": "failing",
    "failing_since": "2026-12-07T09:12:00+01:00",
    "last_error": "HTTP 503 from the receiver",
    "paused_until": "2026-12-07T10:25:40+01:00",
    "open_deliveries": 17,
}
ATTEMPT: JsonDict = {
    "number": 1,
    "started_at": "2026-12-07T10:14:02.118000+01:00",
    "duration_ms": 84.2,
    "status_code": 200,
    "response_body": "ok",
    "error": "",
    "manual": False,
}
DELIVERY: JsonDict = {
    "id": "0b9f3c5e-6f0a-4d7e-9a43-3d2b8f1c7e21",
    "event_type": "conversation.closed",
    "state": "delivered",
    "created_at": "2026-12-07T10:14:02+01:00",
    "attempts": 1,
    "next_attempt_at": None,
    "last_status_code": 200,
    "last_error": "",
    "last_duration_ms": 84.2,
    "delivered_at": "2026-12-07T10:14:02.202000+01:00",
    "body": {
        "id": "0b9f3c5e-6f0a-4d7e-9a43-3d2b8f1c7e21",
        "type": "conversation.closed",
        "created_at": "2026-12-07T09:14:02.001000Z",
        "data": {"id": 381, "state": "closed", "campaign": {"id": 1, "name": "Acme Support"}},
    },
    "attempt_log": [ATTEMPT],
}


class WebhookIn(InputSchema):
    url: str = Field(max_length=2000, pattern=URL_PATTERN, description=URL_HELP, examples=URL_EXAMPLES)
    description: str = Field("", max_length=200, examples=["CRM sync"])
    event_types: list[EventTypeName] = Field(
        min_length=1, examples=[["message.created", "conversation.closed"]]
    )
    campaign_ids: list[ObjectId] = Field(
        default_factory=list,
        description="The campaigns whose events it receives (an id naming no campaign is a 400); "
        "may be empty with all_campaigns.",
        examples=[[1]],
    )
    all_campaigns: bool = Field(False, description="Every campaign, also those created later.")
    secret: str | None = Field(
        None,
        min_length=16,
        max_length=200,
        description="Leave out to have one generated. Returned once, in this response only.",
    )

    json_examples = [
        {
            "url": "https://crm.example.com/hooks/pagedesk",
            "description": "CRM sync",
            "event_types": ["message.created", "conversation.closed"],
            "campaign_ids": [1],
        },
        {
            "url": "https://reports.example.com/pagedesk",
            "description": "Reporting",
            "event_types": ["conversation.closed", "conversation.abandoned"],
            "all_campaigns": True,
            "secret": "a-long-secret-shared-with-reporting",
        },
    ]


class WebhookPatch(OptionalFieldsSchema):
    url: str | None = Field(
        None, max_length=2000, pattern=URL_PATTERN, description=URL_HELP, examples=URL_EXAMPLES
    )
    description: str | None = Field(None, max_length=200)
    event_types: list[EventTypeName] | None = Field(None, min_length=1)
    campaign_ids: list[ObjectId] | None = None
    all_campaigns: bool | None = None
    enabled: bool | None = Field(
        None, description="false disables it; true enables it again (also after the 24 h disable)."
    )

    json_examples = [
        {"enabled": False},
        {"event_types": ["message.created", "message.status_changed", "conversation.closed"]},
    ]


class SecretIn(InputSchema):
    secret: str | None = Field(None, min_length=16, max_length=200, description="Leave out to generate one.")

    json_examples = [{}, {"secret": "a-new-long-secret-for-the-crm"}]


class WebhookOut(Schema):
    id: int
    url: str
    description: str
    event_types: list[str]
    campaign_ids: list[int]
    all_campaigns: bool
    state: Literal["active", "failing", "disabled"] = Field(
        description="failing: its last attempts failed (see failing_since); disabled: see disabled_reason."
    )
    enabled: bool
    failing_since: dt.datetime | None
    last_error: str
    paused_until: dt.datetime | None = Field(
        description="Set after a connection failure, timeout or 429: no attempt before this time."
    )
    disabled_at: dt.datetime | None
    disabled_reason: str
    open_deliveries: int = Field(description="Deliveries pending or in flight.")
    created_at: dt.datetime

    model_config = ConfigDict(json_schema_extra={"examples": [CRM, FAILING]})

    @staticmethod
    def from_endpoint(endpoint: WebhookEndpoint) -> dict[str, Any]:
        return {
            **{name: getattr(endpoint, name) for name in WebhookOut.model_fields if hasattr(endpoint, name)},
            "campaign_ids": sorted(c.pk for c in endpoint.campaigns.all()),
            "open_deliveries": getattr(endpoint, "open_deliveries", 0),
        }


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="The signing secret, shown this once.", examples=["whsec_…"])

    model_config = ConfigDict(
        json_schema_extra={"examples": [{**CRM, "secret": "whsec_q3ZrV8mB1xTn0cYwL5pKfE2hJ7aUoS9dG4iR6tW"}]}
    )


class SecretOut(Schema):
    secret: str = Field(description="The new signing secret, shown this once.")

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"secret": "whsec_M2nB7vC4xZ9lK1jH6gF3dS8aP5oI0uY2tR7eW4q"}]}
    )


class AttemptOut(Schema):
    number: int
    started_at: dt.datetime
    duration_ms: float
    status_code: int | None
    response_body: str = Field(description="The first 2 KB of the receiver's answer.")
    error: str
    manual: bool = Field(description="A redelivery or test asked for by an admin.")

    model_config = ConfigDict(json_schema_extra={"examples": [ATTEMPT]})

    @staticmethod
    def from_attempt(attempt: WebhookAttempt) -> dict[str, Any]:
        return {name: getattr(attempt, name) for name in AttemptOut.model_fields}


class DeliveryOut(Schema):
    id: str = Field(description="The delivery id: the body's `id` and X-Pagedesk-Delivery.")
    event_type: str
    state: DeliveryStateName
    created_at: dt.datetime
    attempts: int
    next_attempt_at: dt.datetime | None = Field(description="For a pending delivery: when it is tried next.")
    last_status_code: int | None
    last_error: str
    last_duration_ms: float | None
    delivered_at: dt.datetime | None
    body: dict[str, Any] = Field(
        description=(
            "The JSON body every attempt sends (docs/webhooks.md). `data` is null for a moment after the"
            " event, until it is built; nothing is sent before."
        )
    )
    attempt_log: list[AttemptOut] = Field(description="Newest first.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                DELIVERY,
                {
                    **DELIVERY,
                    "id": "5d1e2a77-1c3b-4f0e-8b6a-0e9c2d4f6a18",
                    "event_type": "ping",
                    "state": "pending",
                    "attempts": 0,
                    "next_attempt_at": "2026-12-07T10:20:00+01:00",
                    "last_status_code": None,
                    "last_duration_ms": None,
                    "delivered_at": None,
                    "body": {
                        "id": "5d1e2a77-1c3b-4f0e-8b6a-0e9c2d4f6a18",
                        "type": "ping",
                        "created_at": "2026-12-07T09:20:00Z",
                        "data": {"endpoint_id": 4, "sent_by": {"id": 1, "name": "Ada", "integration": False}},
                    },
                    "attempt_log": [],
                },
            ]
        }
    )

    @staticmethod
    def from_delivery(delivery: WebhookDelivery) -> dict[str, Any]:
        event = delivery.event
        return {
            "id": str(delivery.uuid),
            "event_type": delivery.event_type,
            "state": delivery.state,
            "created_at": delivery.created_at,
            "attempts": delivery.attempts,
            "next_attempt_at": delivery.next_attempt_at if delivery.state == "pending" else None,
            "last_status_code": delivery.last_status_code,
            "last_error": delivery.last_error,
            "last_duration_ms": delivery.last_duration_ms,
            "delivered_at": delivery.delivered_at,
            "body": {
                "id": str(delivery.uuid),
                "type": event.type,
                "created_at": event.created_at,
                "data": event.data,
            },
            "attempt_log": [AttemptOut.from_attempt(a) for a in delivery.attempt_rows.all()],
        }
