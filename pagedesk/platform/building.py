"""Building the webhook bodies' `data` after commit: the public shapes of what each event reports.

The change's transaction wrote only the event's own fields (platform.outbox); reading the message,
conversation, contact, agent and their relations and shaping them would have cost the Messenger path
a good part of its transaction (profiled: ~40 % with 5 endpoints). Here it is done by the webhook
worker, a moment after commit: every drain builds the events still without `data` (oldest first, a
batch at a time, a few queries per batch) before it looks for deliveries to send.

Built once and stored: an event's `data` is written only where it is still NULL (two drains building
at once: the first write wins) and every attempt reads it back from the row, so a retry or a
redelivery sends the same bytes as the first attempt. A delivery whose event has no `data` yet is
never sent (platform.delivery holds it and its conversation's later ones back).

What the body shows: the rows as they are when the data is built, a moment after the change (a
conversation already assigned when its `conversation.queued` is built shows as assigned). What the
event itself says (a message's new status, an agent's presence, a token's status, the queueing
reason, the assignment, the transfer) comes from the event, not from the row read later.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _
from pydantic import ValidationError

from pagedesk.accounts.models import User
from pagedesk.conversations.models import Conversation, Message
from pagedesk.messenger.models import InboundEvent, PageConnection
from pagedesk.platform import shapes
from pagedesk.platform.models import DeliveryState, WebhookDelivery, WebhookEvent
from pagedesk.realtime import events as rt

logger = logging.getLogger(__name__)

BUILD_BATCH = 200

# The realtime events that become webhooks, by their realtime type (WebhookEvent.source["type"]).
SOURCES: dict[str, type[rt.Event]] = {
    "message.created": rt.MessageCreated,
    "message.status_changed": rt.MessageStatusChanged,
    "conversation.queued": rt.ConversationQueued,
    "conversation.assigned": rt.ConversationAssigned,
    "conversation.transferred": rt.ConversationTransferred,
    "conversation.closed": rt.ConversationClosed,
    "conversation.abandoned": rt.ConversationAbandoned,
    "agent.status_changed": rt.AgentStatusChanged,
    "campaign.token_status_changed": rt.CampaignTokenStatusChanged,
}

# One builder at a time per process: the webhook threads of a process would otherwise build the
# same events side by side (the second finds them built once the first is done).
_lock = threading.Lock()


class Gone(Exception):
    """What the event reports no longer exists: its deliveries are cancelled with this reason."""


@dataclass
class Rows:
    """The rows a batch of events needs, read in a few queries for the whole batch."""

    messages: dict[int, Message] = field(default_factory=dict)
    conversations: dict[int, Conversation] = field(default_factory=dict)
    agents: dict[int, User] = field(default_factory=dict)
    # Shapes already built in this batch: one conversation's events (a burst of status changes, say)
    # share its shape instead of building it again for each (the build is most of a drain's CPU).
    shaped: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, events: Iterable[rt.Event]) -> Rows:
        message_ids: set[int] = set()
        conversation_ids: set[int] = set()
        agent_ids: set[int] = set()
        for event in events:
            if isinstance(event, rt.MessageCreated | rt.MessageStatusChanged):
                message_ids.add(event.message_id)
            if hasattr(event, "conversation_id"):
                conversation_ids.add(event.conversation_id)
            if isinstance(event, rt.AgentStatusChanged):
                agent_ids.add(event.agent_id)
        rows = cls()
        if message_ids:
            rows.messages = {
                m.pk: m
                for m in Message.objects.select_related(*shapes.MESSAGE_RELATED)
                .prefetch_related(*shapes.MESSAGE_PREFETCH)
                .filter(pk__in=message_ids)
                .order_by()
            }
        if conversation_ids:
            rows.conversations = {
                c.pk: c
                for c in Conversation.objects.select_related(*shapes.CONVERSATION_RELATED)
                .filter(pk__in=conversation_ids)
                .order_by()
            }
        if agent_ids:
            rows.agents = {u.pk: u for u in User.objects.filter(pk__in=agent_ids).order_by()}
        return rows

    def conversation(self, conversation_id: int) -> Conversation:
        conversation = self.conversations.get(conversation_id)
        if conversation is None:
            raise Gone(_("The conversation no longer exists."))
        return conversation

    def message(self, message_id: int) -> Message:
        message = self.messages.get(message_id)
        if message is None:
            raise Gone(_("The message no longer exists."))
        return message


def data_of(event: rt.Event, *, rows: Rows, campaign_ids: list[int]) -> dict[str, Any]:
    """The body's `data` for one event (raises Gone when its subject was deleted)."""
    if isinstance(event, rt.MessageCreated | rt.MessageStatusChanged):
        key = ("message", event.message_id)
        if key not in rows.shaped:
            rows.shaped[key] = shapes.json_data(shapes.message_shape(rows.message(event.message_id)))
        message = dict(rows.shaped[key])
        if isinstance(event, rt.MessageStatusChanged):
            # The status this event reports, not a later one the row may have reached meanwhile.
            message["status"] = event.status
            message["status_reason"] = event.reason
        return {"message": message, "conversation": _conversation_data(rows, event.conversation_id)}
    if isinstance(event, rt.ConversationQueued):
        return {"conversation": _conversation_data(rows, event.conversation_id), "reason": event.reason}
    if isinstance(event, rt.ConversationAssigned):
        return {
            "conversation": _conversation_data(rows, event.conversation_id),
            "how": event.how,
            "agent_id": event.agent_id,
        }
    if isinstance(event, rt.ConversationTransferred):
        transfer = {
            "from_campaign_id": event.from_campaign_id,
            "to_campaign_id": event.to_campaign_id,
            "from_agent_id": event.from_agent_id,
            "to_agent_id": event.to_agent_id,
            "note": event.note,
        }
        return {"conversation": _conversation_data(rows, event.conversation_id), "transfer": transfer}
    if isinstance(event, rt.ConversationClosed | rt.ConversationAbandoned):
        return {"conversation": _conversation_data(rows, event.conversation_id)}
    if isinstance(event, rt.AgentStatusChanged):
        agent = rows.agents.get(event.agent_id)
        if agent is None:
            raise Gone(_("The agent no longer exists."))
        shape = shapes.agent_status_shape(
            agent,
            campaign_ids=campaign_ids,
            break_reason=event.break_reason,
            changed_at=dt.datetime.fromisoformat(event.changed_at),
        )
        # The presence the event reports, not a later one read back from the row.
        shape.presence = event.presence  # type: ignore[assignment]
        return shapes.json_data(shape)
    if isinstance(event, rt.CampaignTokenStatusChanged):
        return _page_data(event)
    raise Gone(_("This event type is no longer sent."))


