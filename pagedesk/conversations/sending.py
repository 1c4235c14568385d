"""The write path for outbound messages: what an agent (or the system) says to a customer.

`message_send` records the message as `pending` and enqueues its delivery in the same transaction,
so a message is never lost between the database and the queue, and the HTTP call to Facebook happens
later in a worker (pagedesk.messenger.send.message_deliver), never inside this transaction.

The Send API takes either text or one attachment per call, so a reply with text and files becomes one
Message per part, each with its own `metadata` ("pagedesk:<message id>") and its own Facebook mid.
A text longer than the Send API's 2,000 characters becomes several such parts, split at word
boundaries (text_split), never cut; above REPLY_TEXT_MAX the reply is refused.

Delivery is the channel's: `outbound_queued` (conversations/signals.py) tells pagedesk.messenger,
inside this transaction, which messages to deliver; it queues them or parks them until the page's
token is active again. Nothing here knows Facebook beyond its limits and its window (window.py).
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Sequence
from typing import Any

from django.core.files.base import File
from django.db import transaction
from django.utils.translation import gettext as _

from pagedesk.conversations.models import (
    OPEN_STATES,
    Attachment,
    AttachmentType,
    Conversation,
    Direction,
    Message,
    MessageStatus,
    SenderType,
    SendState,
)
from pagedesk.conversations.services import message_created_publish, message_status_publish
from pagedesk.conversations.signals import outbound_queued, sender_action_requested
from pagedesk.conversations.thread import thread_owner_require
from pagedesk.conversations.window import WindowMode, messaging_window, messaging_window_require
from pagedesk.core import clock
from pagedesk.core.errors import ApplicationError

logger = logging.getLogger(__name__)

# The Send API's limit for one message's text: a longer reply becomes several messages.
TEXT_LIMIT = 2000
# What the customer may see while an agent works (the Send API's sender actions).
SENDER_ACTIONS = ("typing_on", "typing_off", "mark_seen")
# Facebook's limit for attachments sent through the Send API.
ATTACHMENT_MAX_BYTES = 25 * 1024 * 1024
# The longest reply split into several messages (ten or more bubbles); a longer one is refused, since
# a text that long is a document the customer is better sent as a file.
REPLY_TEXT_MAX = 20_000


def text_split(text: str, *, limit: int = TEXT_LIMIT) -> list[str]:
    """A reply as Send API texts of at most `limit` characters, in order, none empty: each part ends at
    the last space or line break that fits, and a single word longer than `limit` is cut hard. The
    whitespace at a cut goes (Messenger shows each part as its own bubble); nothing else is lost.
    The composer's counter (inbox/counter.js, countParts) counts parts the same way."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = next((i for i in range(limit, 0, -1) if rest[i].isspace()), 0)
        if cut == 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def _attachment_type(content_type: str) -> str:
    major = content_type.split("/", 1)[0]
    if major in {"image", "video", "audio"}:
        return major
    return AttachmentType.FILE.value


def reply_text_normalize(text: str) -> str:
    """The reply as the agent wrote it: browsers send a textarea's line breaks as CRLF, which would
    count two characters each against the limits the composer showed as one."""
    return (text or "").replace("\r\n", "\n").strip()


def reply_too_long_message(*, length: int) -> str:
    return _(
        "This reply has %(length)s characters; replies can be up to %(max)s characters "
        "(sent as several messages). Shorten it or send the text as a file."
    ) % {"length": f"{length:,}", "max": f"{REPLY_TEXT_MAX:,}"}


def _validate(*, text: str, files: Sequence[Any]) -> None:
    if not text and not files:
        raise ApplicationError("empty_message", _("Write a message or attach a file."), field="text")
    if len(text) > REPLY_TEXT_MAX:
        raise ApplicationError(
            "message_too_long",
            reply_too_long_message(length=len(text)),
            field="text",
            status=422,
        )
    for upload in files:
        size = getattr(upload, "size", None) or 0
        if size > ATTACHMENT_MAX_BYTES:
            raise ApplicationError(
                "attachment_too_large",
                _("“%(name)s” is larger than Facebook's 25 MB limit.")
                % {"name": getattr(upload, "name", "")},
                field="files",
            )


