"""The public shapes of pagedesk's data: what the API answers and what outbound webhooks carry.

Defined once, here, so a conversation or a message looks the same to a script reading
`GET /api/v1/conversations/{id}` and to a receiver of `conversation.assigned`
(docs/webhooks.md). They are ninja schemas, so the API documents them in its OpenAPI; a webhook body
is `shape.model_dump(mode="json")`.

Builders take rows whose relations the caller loaded (`select_related`/`prefetch_related` named in
each docstring): a list of 100 conversations must not cost 100 queries per relation.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.urls import reverse
from ninja import Field, Schema
from pydantic import ConfigDict
from pydantic.config import JsonDict

from pagedesk.accounts.models import User
from pagedesk.campaigns.models import BlockedContact
from pagedesk.conversations.models import Attachment, Contact, Conversation, Message
from pagedesk.conversations.window import messaging_window
from pagedesk.messenger.models import PageConnection
from pagedesk.messenger.oauth import SUBSCRIBED_FIELDS
from pagedesk.routing.models import Transfer

ConversationStateName = Literal["queued", "assigned", "closed", "abandoned", "after_hours", "blocked", "bot"]
MessageStatusName = Literal["received", "pending", "sent", "delivered", "read", "failed"]


class Ref(Schema):
    id: int
    name: str

    model_config = ConfigDict(json_schema_extra={"examples": [{"id": 1, "name": "Acme Support"}]})


class UserRef(Schema):
    id: int
    name: str
    integration: bool = Field(False, description="True when the author is an integration, not a person.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": 3, "name": "Alice Martin", "integration": False},
                {"id": 9, "name": "Acme Helpbot", "integration": True},
            ]
        }
    )


class DispositionRef(Schema):
    id: int
    name: str
    category: str | None = Field(None, description="The parent disposition's name, for a two-level one.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"id": 13, "name": "Upgrade", "category": "Sale"}, {"id": 14, "name": "Complaint"}]
        }
    )


CONTACT_REF: JsonDict = {
    "id": 57,
    "display_name": "Carla Gómez",
    "psid": "6584102938475612",
    "page_id": "104857600123456",
}


class ContactRef(Schema):
    id: int
    display_name: str = Field(
        description="The profile's name, or 'Messenger user …1234' when Facebook withheld it."
    )
    psid: str = Field(description="The customer's page-scoped id.")
    page_id: str

    model_config = ConfigDict(json_schema_extra={"examples": [CONTACT_REF]})


CONVERSATION: JsonDict = {  # The examples of ConversationOut and ConversationDetailOut.
    "id": 381,
    "state": "assigned",
    "version": 4,
    "campaign": {"id": 1, "name": "Acme Support"},
    "contact": CONTACT_REF,
    "agent": {"id": 3, "name": "Alice Martin", "integration": False},
    "disposition": None,
    "closed_by": None,
    "created_at": "2026-12-07T10:11:48+01:00",
    "queued_at": "2026-12-07T10:11:48+01:00",
    "assigned_at": "2026-12-07T10:12:03+01:00",
    "first_response_at": "2026-12-07T10:12:40+01:00",
    "closed_at": None,
    "abandoned_at": None,
    "last_message_at": "2026-12-07T10:14:02+01:00",
    "last_customer_message_at": "2026-12-07T10:13:31+01:00",
}


class ConversationOut(Schema):
    id: int
    state: ConversationStateName
    version: int = Field(description="Grows on every state change; an older version is an older view.")
    campaign: Ref
    contact: ContactRef
    agent: UserRef | None = Field(None, description="The assigned agent, while assigned (and after close).")
    disposition: DispositionRef | None = None
    closed_by: UserRef | None = None
    created_at: dt.datetime
    queued_at: dt.datetime | None = Field(
        None, description="Entered the queue (for a bot conversation: the hand-off)."
    )
    assigned_at: dt.datetime | None = Field(None, description="First assignment to an agent.")
    first_response_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    abandoned_at: dt.datetime | None = None
    last_message_at: dt.datetime | None = None
    last_customer_message_at: dt.datetime | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [CONVERSATION]})


RECEIPT: JsonDict = {  # The examples of AttachmentOut and MessageOut.
    "id": 5501,
    "type": "image",
    "filename": "receipt.jpg",
    "content_type": "image/jpeg",
    "size": 48213,
    "title": "",
    "latitude": None,
    "longitude": None,
    "url": "/api/v1/attachments/5501",
    "download_error": "",
}


class AttachmentOut(Schema):
    id: int
    type: str = Field(description="image, video, audio, file, location, sticker or fallback (a link).")
    filename: str
    content_type: str
    size: int | None
    title: str
    latitude: float | None
    longitude: float | None
    url: str | None = Field(
        description="pagedesk's copy, downloadable with the same credentials and access rules; null when "
        "there is no copy (a location, or a download that failed: see download_error)."
    )
    download_error: str

    model_config = ConfigDict(json_schema_extra={"examples": [RECEIPT]})


class MessageOut(Schema):
    id: int
    conversation_id: int
    direction: Literal["in", "out"]
    sender_type: Literal["customer", "agent", "page_echo", "system", "integration"]
    author: UserRef | None = Field(
        None, description="The agent or integration that wrote it; null for the customer."
    )
    text: str
    kind: str = Field(description="text, attachment, sticker, quick_reply, postback, …")
    payload: str = Field(description="Quick reply or postback payload.")
    status: MessageStatusName = Field(
        description="Inbound messages are 'received'; outbound move pending → sent → delivered → read, or failed."
    )
    status_reason: str = Field(description="Why it failed, or what delivery waits for.")
    mid: str = Field(description="Facebook's message id; empty until Facebook accepts an outbound message.")
    reply_to_mid: str
    messaging_type: str
    tag: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    delivered_at: dt.datetime | None
    read_at: dt.datetime | None
    attachments: list[AttachmentOut]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 9120,
                    "conversation_id": 381,
                    "direction": "in",
                    "sender_type": "customer",
                    "author": None,
                    "text": "Hi, I was charged twice for my order. Here is the receipt.",
                    "kind": "attachment",
                    "payload": "",
                    "status": "received",
                    "status_reason": "",
                    "mid": "m_Fq2xT0nQ1u8kWcYbE5rLpA",
                    "reply_to_mid": "",
                    "messaging_type": "",
                    "tag": "",
                    "created_at": "2026-12-07T10:13:31+01:00",
                    "sent_at": None,
                    "delivered_at": None,
                    "read_at": None,
                    "attachments": [RECEIPT],
                },
                {
                    "id": 9121,
                    "conversation_id": 381,
                    "direction": "out",
                    "sender_type": "agent",
                    "author": {"id": 3, "name": "Alice Martin", "integration": False},
                    "text": "Sorry about that, Carla! I have refunded the second charge.",
                    "kind": "text",
                    "payload": "",
                    "status": "delivered",
                    "status_reason": "",
                    "mid": "m_Zr7pB3vK9sXeH1aQw6nTyC",
                    "reply_to_mid": "",
                    "messaging_type": "RESPONSE",
                    "tag": "",
                    "created_at": "2026-12-07T10:14:02+01:00",
                    "sent_at": "2026-12-07T10:14:03+01:00",
                    "delivered_at": "2026-12-07T10:14:05+01:00",
                    "read_at": None,
                    "attachments": [],
                },
            ]
        }
    )


def user_ref(user: User | None) -> UserRef | None:
    if user is None:
        return None
    return UserRef(id=user.pk, name=user.name, integration=user.is_integration)


def contact_ref(contact: Contact) -> ContactRef:
    return ContactRef(
        id=contact.pk, display_name=contact.display_name, psid=contact.psid, page_id=contact.page_id
    )


def conversation_shape(conversation: Conversation) -> ConversationOut:
    """Needs `campaign`, `contact`, `agent`, `closed_by`, `disposition__parent` loaded."""
    disposition = conversation.disposition
    return ConversationOut(
        id=conversation.pk,
        state=conversation.state,  # type: ignore[arg-type]
        version=conversation.version,
        campaign=Ref(id=conversation.campaign_id, name=conversation.campaign.name),
        contact=contact_ref(conversation.contact),
        agent=user_ref(conversation.agent),
        disposition=(
            DispositionRef(
                id=disposition.pk,
                name=disposition.name,
                category=disposition.parent.name if disposition.parent is not None else None,
            )
            if disposition is not None
            else None
        ),
        closed_by=user_ref(conversation.closed_by),
        created_at=conversation.created_at,
        queued_at=conversation.queued_at,
        assigned_at=conversation.assigned_at,
        first_response_at=conversation.first_response_at,
        closed_at=conversation.closed_at,
        abandoned_at=conversation.abandoned_at,
        last_message_at=conversation.last_message_at,
        last_customer_message_at=conversation.last_customer_message_at,
    )


CONVERSATION_RELATED = ("campaign", "contact", "agent", "closed_by", "disposition__parent")


def attachment_shape(attachment: Attachment) -> AttachmentOut:
    return AttachmentOut(
        id=attachment.pk,
        type=attachment.type,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size=attachment.size,
        title=attachment.title,
        latitude=attachment.latitude,
        longitude=attachment.longitude,
        # The API's download route (api/conversations.py) checks the caller's access to the conversation.
        url=reverse("api:attachment_download", args=[attachment.pk]) if attachment.file else None,
        download_error=attachment.download_error,
    )


def message_shape(message: Message) -> MessageOut:
    """Needs `author` loaded and `attachments` prefetched."""
    return MessageOut(
        id=message.pk,
        conversation_id=message.conversation_id,
        direction=message.direction,  # type: ignore[arg-type]
        sender_type=message.sender_type,  # type: ignore[arg-type]
        author=user_ref(message.author),
        text=message.text,
        kind=message.kind,
        payload=message.payload,
        status=message.status,  # type: ignore[arg-type]
        status_reason=message.status_reason,
        mid=message.mid,
        reply_to_mid=message.reply_to_mid,
        messaging_type=message.messaging_type,
        tag=message.tag,
        created_at=message.created_at,
        sent_at=message.sent_at,
        delivered_at=message.delivered_at,
        read_at=message.read_at,
        attachments=[attachment_shape(attachment) for attachment in message.attachments.all()],
    )


MESSAGE_RELATED: tuple[str, ...] = ("author",)
MESSAGE_PREFETCH: tuple[str, ...] = ("attachments",)


# --- The detail of one conversation ---------------------------------------------------------------


WINDOW: JsonDict = {"mode": "RESPONSE", "expires_at": "2026-12-08T10:13:31+01:00"}
TRANSFER: JsonDict = {
    "from_agent": {"id": 3, "name": "Alice Martin", "integration": False},
    "to_agent": None,
    "to_campaign": {"id": 2, "name": "Billing"},
    "note": "Asks about an invoice",
    "since": "2026-12-07T10:15:20+01:00",
}


class WindowOut(Schema):
    mode: Literal["RESPONSE", "HUMAN_AGENT", "CLOSED"] = Field(
        description="How a reply may be sent now: RESPONSE (within 24 h of the customer's last message), "
        "HUMAN_AGENT (24 h–7 days, when the campaign allows that tag) or CLOSED (no reply until the "
        "customer writes again)."
    )
    expires_at: dt.datetime | None = Field(description="When this mode ends; null when CLOSED.")

    model_config = ConfigDict(
        json_schema_extra={"examples": [WINDOW, {"mode": "CLOSED", "expires_at": None}]}
    )


class TransferOut(Schema):
    """A transfer to another campaign's queue that nobody has taken yet."""

    from_agent: UserRef | None
    to_agent: UserRef | None = Field(description="Always null today: a transfer to an agent is immediate.")
    to_campaign: Ref
    note: str
    since: dt.datetime

    model_config = ConfigDict(json_schema_extra={"examples": [TRANSFER]})


