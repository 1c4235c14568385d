"""One stored webhook event → one conversations service call. Runs inside the per-event transaction.

The caller (`ingest.inbound_stream_process`) holds the contact lock and marks the event with the
(status, reason) returned here. Follow-up work that needs HTTP (profile, attachment download) is only
enqueued here — the task row commits with the event — and runs later outside any transaction.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings

from pagedesk.campaigns.models import Campaign
from pagedesk.conversations import services
from pagedesk.conversations.models import Contact
from pagedesk.conversations.thread import UNKNOWN_APP
from pagedesk.core import clock, metrics
from pagedesk.messenger import attachments as attachment_downloads
from pagedesk.messenger import payloads, profiles
from pagedesk.messenger.models import InboundEvent, InboundEventStatus, PageConnection
from pagedesk.routing import inbound

logger = logging.getLogger(__name__)

# The send code puts "pagedesk:<message id>" in the Send API `metadata`; Facebook returns it on the echo.
OUR_METADATA_PREFIX = "pagedesk:"

Outcome = tuple[str, str]
PROCESSED: Outcome = (InboundEventStatus.PROCESSED, "")


def _at(ms: int) -> dt.datetime | None:
    if ms <= 0:
        return None
    try:
        return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def our_message_id(metadata: str) -> int | None:
    if not metadata.startswith(OUR_METADATA_PREFIX):
        return None
    tail = metadata[len(OUR_METADATA_PREFIX) :].strip()
    return int(tail) if tail.isdigit() else None


def _specs(attachments: tuple[payloads.AttachmentIn, ...]) -> list[services.AttachmentSpec]:
    return [
        services.AttachmentSpec(
            type=a.type, url=a.url, title=a.title, latitude=a.latitude, longitude=a.longitude
        )
        for a in attachments
    ]


def event_handle(*, event: InboundEvent, contact: Contact, page_connection: PageConnection) -> Outcome:
    try:
        item = payloads.event_parse(event.payload, kind=event.kind)
    except (payloads.PayloadError, KeyError, TypeError) as exc:
        metrics.unknown_events.labels(reason="malformed_event").inc()
        logger.warning("malformed %s event %s: %s", event.kind, event.pk, exc)
        return InboundEventStatus.IGNORED, f"malformed: {exc}"[:2000]
    page_id = event.page_id
    campaign = page_connection.campaign
    event_at = _at(event.event_time)

    if isinstance(item, payloads.Handover):
        return _handover(item, contact=contact, event_at=event_at)
    if isinstance(item, payloads.Standby):
        return _standby(item.item, contact=contact, page_connection=page_connection, page_id=page_id)

    if isinstance(item, payloads.CustomerMessage | payloads.Postback):
        if isinstance(item, payloads.CustomerMessage):
            received = inbound.message_receive(
                contact=contact,
                campaign=campaign,
                page_id=page_id,
                mid=item.mid,
                kind=item.kind,
                text=item.text,
                payload=item.quick_reply_payload,
                reply_to_mid=item.reply_to_mid,
                attachments=_specs(item.attachments),
                sent_at=_at(item.timestamp),
                extra={"sticker_id": item.sticker_id} if item.sticker_id else None,
            )
        else:
            # A button tap (e.g. Get Started) is the customer speaking: it opens or joins a conversation.
            received = inbound.message_receive(
                contact=contact,
                campaign=campaign,
                page_id=page_id,
                mid=item.mid,
                kind="postback",
                text=item.title,
                payload=item.payload,
                sent_at=_at(item.timestamp),
                extra={"referral": item.referral} if item.referral else None,
            )
        if received.duplicate:
            return InboundEventStatus.IGNORED, "duplicate message id"
        attachment_downloads.attachments_enqueue(attachments=received.attachments)
        if received.opened:
            profiles.contact_profile_enqueue_if_stale(contact=contact)
        return PROCESSED

    if isinstance(item, payloads.Echo):
        echo = _echo(item, contact=contact, campaign=campaign, page_id=page_id)
        if echo is None:
            return InboundEventStatus.IGNORED, "duplicate message id"
        if echo.outcome == "recorded":
            profiles.contact_profile_enqueue_if_stale(contact=contact)
        return PROCESSED

    if isinstance(item, payloads.Delivery):
        watermark_at = _at(item.watermark)
        if watermark_at is None:
            return InboundEventStatus.IGNORED, "delivery watermark is not a time"
        services.messages_mark_delivered(
            contact=contact,
            page_id=page_id,
            watermark_at=watermark_at,
            at=event_at or watermark_at,
            mids=item.mids,
        )
        return PROCESSED

    if isinstance(item, payloads.Read):
        watermark_at = _at(item.watermark)
        if watermark_at is None:
            return InboundEventStatus.IGNORED, "read watermark is not a time"
        services.messages_mark_read(
            contact=contact, page_id=page_id, watermark_at=watermark_at, at=event_at or watermark_at
        )
        return PROCESSED

    if isinstance(item, payloads.Reaction):
        reacted = services.message_reaction_apply(
            page_id=page_id,
            mid=item.mid,
            psid=contact.psid,
            action=item.action,
            reaction=item.reaction,
            emoji=item.emoji,
            at=_at(item.timestamp) or event_at or _now(),
        )
        return (
            PROCESSED
            if reacted
            else (InboundEventStatus.IGNORED, "reaction to a message pagedesk does not have")
        )

    if isinstance(item, payloads.MessageEdit):
        edited = services.message_edit_apply(
            page_id=page_id,
            mid=item.mid,
            text=item.text,
            num_edit=item.num_edit,
            at=_at(item.timestamp) or _now(),
        )
        return (
            PROCESSED
            if edited
            else (InboundEventStatus.IGNORED, "edit of an unknown message, or an older edit")
        )

    metrics.unknown_events.labels(reason="unsupported_event").inc()
    return InboundEventStatus.IGNORED, item.reason


def _now() -> dt.datetime:
    return clock.now()


def _our(app_id: str) -> str:
    """pagedesk's own app is recorded as "" (the default owner); any other app by its id."""
    return "" if app_id and app_id == settings.FACEBOOK_APP_ID else app_id