def _conversation_data(rows: Rows, conversation_id: int) -> dict[str, Any]:
    key = ("conversation", conversation_id)
    if key not in rows.shaped:
        rows.shaped[key] = shapes.json_data(shapes.conversation_shape(rows.conversation(conversation_id)))
    return rows.shaped[key]


def _page_data(event: rt.CampaignTokenStatusChanged) -> dict[str, Any]:
    # Rare (a token checked or revoked): one event, two queries.
    connection_row = (
        PageConnection.objects.select_related("campaign").filter(campaign_id=event.campaign_id).first()
    )
    if connection_row is None:
        raise Gone(_("The page is no longer connected to this campaign."))
    last = (
        InboundEvent.objects.filter(page_id=connection_row.page_id)
        .order_by("-received_at")
        .values_list("received_at", flat=True)
        .first()
        if connection_row.page_id
        else None
    )
    shape = shapes.page_shape(connection_row, last_webhook_at=last)
    # The status this event reports.
    shape.token_status = event.token_status  # type: ignore[assignment]
    return shapes.json_data(shape)


def webhook_events_build(*, limit: int = BUILD_BATCH) -> int:
    """Build and store the `data` of up to `limit` events still without it, oldest first; returns how
    many events it looked at (`limit`: there may be more).

    An event whose subject is gone, or whose data cannot be built (a bug: logged), gets `{}` and its
    open deliveries are cancelled with the reason: that fault costs the event's deliveries, as it
    did when the data was read in the change's transaction, and never holds up the conversation's
    later events."""
    with _lock:
        rows = list(
            WebhookEvent.objects.filter(data__isnull=True)
            .order_by("id")
            .values_list("id", "campaign_ids", "source")[:limit]
        )
        if not rows:
            return 0
        events: list[tuple[int, list[int], rt.Event]] = []
        failed: dict[int, str] = {}
        for pk, campaign_ids, source in rows:
            kind = SOURCES.get(source.get("type", "")) if isinstance(source, dict) else None
            try:
                if kind is None:
                    raise Gone(_("This event type is no longer sent."))
                events.append((pk, campaign_ids, kind.model_validate(source)))
            except (Gone, ValidationError) as exc:
                failed[pk] = str(exc)
        loaded = Rows.load(event for _pk, _ids, event in events)
        built: dict[int, dict[str, Any]] = {}
        for pk, campaign_ids, event in events:
            try:
                built[pk] = data_of(event, rows=loaded, campaign_ids=campaign_ids)
            except Gone as exc:
                failed[pk] = str(exc)
            except Exception:
                logger.exception("the data of webhook event %s (%s) could not be built", pk, event.type)
                failed[pk] = _("Its data could not be built (see the server log).")
        _store(built=built, failed=failed)
        return len(rows)


def _store(*, built: dict[int, dict[str, Any]], failed: dict[int, str]) -> None:
    data_field = WebhookEvent._meta.get_field("data")
    quote = connection.ops.quote_name
    # Only where still NULL: another builder's data, once stored, is the one every attempt sends.
    # executemany of one prepared UPDATE rather than an UPDATE per row through the ORM (its compiling
    # cost as much as the shaping).
    sql = "UPDATE {} SET {} = %s WHERE {} = %s AND {} IS NULL".format(  # noqa: S608
        quote(WebhookEvent._meta.db_table), quote("data"), quote("id"), quote("data")
    )
    with transaction.atomic():
        if built:
            with connection.cursor() as cursor:
                cursor.executemany(
                    sql, [[data_field.get_db_prep_save(data, connection), pk] for pk, data in built.items()]
                )
        for pk, reason in failed.items():
            if WebhookEvent.objects.filter(pk=pk, data__isnull=True).update(data={}):
                WebhookDelivery.objects.filter(event_id=pk, state=DeliveryState.PENDING).update(
                    state=DeliveryState.CANCELLED, last_error=reason[:500]
                )