class ConversationDetailOut(ConversationOut):
    window: WindowOut
    transfer: TransferOut | None = Field(description="The transfer in progress, or null.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {**CONVERSATION, "window": WINDOW, "transfer": None},
                {
                    **CONVERSATION,
                    "state": "queued",
                    "version": 6,
                    "campaign": TRANSFER["to_campaign"],
                    "agent": None,
                    "queued_at": "2026-12-07T10:15:20+01:00",
                    "window": WINDOW,
                    "transfer": TRANSFER,
                },
            ]
        }
    )


def window_shape(conversation: Conversation, *, now: dt.datetime) -> WindowOut:
    """Needs `campaign` loaded; one query (the contact's last message across its conversations)."""
    mode, seconds = messaging_window(conversation=conversation, at=now)
    return WindowOut(
        mode=mode,  # type: ignore[arg-type]
        expires_at=now + dt.timedelta(seconds=seconds) if seconds else None,
    )


def transfer_shape(transfer: Transfer | None) -> TransferOut | None:
    """Needs `from_agent`, `to_agent`, `to_campaign` loaded."""
    if transfer is None:
        return None
    return TransferOut(
        from_agent=user_ref(transfer.from_agent),
        to_agent=user_ref(transfer.to_agent),
        to_campaign=Ref(id=transfer.to_campaign_id, name=transfer.to_campaign.name),
        note=transfer.note,
        since=transfer.created_at,
    )


