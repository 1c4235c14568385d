"""Writes to contacts, conversations and messages: the inbound path from Messenger.

Every function here runs inside the caller's transaction (the per-event transaction of the webhook
processing task, which holds the Contact row lock), does no HTTP, and publishes realtime events that
leave only after commit. Lock order: Contact, then Conversation, then whatever routing locks (agents).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce

from pagedesk.campaigns.models import Campaign
from pagedesk.conversations import selectors
from pagedesk.conversations.models import (
    OPEN_STATES,
    Attachment,
    Contact,
    Conversation,
    ConversationEvent,
    ConversationState,
    Direction,
    Message,
    MessageStatus,
    SenderType,
)
from pagedesk.core import clock
from pagedesk.realtime import groups
from pagedesk.realtime.events import (
    ContactUpdated,
    MessageCreated,
    MessageStatusChanged,
    MessageUpdated,
)
from pagedesk.realtime.publish import publish

URL_MAX = 2000


@dataclass(frozen=True)
class AttachmentSpec:
    type: str
    url: str = ""
    title: str = ""
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class Received:
    message: Message | None
    conversation: Conversation | None
    opened: bool = False
    duplicate: bool = False
    attachments: list[Attachment] = field(default_factory=list)


def audience(conversation: Conversation) -> list[str]:
    """Who sees a conversation's changes: its agent when assigned, the campaign queue while queued,
    and the campaign's supervisors always."""
    names = [groups.supervisors(conversation.campaign_id)]
    if conversation.state == ConversationState.ASSIGNED and conversation.agent_id:
        names.append(groups.agent(conversation.agent_id))
    elif conversation.state == ConversationState.QUEUED:
        names.append(groups.campaign_queue(conversation.campaign_id))
    return names


# --- contacts -------------------------------------------------------------------------------------


def contact_lock(*, page_id: str, psid: str) -> Contact:
    """Get or create the contact and lock its row: the lock that serialises one customer's events.

    Caller must be inside `transaction.atomic()`. One query for a known contact; a new one is inserted,
    and a row this transaction inserted is already its own (no one else sees it before commit).
    """
    contact = Contact.objects.select_for_update().filter(page_id=page_id, psid=psid).first()
    if contact is not None:
        return contact
    try:
        with transaction.atomic():
            return Contact.objects.create(page_id=page_id, psid=psid)
    except IntegrityError:
        # Another worker inserted the same customer first (PostgreSQL made us wait for its commit).
        return Contact.objects.select_for_update().get(page_id=page_id, psid=psid)


def contact_profile_set(*, contact_id: int, first_name: str, last_name: str, profile_pic_url: str) -> Contact:
    """Store the name and picture the Profile API returned."""
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact_id)
        contact.first_name = first_name[:150]
        contact.last_name = last_name[:150]
        contact.profile_pic_url = profile_pic_url if len(profile_pic_url) <= 1000 else ""
        contact.profile_fetched_at = clock.now()
        contact.profile_failed_at = None
        contact.save(
            update_fields=[
                "first_name",
                "last_name",
                "profile_pic_url",
                "profile_fetched_at",
                "profile_failed_at",
            ]
        )
        _publish_contact(contact)
    return contact


def contact_profile_failed(*, contact_id: int) -> None:
    """Record a failed Profile API lookup; the contact keeps its neutral "Messenger user …1234" label."""
    Contact.objects.filter(pk=contact_id).update(profile_failed_at=clock.now())


def _publish_contact(contact: Contact) -> None:
    names: set[str] = set()
    for conversation in Conversation.objects.filter(contact=contact, state__in=OPEN_STATES):
        names.update(audience(conversation))
    if names:
        publish(ContactUpdated(contact_id=contact.pk, display_name=str(contact.display_name)), to=names)


# --- inbound messages ------------------------------------------------------------------------------


def _attachments_create(message: Message, specs: Sequence[AttachmentSpec]) -> list[Attachment]:
    rows = []
    for spec in specs:
        too_long = len(spec.url) > URL_MAX
        rows.append(
            Attachment(
                message=message,
                type=spec.type,
                original_url="" if too_long else spec.url,
                title=spec.title[:500],
                latitude=spec.latitude,
                longitude=spec.longitude,
                download_error="The attachment URL is too long to keep." if too_long else "",
            )
        )
    # One by one (not bulk_create): callers need the primary keys on SQLite too, to enqueue downloads.
    for row in rows:
        row.save()
    return rows