def messages_send(
    *,
    conversation: Conversation,
    author: Any,
    text: str,
    files: Sequence[Any] = (),
    sender_type: str = SenderType.AGENT,
) -> list[Message]:
    """Record a reply (text and/or files) as pending messages and queue their delivery, in order: the
    text (in parts of at most 2,000 characters when longer), then one message per file.

    Refuses at once, with no Graph call, when the messaging window is closed. The channel delivers them
    (`outbound_queued`); while it cannot (the page token is invalid) they stay pending with the reason
    the agent sees, and are sent after re-activation.
    """
    text = reply_text_normalize(text)
    _validate(text=text, files=files)
    thread_owner_require(conversation=conversation)
    mode, _remaining = messaging_window_require(conversation=conversation)
    messaging_type, tag = (
        ("MESSAGE_TAG", "HUMAN_AGENT") if mode == WindowMode.HUMAN_AGENT else ("RESPONSE", "")
    )
    now = clock.now()

    def new_message(*, part_text: str) -> Message:
        message = Message.objects.create(
            conversation=conversation,
            direction=Direction.OUT,
            sender_type=sender_type,
            author=author,
            page_id=conversation.contact.page_id,
            text=part_text,
            kind="text" if part_text else "attachment",
            status=MessageStatus.PENDING,
            messaging_type=messaging_type,
            tag=tag,
            created_at=now,
            extra={"send_state": SendState.QUEUED.value},
        )
        return message

    created: list[Message] = []
    with transaction.atomic():
        for part in text_split(text):
            created.append(new_message(part_text=part))
        for upload in files:
            message = new_message(part_text="")
            name = getattr(upload, "name", "") or "file"
            content_type = (
                getattr(upload, "content_type", "")
                or mimetypes.guess_type(name)[0]
                or "application/octet-stream"
            )
            attachment = Attachment(
                message=message,
                type=_attachment_type(content_type),
                filename=name.rsplit("/", 1)[-1][:255],
                content_type=content_type[:150],
                size=getattr(upload, "size", None),
            )
            attachment.file.save(
                attachment.filename, upload if isinstance(upload, File) else File(upload), save=False
            )
            attachment.save()
            created.append(message)
        fields: dict[str, Any] = {"last_message_at": now}
        Conversation.objects.filter(pk=conversation.pk).update(**fields)
        if sender_type == SenderType.AGENT:
            # First agent reply: the service-level clock stops here (docs/architecture.md §5).
            Conversation.objects.filter(pk=conversation.pk, first_response_at__isnull=True).update(
                first_response_at=now
            )
        outbound_queued.send(sender=Message, messages=created)
        # The agent's other tabs, supervisors reading the live transcript and the board hear of the reply.
        for message in created:
            message_created_publish(message, conversation)
    conversation.refresh_from_db(fields=["last_message_at", "first_response_at"])
    return created


def message_send(
    *,
    conversation: Conversation,
    author: Any,
    text: str,
    files: Sequence[Any] = (),
    sender_type: str = SenderType.AGENT,
) -> Message:
    """Send a reply; returns the first message created (the text, or the first attachment)."""
    return messages_send(
        conversation=conversation, author=author, text=text, files=files, sender_type=sender_type
    )[0]


def message_retry(*, message: Message, by: Any) -> Message:
    """Send a failed outbound message again (the agent's Retry button).

    Only a failed message of an open conversation, inside the messaging window, is re-queued; it keeps
    its attempt counter, so a stale delivery task of the earlier attempt can never claim it (the
    compare-and-swap in messenger.send.message_deliver). Waits for the token like a new message when
    the channel cannot send.
    """
    conversation = message.conversation
    if message.direction != Direction.OUT or message.status != MessageStatus.FAILED:
        raise ApplicationError("not_failed", _("Only a message that failed can be sent again."), status=409)
    if conversation.state not in OPEN_STATES:
        raise ApplicationError(
            "conversation_closed", _("This conversation is closed; write in a new one instead."), status=409
        )
    thread_owner_require(conversation=conversation)
    messaging_window_require(conversation=conversation)
    extra = dict(message.extra or {})
    extra["send_state"] = SendState.QUEUED.value
    extra["retried_by"] = getattr(by, "pk", None)
    extra["attempt_base"] = message.send_attempts
    with transaction.atomic():
        changed = Message.objects.filter(pk=message.pk, status=MessageStatus.FAILED).update(
            status=MessageStatus.PENDING, status_reason="", extra=extra
        )
        if not changed:
            raise ApplicationError("not_failed", _("This message is already being sent again."), status=409)
        message.status, message.status_reason, message.extra = MessageStatus.PENDING, "", extra
        outbound_queued.send(sender=Message, messages=[message])
        message_status_publish(message)
    return message


def sender_action_request(*, conversation: Conversation, action: str) -> bool:
    """Show the customer a typing_on / typing_off / mark_seen; False when it is not allowed now.

    Best effort: sender actions are only valid inside the 24 h window, and the channel never retries
    them (messenger.send.sender_action_send)."""
    if action not in SENDER_ACTIONS:
        raise ApplicationError("invalid_action", _("Unknown sender action “%(a)s”.") % {"a": action})
    mode, _remaining = messaging_window(conversation=conversation)
    if mode != WindowMode.RESPONSE:
        return False
    sender_action_requested.send(sender=Conversation, conversation=conversation, action=action)
    return True