def conversation_detail_shape(
    conversation: Conversation, *, transfer: Transfer | None, now: dt.datetime
) -> ConversationDetailOut:
    """conversation_shape's relations, and the pending transfer (or None) the caller looked up."""
    return ConversationDetailOut(
        **conversation_shape(conversation).model_dump(),
        window=window_shape(conversation, now=now),
        transfer=transfer_shape(transfer),
    )


# --- Contacts -----------------------------------------------------------------------------------------


CONTACT: JsonDict = {  # The examples of ContactOut and ContactDetailOut.
    **CONTACT_REF,
    "first_name": "Carla",
    "last_name": "Gómez",
    "profile_pic_url": "https://platform-lookaside.fbsbx.com/platform/profilepic/?psid=6584102938475612",
    "locale": "es_ES",
    "created_at": "2026-11-02T09:40:12+01:00",
    "last_message_at": "2026-12-07T10:13:31+01:00",
}


class ContactOut(ContactRef):
    first_name: str
    last_name: str
    profile_pic_url: str = Field(
        description="Facebook's URL for the profile picture (it expires); may be empty."
    )
    locale: str
    created_at: dt.datetime
    last_message_at: dt.datetime | None

    model_config = ConfigDict(json_schema_extra={"examples": [CONTACT]})


BLOCKED_IN: JsonDict = {
    "campaign": {"id": 2, "name": "Billing"},
    "note": "Abusive language",
    "since": "2026-11-30T16:02:11+01:00",
}