def message_record(
    *,
    contact: Contact,
    campaign: Campaign,
    page_id: str,
    mid: str,
    kind: str,
    text: str = "",
    payload: str = "",
    reply_to_mid: str = "",
    attachments: Sequence[AttachmentSpec] = (),
    sent_at: dt.datetime | None = None,
    extra: dict[str, Any] | None = None,
    opens_with_bot: bool = False,
) -> Received:
    """Record a customer message (or postback): it joins the contact's open conversation or opens a new
    one, queued (queued_at = queue_order = now) with a "queued" ConversationEvent. Nothing is published:
    routing decides what a new conversation becomes and then tells who sees it
    (routing/inbound.py, the one caller outside tests). Caller holds the contact lock (`contact_lock`).
    Idempotent on `mid`.

    opens_with_bot=True (routing found the campaign's bot): a new conversation opens in state `bot`
    instead, never queued (no queued_at, no queue_order), with a "bot_started" event; its queued time
    is set when the bot hands it off.
    """
    if mid and Message.objects.filter(page_id=page_id, mid=mid).exists():
        return Received(message=None, conversation=None, duplicate=True)
    now = clock.now()
    conversation = (
        Conversation.objects.select_for_update()
        .filter(contact=contact, state__in=OPEN_STATES)
        .order_by("-created_at", "-id")
        .first()
    )
    opened = conversation is None
    if conversation is None:
        # The contact's open conversation may sit in another campaign after a transfer; only when there
        # is none does a message open one, in the page's own campaign.
        conversation = Conversation.objects.create(
            campaign=campaign,
            contact=contact,
            state=ConversationState.BOT if opens_with_bot else ConversationState.QUEUED,
            created_at=now,
            queued_at=None if opens_with_bot else now,
            queue_order=None if opens_with_bot else now,
            last_customer_message_at=now,
            last_message_at=now,
        )
        ConversationEvent.objects.create(
            conversation=conversation,
            kind="bot_started" if opens_with_bot else "queued",
            at=now,
            data={"reason": "new", "source": "messenger"},
        )
    else:
        conversation.last_customer_message_at = now
        conversation.last_message_at = now
        conversation.save(update_fields=["last_customer_message_at", "last_message_at"])
    message = Message.objects.create(
        conversation=conversation,
        direction=Direction.IN,
        sender_type=SenderType.CUSTOMER,
        page_id=page_id,
        mid=mid,
        text=text,
        kind=kind,
        payload=payload[:1000],
        reply_to_mid=reply_to_mid[:255],
        status=MessageStatus.RECEIVED,
        created_at=now,
        sent_at=sent_at,
        extra=extra or {},
    )
    created_attachments = _attachments_create(message, attachments)
    contact.last_message_at = now
    contact.save(update_fields=["last_message_at"])
    return Received(
        message=message, conversation=conversation, opened=opened, attachments=created_attachments
    )


def _conversation_recording(
    *, contact: Contact, campaign: Campaign, now: dt.datetime, reason: str
) -> Conversation:
    """Where a message that opens no conversation is kept (an echo of a reply sent from Facebook, a
    standby copy): the contact's open conversation, its last message time moved, or a closed one made
    for it, its timeline saying why. Caller holds the contact lock."""
    conversation = selectors.conversation_open_for_contact(contact=contact)
    if conversation is None:
        conversation = Conversation.objects.create(
            campaign=campaign,
            contact=contact,
            state=ConversationState.CLOSED,
            created_at=now,
            closed_at=now,
            last_message_at=now,
        )
        ConversationEvent.objects.create(
            conversation=conversation, kind="recorded", at=now, data={"reason": reason}
        )
    else:
        conversation.last_message_at = now
        conversation.save(update_fields=["last_message_at"])
    return conversation


