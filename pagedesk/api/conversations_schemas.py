"""Query parameters, list envelopes and documented examples of the API's read side: conversations,
their messages and transcript, contacts, recordings and pages. The shapes of the things themselves
(a conversation, a message, a contact, a page) are pagedesk.platform.shapes, shared with the outbound
webhooks."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import AwareDatetime, Field, field_validator

from pagedesk.api.pagination import PageEnvelope, PageQuery
from pagedesk.core.errors import ApplicationError
from pagedesk.platform.shapes import (
    ContactOut,
    ConversationOut,
    ConversationStateName,
    MessageOut,
)
from pagedesk.recordings.fts import search_terms

ID_MAX = 2**63 - 1
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
TEXT_MAX = 200


def _date_field(alias: str, description: str, example: str) -> Any:
    # A string checked by `local_day` (for its message); the schema tells clients the format.
    return Field(
        None,
        alias=alias,
        description=description,
        examples=[example],
        json_schema_extra={"format": "date", "pattern": DATE_PATTERN},
    )


def local_day(value: str | None, field: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ApplicationError(
            "invalid_date",
            _("“%(value)s” is not a date; use YYYY-MM-DD (a day in the campaign's time zone).")
            % {"value": value},
            status=422,
            field=field,
        ) from None


# Text in a query string carries no NUL pattern: core.middleware removes NUL from every query string
# before a view sees it (PostgreSQL cannot take one), so such a value is accepted, not refused.


class _SearchText(Schema):
    q: str | None = Field(
        None,
        max_length=TEXT_MAX,
        description="Words in the messages (full text, whole words, any order, case-insensitive): the "
        "conversations with a message containing every word.",
        examples=["refund"],
    )


def search_text(value: str | None) -> str:
    """`q`, refused (400) when it has no word the search reads: well formed, but it would search nothing
    and so list everything (the recordings form's rule)."""
    if value is not None and value.strip() and not search_terms(value):
        raise ApplicationError(
            "no_search_words",
            _("Search words are made of letters or digits; “%(text)s” has none.") % {"text": value.strip()},
            status=400,
            field="q",
        )
    return value or ""


class ConversationsQuery(PageQuery, _SearchText):
    campaign: int | None = Field(None, ge=1, le=ID_MAX, description="Only this campaign's.", examples=[3])
    state: ConversationStateName | None = Field(None, description="Only in this state.", examples=["closed"])
    agent: int | None = Field(
        None,
        ge=1,
        le=ID_MAX,
        description="Only those this agent took part in: assigned, handed over by a transfer, or wrote in.",
        examples=[12],
    )
    contact: int | None = Field(None, ge=1, le=ID_MAX, description="Only this contact's.", examples=[41])
    date_from: str | None = _date_field(
        "from", "Created on or after this local day (the campaign's time zone), YYYY-MM-DD.", "2026-03-01"
    )
    date_to: str | None = _date_field("to", "Created on or before this local day, YYYY-MM-DD.", "2026-03-31")
    updated_since: AwareDatetime | None = Field(
        None,
        description="Only those that changed at or after this moment (ISO 8601 with a zone): a new message "
        "in either direction, or a state change (queued, assigned, transferred, returned, closed, "
        "abandoned). Poll with the time of your previous poll.",
        examples=["2026-03-02T10:00:00Z"],
    )
    order: Literal["newest", "oldest"] = Field(
        "newest", description="By creation: newest first (default) or oldest first."
    )

    @field_validator("updated_since", mode="before")
    @classmethod
    def iso_only(cls, value: object) -> object:
        # pydantic would read "0.5" as seconds since 1970: the schema promises ISO 8601 only.
        if isinstance(value, str) and not re.match(r"^[0-9]{4}-", value):
            raise ValueError(_("Use ISO 8601 with a time zone, e.g. 2026-03-02T10:00:00Z."))
        if not isinstance(value, str | dt.datetime | None):
            raise ValueError(_("Use ISO 8601 with a time zone, e.g. 2026-03-02T10:00:00Z."))
        return value


class ConversationPageOut(PageEnvelope):
    items: list[ConversationOut]


class RecordingsQuery(PageQuery, _SearchText):
    """The recordings page's filters (pagedesk.recordings.forms.RecordingFilterForm), same names save
    the dates, same checks: a campaign, agent or disposition you may not pick there is refused here."""

    date_from: str | None = _date_field(
        "from", "Created on or after this local day (the campaign's time zone), YYYY-MM-DD.", "2026-03-01"
    )
    date_to: str | None = _date_field("to", "Created on or before this local day, YYYY-MM-DD.", "2026-03-31")
    campaign: int | None = Field(None, ge=1, le=ID_MAX, examples=[3])
    agent: int | None = Field(
        None, ge=1, le=ID_MAX, description="Took part (not offered to agents: theirs only).", examples=[12]
    )
    customer: str | None = Field(
        None,
        max_length=150,
        description="Words of the customer's name, or their whole PSID.",
        examples=["Carla"],
    )
    state: Literal["closed", "abandoned", "after_hours", "blocked", "queued", "assigned"] | None = None
    disposition: int | None = Field(
        None, ge=1, le=ID_MAX, description="This disposition or one of its sub-dispositions.", examples=[7]
    )


class RecordingPageOut(PageEnvelope):
    count_capped: bool = Field(
        description="True when more than 10,000 match: `count` is then 10,000 (the page says “10,000+”)."
    )
    items: list[ConversationOut]


class MessagesQuery(Schema):
    before: int | None = Field(
        None,
        ge=1,
        le=ID_MAX,
        description="A message id of this conversation: the messages just before it (older).",
        examples=[9120],
    )
    after: int | None = Field(
        None,
        ge=1,
        le=ID_MAX,
        description="A message id of this conversation: the messages just after it (newer).",
        examples=[9170],
    )
    limit: int = Field(50, ge=1, le=200, description="Messages per page, 1–200.")


class MessagePageOut(Schema):
    items: list[MessageOut] = Field(description="In thread order, oldest first.")
    before: int | None = Field(
        description="Pass as `?before=` for the older page; null when there is nothing older."
    )
    after: int | None = Field(
        description="Pass as `?after=` for newer messages (set even when there are none yet, to poll); "
        "null only when the conversation has no message."
    )
    has_before: bool = Field(description="Older messages exist.")
    has_after: bool = Field(description="Newer messages exist (now).")


class TimelineEntryOut(Schema):
    kind: str = Field(
        description="queued, assigned, transferred, returned_to_queue, closed, abandoned, after_hours, "
        "blocked, …"
    )
    at: dt.datetime
    actor: str = Field(description="Who did it; empty for pagedesk itself.")
    agent: str
    from_agent: str
    to_agent: str
    note: str
    disposition: str
    reason: str


class TranscriptOut(Schema):
    conversation: ConversationOut
    wait_seconds: float | None = Field(description="Queued until assigned (or abandoned, or now).")
    handle_seconds: float | None = Field(description="Assigned until closed (or now).")
    messages: list[MessageOut]
    timeline: list[TimelineEntryOut]


class ContactsQuery(PageQuery):
    campaign: int | None = Field(
        None, ge=1, le=ID_MAX, description="Only those who wrote to this campaign.", examples=[3]
    )
    page_id: str | None = Field(
        None,
        max_length=64,
        pattern=r"^[0-9]+$",
        description="Only this Facebook Page's customers.",
        examples=["1000000000000001"],
    )
    q: str | None = Field(
        None,
        max_length=150,
        description="Words of the name, or the whole PSID.",
        examples=["Carla"],
    )
    blocked: bool | None = Field(
        None, description="Only those blocked (true) or not blocked (false) in a campaign you may see."
    )


class ContactPageOut(PageEnvelope):
    items: list[ContactOut]


# --- Examples shown in the OpenAPI document -----------------------------------------------------------

_CAMPAIGN = {"id": 3, "name": "Acme Support"}
_CONTACT = {
    "id": 41,
    "display_name": "Carla Mendes",
    "psid": "7100000000000123",
    "page_id": "1000000000000001",
}
_AGENT = {"id": 12, "name": "Alice", "integration": False}
CONVERSATION_EXAMPLE: dict[str, Any] = {
    "id": 9001,
    "state": "closed",
    "version": 4,
    "campaign": _CAMPAIGN,
    "contact": _CONTACT,
    "agent": _AGENT,
    "disposition": {"id": 7, "name": "Refund", "category": "Solved"},
    "closed_by": _AGENT,
    "created_at": "2026-03-02T10:00:00Z",
    "queued_at": "2026-03-02T10:00:00Z",
    "assigned_at": "2026-03-02T10:00:21Z",
    "first_response_at": "2026-03-02T10:00:48Z",
    "closed_at": "2026-03-02T10:09:30Z",
    "abandoned_at": None,
    "last_message_at": "2026-03-02T10:09:02Z",
    "last_customer_message_at": "2026-03-02T10:08:40Z",
}
DETAIL_EXAMPLE: dict[str, Any] = {
    **CONVERSATION_EXAMPLE,
    "state": "queued",
    "agent": None,
    "disposition": None,
    "closed_by": None,
    "assigned_at": None,
    "first_response_at": None,
    "closed_at": None,
    "window": {"mode": "RESPONSE", "expires_at": "2026-03-03T10:08:40Z"},
    "transfer": {
        "from_agent": _AGENT,
        "to_agent": None,
        "to_campaign": {"id": 5, "name": "Billing"},
        "note": "Asks about an invoice",
        "since": "2026-03-02T10:05:00Z",
    },
}
MESSAGE_EXAMPLE: dict[str, Any] = {
    "id": 9170,
    "conversation_id": 9001,
    "direction": "out",
    "sender_type": "agent",
    "author": _AGENT,
    "text": "Your refund is on its way.",
    "kind": "text",
    "payload": "",
    "status": "delivered",
    "status_reason": "",
    "mid": "m_AbC123",
    "reply_to_mid": "",
    "messaging_type": "RESPONSE",
    "tag": "",
    "created_at": "2026-03-02T10:00:48Z",
    "sent_at": "2026-03-02T10:00:49Z",
    "delivered_at": "2026-03-02T10:00:50Z",
    "read_at": None,
    "attachments": [],
}
INBOUND_EXAMPLE: dict[str, Any] = {
    **MESSAGE_EXAMPLE,
    "id": 9169,
    "direction": "in",
    "sender_type": "customer",
    "author": None,
    "text": "Here is the receipt",
    "kind": "attachment",
    "status": "received",
    "mid": "m_XyZ789",
    "messaging_type": "",
    "created_at": "2026-03-02T10:00:30Z",
    "sent_at": "2026-03-02T10:00:30Z",
    "delivered_at": None,
    "attachments": [
        {
            "id": 311,
            "type": "image",
            "filename": "receipt.jpg",
            "content_type": "image/jpeg",
            "size": 48213,
            "title": "",
            "latitude": None,
            "longitude": None,
            "url": "/api/v1/attachments/311",
            "download_error": "",
        }
    ],
}
CONTACT_EXAMPLE: dict[str, Any] = {
    **_CONTACT,
    "first_name": "Carla",
    "last_name": "Mendes",
    "profile_pic_url": "",
    "locale": "es_ES",
    "created_at": "2026-02-20T08:12:00Z",
    "last_message_at": "2026-03-02T10:08:40Z",
}
PAGE_EXAMPLE: dict[str, Any] = {
    "campaign": _CAMPAIGN,
    "page_id": "1000000000000001",
    "page_name": "Acme",
    "token_status": "active",
    "token_invalid_reason": "",
    "last_checked_at": "2026-03-02T06:00:00Z",
    "activated_at": "2026-01-10T09:30:00Z",
    "permissions": ["pages_messaging", "pages_show_list", "pages_manage_metadata"],
    "last_webhook_at": "2026-03-02T10:08:40Z",
    "subscribed_fields": ["messages", "messaging_postbacks", "message_deliveries", "message_reads"],
}


def page_example(item: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "items": [item],
        "count": 1,
        "page": 1,
        "page_size": 50,
        "pages": 1,
        "next": None,
        "previous": None,
        **extra,
    }


def example(body: Any, *, status: int = 200, content_type: str = "application/json") -> dict[str, Any]:
    """openapi_extra documenting a response example (merged by ninja into the generated operation)."""
    return {"responses": {status: {"content": {content_type: {"example": body}}}}}