class BlockedInOut(Schema):
    campaign: Ref
    note: str
    since: dt.datetime

    model_config = ConfigDict(json_schema_extra={"examples": [BLOCKED_IN]})


class ContactDetailOut(ContactOut):
    blocked_in: list[BlockedInOut] = Field(
        description="The campaigns (of those you may see) where this customer is blocked."
    )
    conversations: list[ConversationOut] = Field(
        description="Their conversations you may see, newest first (at most 100)."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{**CONTACT, "blocked_in": [BLOCKED_IN], "conversations": [CONVERSATION]}]
        }
    )


def contact_shape(contact: Contact) -> ContactOut:
    return ContactOut(
        **contact_ref(contact).model_dump(),
        first_name=contact.first_name,
        last_name=contact.last_name,
        profile_pic_url=contact.profile_pic_url,
        locale=contact.locale,
        created_at=contact.created_at,
        last_message_at=contact.last_message_at,
    )


def contact_detail_shape(
    contact: Contact, *, blocked: list[BlockedContact], conversations: list[Conversation]
) -> ContactDetailOut:
    """`blocked` with `campaign` loaded; `conversations` with CONVERSATION_RELATED loaded."""
    return ContactDetailOut(
        **contact_shape(contact).model_dump(),
        blocked_in=[
            BlockedInOut(
                campaign=Ref(id=b.campaign_id, name=b.campaign.name), note=b.note, since=b.created_at
            )
            for b in blocked
        ],
        conversations=[conversation_shape(c) for c in conversations],
    )