def message_standby_record(
    *,
    contact: Contact,
    campaign: Campaign,
    page_id: str,
    mid: str,
    kind: str,
    text: str = "",
    payload: str = "",
    attachments: Sequence[AttachmentSpec] = (),
    sent_at: dt.datetime | None = None,
    owner_app_id: str = "",
    extra: dict[str, Any] | None = None,
) -> Received:
    """Record a customer message Facebook delivered as `standby`: another app (the Page inbox, a bot) had
    the thread, so pagedesk keeps the record but is not the one to answer (docs/decisions/thread-control.md).

    It joins the contact's open conversation without changing its state, its dropout clock
    (`last_customer_message_at`) or its routing; without one it is kept in a new closed conversation, as
    echoes of the Page inbox's replies are. The contact's `last_message_at` moves (the messaging window is
    the page's, whoever answers). Publishes message.created. Caller holds the contact lock; idempotent on mid.
    """
    if mid and Message.objects.filter(page_id=page_id, mid=mid).exists():
        return Received(message=None, conversation=None, duplicate=True)
    now = clock.now()
    conversation = _conversation_recording(contact=contact, campaign=campaign, now=now, reason="standby")
    message = Message.objects.create(
        conversation=conversation,
        direction=Direction.IN,
        sender_type=SenderType.CUSTOMER,
        page_id=page_id,
        mid=mid,
        text=text,
        kind=kind,
        payload=payload[:1000],
        status=MessageStatus.RECEIVED,
        created_at=now,
        sent_at=sent_at,
        extra={**(extra or {}), "standby": True, "thread_owner_app_id": owner_app_id},
    )
    created_attachments = _attachments_create(message, attachments)
    contact.last_message_at = now
    contact.save(update_fields=["last_message_at"])
    message_created_publish(message, conversation)
    return Received(message=message, conversation=conversation, attachments=created_attachments)


def contact_thread_owner_set(
    *,
    contact: Contact,
    owner_app_id: str,
    previous_owner_app_id: str | None = None,
    how: str,
    actor: Any = None,
    at: dt.datetime | None = None,
) -> bool:
    """Record which app owns the contact's Messenger thread ("" = pagedesk's own app); returns whether it
    changed. `how`: taken (an agent took control), handed_back (an agent passed it on), passed / took
    (another app's move, from a messaging_handovers webhook). The contact's open conversation gets a
    "thread_control" event (who, from which app to which), and whoever sees it a contact.updated so the
    open pages fetch the composer again. Caller holds the contact lock."""
    if contact.thread_owner_app_id == owner_app_id:
        return False
    now = at or clock.now()
    previous = contact.thread_owner_app_id if previous_owner_app_id is None else previous_owner_app_id
    contact.thread_owner_app_id = owner_app_id
    contact.thread_owner_changed_at = now
    contact.save(update_fields=["thread_owner_app_id", "thread_owner_changed_at"])
    for conversation in Conversation.objects.filter(contact=contact, state__in=OPEN_STATES):
        ConversationEvent.objects.create(
            conversation=conversation,
            kind="thread_control",
            actor=actor,
            at=now,
            data={"how": how, "owner_app_id": owner_app_id, "previous_owner_app_id": previous},
        )
    _publish_contact(contact)
    return True


def message_created_publish(message: Message, conversation: Conversation) -> None:
    """Tell whoever sees the conversation that a message was added (after commit)."""
    publish(
        MessageCreated(
            message_id=message.pk,
            conversation_id=conversation.pk,
            campaign_id=conversation.campaign_id,
            direction=message.direction,
            sender_type=message.sender_type,
            version=conversation.version,
            pending=_listed_as_pending(conversation),
        ),
        to=audience(conversation),
    )


def message_status_publish(message: Any) -> None:
    conversation = message.conversation
    to = [groups.supervisors(conversation.campaign_id)]
    if conversation.agent_id:
        to.append(groups.agent(conversation.agent_id))
    publish(
        MessageStatusChanged(
            message_id=message.pk,
            conversation_id=conversation.pk,
            status=message.status,
            reason=message.status_reason,
        ),
        to=to,
    )


def _listed_as_pending(conversation: Conversation) -> bool:
    """Whether the members list the conversation as Pending: queued in a campaign whose members see
    its queue. For a new conversation the message is how they learn of it (MessageCreated.pending)."""
    return conversation.state == ConversationState.QUEUED and conversation.campaign.members_see_queue


@dataclass(frozen=True)
class EchoResult:
    outcome: str  # matched | recorded | duplicate
    message: Message | None = None
    attachments: list[Attachment] = field(default_factory=list)