def _handover(item: payloads.Handover, *, contact: Contact, event_at: dt.datetime | None) -> Outcome:
    if item.action == "request_thread_control":
        # The owner is asked to pass the thread (the Page inbox does this when an admin moves the
        # conversation back to its Inbox); the agent hands back from the conversation when done.
        return InboundEventStatus.IGNORED, (
            f"request_thread_control from app {item.requested_owner_app_id or '?'}: "
            "an agent hands the conversation back with “Hand back”"
        )
    changed = services.contact_thread_owner_set(
        contact=contact,
        owner_app_id=_our(item.new_owner_app_id),
        previous_owner_app_id=_our(item.previous_owner_app_id),
        how="passed" if item.action == "pass_thread_control" else "took",
        at=_at(item.timestamp) or event_at,
    )
    return PROCESSED if changed else (InboundEventStatus.IGNORED, "thread owner already recorded")


def _echo(
    item: payloads.Echo, *, contact: Contact, campaign: Campaign, page_id: str
) -> services.EchoResult | None:
    """Apply an echo of a page's reply (ours confirmed, or one sent from outside pagedesk recorded) and
    fetch its attachments; None for a mid already stored."""
    echo = services.message_echo_apply(
        contact=contact,
        campaign=campaign,
        page_id=page_id,
        mid=item.mid,
        kind=item.kind,
        text=item.text,
        attachments=_specs(item.attachments),
        our_message_id=our_message_id(item.metadata),
        app_id=item.app_id,
        sent_at=_at(item.timestamp),
    )
    if echo.outcome == "duplicate":
        return None
    attachment_downloads.attachments_enqueue(attachments=echo.attachments)
    return echo


def _standby(
    item: payloads.InboundItem, *, contact: Contact, page_connection: PageConnection, page_id: str
) -> Outcome:
    """What another app's thread brings: the customer's messages are kept (never routed), the owner's
    replies recorded like any reply sent from outside pagedesk; receipts and the rest are not ours."""
    if isinstance(item, payloads.Echo):
        if _echo(item, contact=contact, campaign=page_connection.campaign, page_id=page_id) is None:
            return InboundEventStatus.IGNORED, "duplicate message id"
        return PROCESSED
    if not isinstance(item, payloads.CustomerMessage | payloads.Postback):
        return InboundEventStatus.IGNORED, "standby: another app controls this conversation"
    if not contact.thread_owner_app_id:
        # Facebook says another app has the thread before (or without) telling us through
        # messaging_handovers: the standby copy itself is the news.
        services.contact_thread_owner_set(contact=contact, owner_app_id=UNKNOWN_APP, how="passed")
    if isinstance(item, payloads.CustomerMessage):
        received = services.message_standby_record(
            contact=contact,
            campaign=page_connection.campaign,
            page_id=page_id,
            mid=item.mid,
            kind=item.kind,
            text=item.text,
            payload=item.quick_reply_payload,
            attachments=_specs(item.attachments),
            sent_at=_at(item.timestamp),
            owner_app_id=contact.thread_owner_app_id,
            extra={"sticker_id": item.sticker_id} if item.sticker_id else None,
        )
    else:
        received = services.message_standby_record(
            contact=contact,
            campaign=page_connection.campaign,
            page_id=page_id,
            mid=item.mid,
            kind="postback",
            text=item.title,
            payload=item.payload,
            sent_at=_at(item.timestamp),
            owner_app_id=contact.thread_owner_app_id,
        )
    if received.duplicate:
        return InboundEventStatus.IGNORED, "duplicate message id"
    attachment_downloads.attachments_enqueue(attachments=received.attachments)
    profiles.contact_profile_enqueue_if_stale(contact=contact)
    return PROCESSED