def json_data(shape: Schema) -> dict[str, Any]:
    """A shape as the JSON object a webhook body carries under `data`."""
    return shape.model_dump(mode="json")


class AgentStatusOut(Schema):
    id: int
    name: str
    presence: Literal["offline", "available", "break", "wrap_up"]
    break_reason: str | None = Field(None, description="The break's reason, while on a break.")
    changed_at: dt.datetime
    campaign_ids: list[int] = Field(description="The campaigns the agent is a member of.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 3,
                    "name": "Alice Martin",
                    "presence": "break",
                    "break_reason": "Lunch",
                    "changed_at": "2026-12-07T12:30:05+01:00",
                    "campaign_ids": [1, 2],
                }
            ]
        }
    )


def agent_status_shape(
    agent: User, *, campaign_ids: list[int], break_reason: str | None, changed_at: dt.datetime
) -> AgentStatusOut:
    return AgentStatusOut(
        id=agent.pk,
        name=agent.name,
        presence=agent.presence,  # type: ignore[arg-type]
        break_reason=break_reason,
        changed_at=changed_at,
        campaign_ids=campaign_ids,
    )


class PageOut(Schema):
    campaign: Ref
    page_id: str = Field(description="The Facebook Page's id; empty until the campaign is activated.")
    page_name: str
    token_status: Literal["active", "invalid", "unknown"]
    token_invalid_reason: str = Field(description="Why the token is invalid, in words an admin can act on.")
    last_checked_at: dt.datetime | None = Field(description="The last health check of the page token.")
    activated_at: dt.datetime | None = Field(None, description="When an admin last activated the page.")
    permissions: list[str] = Field(
        default_factory=list, description="The permissions the page token was granted."
    )
    last_webhook_at: dt.datetime | None = Field(description="When Facebook last sent an event for this page.")
    subscribed_fields: list[str] = Field(
        description="The webhook fields pagedesk subscribes the page to at activation."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "campaign": {"id": 1, "name": "Acme Support"},
                    "page_id": "104857600123456",
                    "page_name": "Acme",
                    "token_status": "active",
                    "token_invalid_reason": "",
                    "last_checked_at": "2026-12-07T06:00:00+01:00",
                    "activated_at": "2026-11-02T09:30:00+01:00",
                    "permissions": ["pages_messaging", "pages_show_list", "pages_manage_metadata"],
                    "last_webhook_at": "2026-12-07T10:13:31+01:00",
                    "subscribed_fields": list(SUBSCRIBED_FIELDS),
                }
            ]
        }
    )


def page_shape(connection: PageConnection, *, last_webhook_at: dt.datetime | None) -> PageOut:
    """Needs `campaign` loaded; `last_webhook_at` is the newest InboundEvent's received_at for the page."""
    return PageOut(
        campaign=Ref(id=connection.campaign_id, name=connection.campaign.name),
        page_id=connection.page_id,
        page_name=connection.page_name,
        token_status=connection.token_status,  # type: ignore[arg-type]
        token_invalid_reason=connection.token_invalid_reason,
        last_checked_at=connection.last_checked_at,
        activated_at=connection.activated_at,
        permissions=[str(p) for p in connection.granted_permissions or []],
        last_webhook_at=last_webhook_at,
        subscribed_fields=list(SUBSCRIBED_FIELDS) if connection.page_id else [],
    )