def message_echo_apply(
    *,
    contact: Contact,
    campaign: Campaign,
    page_id: str,
    mid: str,
    kind: str,
    text: str = "",
    attachments: Sequence[AttachmentSpec] = (),
    our_message_id: int | None = None,
    app_id: str = "",
    sent_at: dt.datetime | None = None,
) -> EchoResult:
    """Facebook's copy of a message the page sent.

    Ours (metadata names our message): confirm it — set its mid and `sent` — never a second row. Anyone
    else's (typed in Facebook's Page inbox, another app): record it as an outbound "sent from Facebook"
    message in the contact's open conversation, or in a new closed one; echoes never open a conversation.
    """
    if our_message_id is not None:
        ours = (
            Message.objects.select_for_update()
            .filter(pk=our_message_id, page_id=page_id, direction=Direction.OUT)
            .select_related("conversation")
            .first()
        )
        if ours is not None:
            _echo_confirm(ours, mid=mid, sent_at=sent_at)
            return EchoResult(outcome="matched", message=ours)
    if Message.objects.filter(page_id=page_id, mid=mid).exists():
        return EchoResult(outcome="duplicate")
    now = clock.now()
    conversation = _conversation_recording(
        contact=contact, campaign=campaign, now=now, reason="sent_from_facebook"
    )
    message = Message.objects.create(
        conversation=conversation,
        direction=Direction.OUT,
        sender_type=SenderType.PAGE_ECHO,
        page_id=page_id,
        mid=mid,
        text=text,
        kind=kind,
        status=MessageStatus.SENT,
        created_at=now,
        sent_at=sent_at,
        extra={"app_id": app_id} if app_id else {},
    )
    created_attachments = _attachments_create(message, attachments)
    message_created_publish(message, conversation)
    return EchoResult(outcome="recorded", message=message, attachments=created_attachments)


def _echo_confirm(message: Message, *, mid: str, sent_at: dt.datetime | None) -> None:
    fields: list[str] = []
    if not message.mid and mid and not Message.objects.filter(page_id=message.page_id, mid=mid).exists():
        message.mid = mid
        fields.append("mid")
    # The echo proves Facebook accepted it (e.g. after an ambiguous timeout); never downgrade
    # delivered/read.
    if message.status in (MessageStatus.PENDING, MessageStatus.FAILED):
        message.status = MessageStatus.SENT
        message.status_reason = ""
        fields += ["status", "status_reason"]
    # Facebook's own timestamp replaces the one taken when the Send API answered: delivery and read
    # watermarks are in Facebook's clock, and ours is a few milliseconds later, which would leave the
    # newest reply "delivered" after the customer read it.
    if sent_at is not None and message.sent_at != sent_at:
        message.sent_at = sent_at
        fields.append("sent_at")
    # The send code's in-flight markers (messenger/send.py): the echo settles an unconfirmed send.
    extra = dict(message.extra or {})
    if any(extra.get(key) for key in ("send_state", "sending_since", "unconfirmed_at")):
        for key in ("send_state", "sending_since", "unconfirmed_at"):
            extra.pop(key, None)
        message.extra = extra
        fields.append("extra")
    if fields:
        message.save(update_fields=fields)
    if "status" in fields:
        publish(
            MessageStatusChanged(
                message_id=message.pk, conversation_id=message.conversation_id, status=message.status
            ),
            to=audience(message.conversation),
        )


# --- statuses, reactions, edits ----------------------------------------------------------------------


def _publish_statuses(message_ids: list[int], status: str) -> None:
    if not message_ids:
        return
    rows = list(Message.objects.filter(pk__in=message_ids).select_related("conversation"))
    for message in rows:
        publish(
            MessageStatusChanged(
                message_id=message.pk, conversation_id=message.conversation_id, status=status
            ),
            to=audience(message.conversation),
        )


def messages_mark_delivered(
    *, contact: Contact, page_id: str, watermark_at: dt.datetime, at: dt.datetime, mids: Sequence[str] = ()
) -> int:
    """A delivery receipt: our sent messages to this contact up to the watermark (or named by mid) are
    delivered. https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/message-deliveries
    """
    window = Q(sent_at__lte=watermark_at) | Q(sent_at__isnull=True, created_at__lte=watermark_at)
    if mids:
        window |= Q(mid__in=list(mids))
    ids = list(
        Message.objects.filter(
            window,
            conversation__contact=contact,
            page_id=page_id,
            direction=Direction.OUT,
            status=MessageStatus.SENT,
        ).values_list("pk", flat=True)
    )
    if ids:
        Message.objects.filter(pk__in=ids).update(status=MessageStatus.DELIVERED, delivered_at=at)
        _publish_statuses(ids, MessageStatus.DELIVERED)
    return len(ids)


def messages_mark_read(*, contact: Contact, page_id: str, watermark_at: dt.datetime, at: dt.datetime) -> int:
    """A read receipt: our messages to this contact sent up to the watermark are read (and so delivered).
    https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/message-reads
    """
    window = Q(sent_at__lte=watermark_at) | Q(sent_at__isnull=True, created_at__lte=watermark_at)
    ids = list(
        Message.objects.filter(
            window,
            conversation__contact=contact,
            page_id=page_id,
            direction=Direction.OUT,
            status__in=[MessageStatus.SENT, MessageStatus.DELIVERED],
        ).values_list("pk", flat=True)
    )
    if ids:
        Message.objects.filter(pk__in=ids).update(
            status=MessageStatus.READ, read_at=at, delivered_at=Coalesce("delivered_at", at)
        )
        _publish_statuses(ids, MessageStatus.READ)
    return len(ids)


def message_reaction_apply(
    *, page_id: str, mid: str, psid: str, action: str, reaction: str, emoji: str, at: dt.datetime
) -> Message | None:
    """A customer reacted to (or un-reacted from) a message; one reaction per customer per message.
    Returns None when the message is not known here."""
    message = (
        Message.objects.select_for_update()
        .filter(page_id=page_id, mid=mid)
        .select_related("conversation")
        .first()
    )
    if message is None:
        return None
    reactions = [r for r in (message.reactions or []) if not (isinstance(r, dict) and r.get("psid") == psid)]
    if action == "react":
        reactions.append({"psid": psid, "reaction": reaction, "emoji": emoji, "at": at.isoformat()})
    message.reactions = reactions
    message.save(update_fields=["reactions"])
    _publish_updated(message, change="reaction")
    return message


def message_edit_apply(
    *, page_id: str, mid: str, text: str, num_edit: int, at: dt.datetime
) -> Message | None:
    """The customer edited a message: new text, the original kept in extra["original_text"].
    Returns None when the message is unknown or the edit is older than what we have."""
    message = (
        Message.objects.select_for_update()
        .filter(page_id=page_id, mid=mid, direction=Direction.IN)
        .select_related("conversation")
        .first()
    )
    if message is None:
        return None
    extra = dict(message.extra or {})
    if num_edit and num_edit <= int(extra.get("num_edit", 0)):
        return None
    extra.setdefault("original_text", message.text)
    extra["num_edit"] = num_edit
    message.extra = extra
    message.text = text
    message.edited_at = at
    message.save(update_fields=["extra", "text", "edited_at"])
    _publish_updated(message, change="edit")
    return message


def _publish_updated(message: Message, *, change: str) -> None:
    conversation = message.conversation
    publish(
        MessageUpdated(
            message_id=message.pk,
            conversation_id=conversation.pk,
            change=change,
            version=conversation.version,
        ),
        to=audience(conversation),
    )


# --- attachments -----------------------------------------------------------------------------------


def attachment_file_store(
    *, attachment_id: int, content: bytes, content_type: str, filename: str
) -> Attachment:
    """Keep pagedesk's own copy of a downloaded attachment (the file write happens before the row update)."""
    attachment = Attachment.objects.get(pk=attachment_id)
    attachment.file.save(filename, ContentFile(content), save=False)
    Attachment.objects.filter(pk=attachment_id).update(
        file=attachment.file.name,
        filename=filename[:255],
        content_type=content_type[:150],
        size=len(content),
        download_error="",
    )
    attachment.refresh_from_db()
    return attachment


def attachment_download_failed(*, attachment_id: int, error: str) -> None:
    Attachment.objects.filter(pk=attachment_id).update(download_error=error[:300])
