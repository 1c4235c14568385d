"""The Send API: the per-page rate cap and delivering the outbound messages the domain records
(conversations.sending; the messaging window's rule is the domain's, conversations/window.py).

Contracts (issue 4):
- A message is delivered by exactly one worker at a time: a task carries the attempt number it was
  enqueued for and claims the message with a compare-and-swap on `send_attempts`. A stale or
  duplicate task loses the swap and does nothing.
- Never sent twice: after an ambiguous failure (the request may have reached Facebook) the message is
  marked "unconfirmed" and only re-sent when no echo carrying its metadata (`pagedesk:<id>`) arrived
  within RECONCILE_SECONDS; the webhook side matches echoes and sets mid/status.
- No HTTP inside a database transaction: every write here is a short UPDATE before or after the call.

Meta references:
https://developers.facebook.com/docs/messenger-platform/reference/send-api/
https://developers.facebook.com/docs/messenger-platform/policy/policy-overview#24hours_window
https://developers.facebook.com/docs/messenger-platform/send-messages/message-tags (HUMAN_AGENT)
https://developers.facebook.com/docs/messenger-platform/send-messages/saving-assets (message_attachments)
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import time
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Greatest
from django.utils.translation import gettext as _

from pagedesk.campaigns.models import Campaign
from pagedesk.conversations.models import Conversation, Direction, Message, MessageStatus, SendState
from pagedesk.conversations.services import message_status_publish
from pagedesk.conversations.thread import thread_owner_label
from pagedesk.conversations.window import WindowMode, messaging_window, window_closed_reason
from pagedesk.core import clock
from pagedesk.messenger import client
from pagedesk.messenger.errors import (
    Ambiguous,
    GraphError,
    InvalidId,
    OutsideWindow,
    PermissionMissing,
    PolicyError,
    RateLimited,
    TokenInvalid,
    Transient,
)
from pagedesk.messenger.models import PageConnection, PageSendThrottle, TokenStatus
from pagedesk.messenger.thread_control import thread_owner_refresh
from pagedesk.messenger.tokens import page_connection_mark_invalid, page_token_get

logger = logging.getLogger(__name__)

# How long an unconfirmed send waits for its echo before it is sent again.
RECONCILE_SECONDS = 60
# Transient and rate-limit failures are retried this many times in total, then the message fails.
MAX_SEND_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 300.0
RATE_LIMIT_PAUSE_SECONDS = 30.0
# Longer than the Graph client's whole timeout: a "sending" message older than this lost its worker.
STUCK_SENDING_SECONDS = 300
METADATA_PREFIX = "pagedesk:"


def message_metadata(message_id: int) -> str:
    """The Send API `metadata` that comes back on the echo, so the webhook side can match it."""
    return f"{METADATA_PREFIX}{message_id}"


# --- Per-page rate cap ----------------------------------------------------------------------------


def _rate_cap() -> int:
    return max(1, int(getattr(settings, "FACEBOOK_SEND_RATE_PER_SECOND", 40)))


def send_slot_take(*, page_id: str, cap: int | None = None) -> tuple[int | None, float]:
    """Try to take one send slot for the page: (the Unix second it counts in, 0.0) or (None, seconds to wait).

    One conditional UPDATE decides, so the cap holds across threads and processes: PostgreSQL
    re-checks the WHERE clause on the row a concurrent writer committed, SQLite serialises writers.
    A process whose clock lags behind the stored window never resets it (it waits instead).
    Wall-clock seconds (not clock.now) because this paces real HTTP calls.
    """
    cap = cap or _rate_cap()
    for _attempt in range(3):
        now = time.time()
        second = int(now)
        taken = (
            PageSendThrottle.objects.filter(page_id=page_id, paused_until__lte=now)
            .filter(Q(window_second__lt=second) | Q(window_second=second, count__lt=cap))
            .update(
                count=Case(When(window_second=second, then=F("count") + 1), default=Value(1)),
                window_second=second,
            )
        )
        if taken:
            return second, 0.0
        row = PageSendThrottle.objects.filter(page_id=page_id).values("paused_until", "window_second").first()
        if row is None:
            try:
                with transaction.atomic():
                    PageSendThrottle.objects.create(page_id=page_id)
            except IntegrityError:
                pass  # another sender created it first
            continue
        if row["paused_until"] > now:
            return None, float(row["paused_until"] - now)
        return None, max(0.001, (max(second, row["window_second"]) + 1) - now)
    return None, 0.05


def send_slot_acquire(*, page_id: str, cap: int | None = None) -> float:
    """Take one send slot now: 0.0 if taken, else the seconds to wait before trying again."""
    second, wait = send_slot_take(page_id=page_id, cap=cap)
    return 0.0 if second is not None else wait


def send_slot_wait(*, page_id: str, max_wait: float = 2.0) -> float:
    """Block (briefly) until a slot is taken; returns 0.0, or the longer pause the caller should defer."""
    deadline = time.monotonic() + max_wait
    while True:
        wait = send_slot_acquire(page_id=page_id)
        if wait <= 0:
            return 0.0
        if time.monotonic() + wait > deadline:
            return wait
        time.sleep(wait + random.uniform(0, 0.01))


def page_send_pause(*, page_id: str, seconds: float) -> float:
    """Stop sends for the page after a rate-limit answer; returns the Unix time sends resume."""
    until = time.time() + seconds
    PageSendThrottle.objects.get_or_create(page_id=page_id)
    PageSendThrottle.objects.filter(page_id=page_id).update(
        paused_until=Greatest(F("paused_until"), Value(until))
    )
    return until


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with jitter for retry number `attempt` (1-based): ~2 s, 4 s, 8 s … ≤ 300 s.

    The jitter (50–100 % of the step) keeps many failed sends from retrying in lockstep.
    """
    step = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * (2 ** max(0, attempt - 1)))
    return step * random.uniform(0.5, 1.0)


# --- Message status writes ------------------------------------------------------------------------


def _message_update(message: Any, *, only_if_pending: bool = True, **fields: Any) -> bool:
    """Write fields on a pending outbound message and publish its status; False if it moved on."""
    with transaction.atomic():
        query = Message.objects.filter(pk=message.pk)
        if only_if_pending:
            query = query.filter(status=MessageStatus.PENDING)
        changed = query.update(**fields)
        if changed:
            for name, value in fields.items():
                setattr(message, name, value)
            message_status_publish(message)
    return bool(changed)


def _extra(message: Any, **changes: Any) -> dict[str, Any]:
    extra = dict(message.extra or {})
    for key, value in changes.items():
        if value is None:
            extra.pop(key, None)
        else:
            extra[key] = value
    return extra


def message_fail(*, message: Any, reason: str) -> bool:
    return _message_update(
        message,
        status=MessageStatus.FAILED,
        status_reason=str(reason)[:500],
        extra=_extra(message, send_state=None, sending_since=None),
    )


def token_wait_reason(*, campaign: Campaign, connection: PageConnection | None) -> str:
    """Why replies wait, worded for whoever reads it: agents see it on their replies and cannot activate
    a page themselves, so it says who can and that nothing written is lost."""
    if connection is not None and connection.token_status == TokenStatus.INVALID:
        return _(
            "Facebook revoked the page token for '%(campaign)s'. Replies wait until an administrator "
            "reconnects the page with 'Activate with Facebook'; they are sent then."
        ) % {"campaign": campaign.name}
    return _(
        "The page for '%(campaign)s' is not connected to Facebook yet. Replies wait until an administrator "
        "connects it with 'Activate with Facebook'; they are sent then."
    ) % {"campaign": campaign.name}


def page_send_readiness(*, campaign: Campaign, connection: PageConnection | None) -> tuple[bool, str]:
    """(True, "") when the campaign's page can send now; else (False, why replies wait), the words the
    agent sees on the composer and on each waiting reply. `connection` is the campaign's page
    connection as the caller read it (None when it has none)."""
    if connection is not None and connection.token_status == TokenStatus.ACTIVE:
        return True, ""
    return False, token_wait_reason(campaign=campaign, connection=connection)[:500]


def _wait_for_token(message: Any, *, campaign: Campaign, connection: PageConnection | None) -> None:
    """Park the message until re-activation (messages_resend_pending picks it up again)."""
    _message_update(
        message,
        status_reason=token_wait_reason(campaign=campaign, connection=connection)[:500],
        extra=_extra(message, send_state=SendState.WAITING_TOKEN.value, sending_since=None),
    )


def _enqueue_deliver(*, message_id: int, attempt: int, run_after: dt.datetime | None = None) -> None:
    # lazy (task): tasks_outbound imports this module
    from pagedesk.messenger.tasks_outbound import message_deliver_task

    task = message_deliver_task.using(run_after=run_after) if run_after else message_deliver_task
    task.enqueue(message_id=message_id, attempt=attempt)


def message_delivery_enqueue(*, message: Any) -> None:
    """Queue delivery of a pending message at its current attempt number (caller's transaction)."""
    _enqueue_deliver(message_id=message.pk, attempt=message.send_attempts)


def messages_delivery_queue(*, messages: Sequence[Message]) -> None:
    """The domain recorded these outbound messages pending (conversations.signals.outbound_queued), in
    the caller's transaction: queue their delivery in order, or, while the page's token is not active,
    park them with the reason the agent sees (messages_resend_pending sends them on re-activation)."""
    if not messages:
        return
    campaign = messages[0].conversation.campaign
    token_ok, reason = page_send_readiness(campaign=campaign, connection=_connection(campaign))
    for message in messages:
        # The echo brings `metadata` back; kept on the row too, for whoever reads it.
        extra = _extra(
            message,
            metadata=message_metadata(message.pk),
            send_state=(SendState.QUEUED if token_ok else SendState.WAITING_TOKEN).value,
        )
        Message.objects.filter(pk=message.pk).update(extra=extra, status_reason=reason)
        message.extra, message.status_reason = extra, reason
        if token_ok:
            message_delivery_enqueue(message=message)


def messages_resend_pending(*, page_connection: PageConnection) -> dict[str, int]:
    """After (re-)activation: queue every message that waited for the token, or fail it when the
    messaging window closed meanwhile. Returns counts {"queued": n, "failed": m}."""
    counts = {"queued": 0, "failed": 0}
    if page_connection.token_status != TokenStatus.ACTIVE:
        return counts
    waiting = (
        Message.objects.filter(
            conversation__campaign_id=page_connection.campaign_id,
            direction=Direction.OUT,
            status=MessageStatus.PENDING,
            mid="",
        )
        # Messages written for another page (before a page switch) must not go out through this one.
        .filter(Q(page_id=page_connection.page_id) | Q(page_id=""))
        .filter(extra__send_state=SendState.WAITING_TOKEN.value)
        .select_related("conversation__campaign", "conversation__contact")
        .order_by("created_at", "pk")
    )
    for message in waiting:
        mode, _remaining = messaging_window(conversation=message.conversation)
        if mode == WindowMode.CLOSED:
            if message_fail(message=message, reason=window_closed_reason(conversation=message.conversation)):
                counts["failed"] += 1
            continue
        extra = dict(message.extra or {})
        extra["send_state"] = SendState.QUEUED.value
        with transaction.atomic():
            changed = Message.objects.filter(
                pk=message.pk,
                status=MessageStatus.PENDING,
                send_attempts=message.send_attempts,
                extra__send_state=SendState.WAITING_TOKEN.value,
            ).update(extra=extra, status_reason="")
            if changed:
                message.extra = extra
                message.status_reason = ""
                message_delivery_enqueue(message=message)
                message_status_publish(message)
                counts["queued"] += 1
    return counts


# --- Graph payloads -------------------------------------------------------------------------------

_SEND_TYPES = {"image", "video", "audio", "file"}


def _attachment_reference(*, attachment: Any, page_id: str, token: str) -> dict[str, Any]:
    """The Send API attachment object; uploads the file first (safe to repeat: it sends nothing)."""
    kind = attachment.type if attachment.type in _SEND_TYPES else "file"
    if attachment.attachment_id:
        return {"type": kind, "payload": {"attachment_id": attachment.attachment_id}}
    if attachment.file:
        with attachment.file.open("rb") as handle:
            content = handle.read()
        body = client.post(
            f"{page_id}/message_attachments",
            token=token,
            data={"message": json.dumps({"attachment": {"type": kind, "payload": {"is_reusable": True}}})},
            files={
                "filedata": (
                    attachment.filename or "file",
                    content,
                    attachment.content_type or "application/octet-stream",
                )
            },
        )
        attachment_id = str(body.get("attachment_id", ""))
        if not attachment_id:
            raise GraphError("Facebook did not return an attachment id for the upload")
        type(attachment).objects.filter(pk=attachment.pk).update(attachment_id=attachment_id)
        attachment.attachment_id = attachment_id
        return {"type": kind, "payload": {"attachment_id": attachment_id}}
    if attachment.original_url:
        return {"type": kind, "payload": {"url": attachment.original_url, "is_reusable": True}}
    raise GraphError("The attachment has neither a file nor a URL to send")


def message_payload(
    *, message: Any, psid: str, mode: str, attachment: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": message_metadata(message.pk)}
    if attachment is not None:
        body["attachment"] = attachment
    else:
        body["text"] = message.text
    recipient = client.graph_id(psid, kind=_("customer's Messenger id (PSID)"))
    payload: dict[str, Any] = {"recipient": {"id": recipient}, "message": body}
    if mode == WindowMode.HUMAN_AGENT:
        payload["messaging_type"] = "MESSAGE_TAG"
        payload["tag"] = "HUMAN_AGENT"
    else:
        payload["messaging_type"] = "RESPONSE"
    return payload


# --- Delivery -------------------------------------------------------------------------------------


def _load(message_id: int) -> Any:
    return (
        Message.objects.select_related("conversation__campaign", "conversation__contact")
        .prefetch_related("attachments")
        .filter(pk=message_id)
        .first()
    )


def _connection(campaign: Campaign) -> PageConnection | None:
    return PageConnection.objects.filter(campaign=campaign).first()


def _parse_time(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None


# How long a reply waits before looking again for the earlier reply it must not overtake.
ORDER_WAIT_SECONDS = 0.2


def _earlier_reply_pending(message: Any) -> bool:
    """Whether an earlier outbound message of the same conversation has not left yet (pending, or being
    sent). A failed one does not hold the others back; one waiting for a token holds them, as it should:
    they would wait for the same token."""
    return Message.objects.filter(
        conversation_id=message.conversation_id,
        direction=Direction.OUT,
        status=MessageStatus.PENDING,
        mid="",
        pk__lt=message.pk,
    ).exists()


def message_deliver(*, message_id: int, attempt: int) -> str:
    """Deliver one pending outbound message; returns what happened (for logs and tests).

    Called only by message_deliver_task. Outcomes: sent, failed, waiting_token, retry, paced,
    unconfirmed, reconciling, waiting_previous (an earlier reply of the conversation has not left yet),
    skipped (already sent/failed, or a stale task).
    """
    message = _load(message_id)
    if message is None or message.direction != Direction.OUT:
        return "skipped"
    if message.status != MessageStatus.PENDING or message.mid or message.send_attempts != attempt:
        return "skipped"
    extra = message.extra or {}
    state = extra.get("send_state")
    if state == SendState.WAITING_TOKEN:
        return "waiting_token"
    if state == SendState.SENDING:
        # Another worker holds it (or died holding it; messages_reconcile_stuck handles that).
        return "skipped"
    if state == SendState.UNCONFIRMED:
        since = _parse_time(extra.get("unconfirmed_at")) or clock.now()
        deadline = since + dt.timedelta(seconds=RECONCILE_SECONDS)
        if clock.now() < deadline:
            _enqueue_deliver(message_id=message.pk, attempt=attempt, run_after=deadline)
            return "reconciling"
        # No echo within the window: Facebook did not take it, so it is safe to send again.
        logger.info(
            "message %s unconfirmed for %ss without an echo; sending again", message.pk, RECONCILE_SECONDS
        )

    if _earlier_reply_pending(message):
        # Messenger shows messages in the order Facebook takes them, and two workers may each hold one
        # part of a split reply (or two quick replies): the later one waits for the earlier to leave.
        _enqueue_deliver(
            message_id=message.pk,
            attempt=attempt,
            run_after=clock.now() + dt.timedelta(seconds=ORDER_WAIT_SECONDS),
        )
        return "waiting_previous"
    conversation = message.conversation
    campaign = conversation.campaign
    mode, _remaining = messaging_window(conversation=conversation)
    if mode == WindowMode.CLOSED:
        message_fail(message=message, reason=window_closed_reason(conversation=conversation))
        return "failed"
    if conversation.contact.thread_owner_app_id:
        # Another app took the thread after the reply was queued: Facebook would refuse it.
        message_fail(message=message, reason=_thread_reason(conversation.contact.thread_owner_app_id))
        return "failed"
    connection = _connection(campaign)
    token = page_token_get(page_connection=connection) if connection else None
    if connection is None or connection.token_status != TokenStatus.ACTIVE or not token:
        _wait_for_token(message, campaign=campaign, connection=connection)
        return "waiting_token"
    page_id = connection.page_id

    wait = send_slot_wait(page_id=page_id)
    if wait > 0:
        _enqueue_deliver(
            message_id=message.pk, attempt=attempt, run_after=clock.now() + dt.timedelta(seconds=wait)
        )
        return "paced"

    # Claim: only the task enqueued for this attempt number wins, exactly once.
    claimed = Message.objects.filter(
        pk=message.pk, status=MessageStatus.PENDING, mid="", send_attempts=attempt
    ).update(
        send_attempts=attempt + 1,
        messaging_type="MESSAGE_TAG" if mode == WindowMode.HUMAN_AGENT else "RESPONSE",
        tag="HUMAN_AGENT" if mode == WindowMode.HUMAN_AGENT else "",
        extra=_extra(message, send_state=SendState.SENDING.value, sending_since=clock.now().isoformat()),
    )
    if not claimed:
        return "skipped"
    message.send_attempts = attempt + 1
    message.extra = _extra(message, send_state=SendState.SENDING.value)
    next_attempt = attempt + 1

    try:
        # Before the upload too: an attachment for a customer we cannot address is not worth sending.
        client.graph_id(conversation.contact.psid, kind=_("customer's Messenger id (PSID)"))
        attachment = None
        files = list(message.attachments.all())
        if files:
            try:
                attachment = _attachment_reference(attachment=files[0], page_id=page_id, token=token)
            except Ambiguous as exc:
                # An upload that timed out sent nothing to the customer: an ordinary retry.
                raise Transient(exc.message) from exc
        payload = message_payload(
            message=message, psid=conversation.contact.psid, mode=mode, attachment=attachment
        )
        result = client.post(f"{page_id}/messages", token=token, json=payload)
    except TokenInvalid as exc:
        page_connection_mark_invalid(page_connection=connection, reason=exc.message)
        _wait_for_token(message, campaign=campaign, connection=connection)
        return "waiting_token"
    except Ambiguous:
        _message_update(
            message,
            status_reason=_(
                "unconfirmed: Facebook did not answer; waiting for its confirmation before any retry."
            ),
            extra=_extra(
                message,
                send_state=SendState.UNCONFIRMED.value,
                unconfirmed_at=clock.now().isoformat(),
                sending_since=None,
            ),
        )
        _enqueue_deliver(
            message_id=message.pk,
            attempt=next_attempt,
            run_after=clock.now() + dt.timedelta(seconds=RECONCILE_SECONDS),
        )
        return "unconfirmed"
    except RateLimited as exc:
        resume = page_send_pause(page_id=page_id, seconds=RATE_LIMIT_PAUSE_SECONDS * min(4, next_attempt))
        return _retry_or_fail(
            message,
            attempt=next_attempt,
            reason=_("Facebook asked us to slow down: %(error)s") % {"error": exc.message},
            run_after=dt.datetime.fromtimestamp(resume, dt.UTC) + dt.timedelta(seconds=random.uniform(0, 2)),
        )
    except Transient as exc:
        return _retry_or_fail(
            message,
            attempt=next_attempt,
            reason=_("Facebook could not take the message: %(error)s") % {"error": exc.message},
            run_after=clock.now() + dt.timedelta(seconds=backoff_seconds(next_attempt)),
        )
    except OutsideWindow:
        message_fail(message=message, reason=window_closed_reason(conversation=conversation))
        return "failed"
    except PermissionMissing as exc:
        # The usual cause once the token is fine: another app has the thread. Facebook's thread_owner
        # says so for certain, and the agent then sees "Take control" rather than "activate again".
        owner = thread_owner_refresh(page_connection=connection, token=token, contact=conversation.contact)
        if owner:
            message_fail(message=message, reason=_thread_reason(owner))
            return "failed"
        message_fail(
            message=message,
            reason=_(
                "The page's Facebook permissions do not allow this message (%(error)s). Activate with Facebook again."
            )
            % {"error": exc.message},
        )
        return "failed"
    except InvalidId as exc:
        # pagedesk refused before any request: Facebook never saw it, so it did not refuse it.
        message_fail(message=message, reason=exc.message)
        return "failed"
    except PolicyError as exc:
        message_fail(
            message=message, reason=_("Facebook refused the message: %(error)s") % {"error": exc.message}
        )
        return "failed"
    except GraphError as exc:
        message_fail(
            message=message, reason=_("Facebook refused the message: %(error)s") % {"error": str(exc)}
        )
        return "failed"

    mid = str(result.get("message_id", ""))
    try:
        _message_update(
            message,
            status=MessageStatus.SENT,
            mid=mid,
            sent_at=clock.now(),
            status_reason="",
            extra=_extra(message, send_state=None, sending_since=None, unconfirmed_at=None),
        )
    except IntegrityError:
        # The echo recorded this mid first (on this message): it is sent either way.
        logger.info("message %s: mid %s already recorded by its echo", message.pk, mid)
    return "sent"


def _thread_reason(owner_app_id: str) -> str:
    return _(
        "Not sent: %(owner)s has this conversation, so Facebook refuses replies from pagedesk. Click “Take "
        "control”, then Retry."
    ) % {"owner": thread_owner_label(owner_app_id)}


def _retry_or_fail(message: Any, *, attempt: int, reason: str, run_after: dt.datetime) -> str:
    # The counter keeps growing across an agent's Retry (it is the claim token), so the budget counts
    # from the attempt the Retry started at: every Retry gets the full set of automatic attempts.
    attempts_this_round = attempt - int((message.extra or {}).get("attempt_base", 0))
    if attempts_this_round >= MAX_SEND_ATTEMPTS:
        message_fail(
            message=message,
            reason=_("%(reason)s Gave up after %(n)s attempts.")
            % {"reason": reason, "n": attempts_this_round},
        )
        return "failed"
    with transaction.atomic():
        _message_update(
            message,
            status_reason=reason[:500],
            extra=_extra(message, send_state=SendState.RETRY.value, sending_since=None),
        )
        _enqueue_deliver(message_id=message.pk, attempt=attempt, run_after=run_after)
    return "retry"


def messages_reconcile_stuck() -> int:
    """Messages left "sending" by a worker that died mid-call: treat them as unconfirmed (never resend
    blindly). Runs with the periodic token check."""
    cutoff = clock.now() - dt.timedelta(seconds=STUCK_SENDING_SECONDS)
    count = 0
    candidates = Message.objects.filter(
        direction=Direction.OUT,
        status=MessageStatus.PENDING,
        mid="",
        extra__send_state=SendState.SENDING.value,
    )
    for message in candidates.select_related("conversation"):
        since = _parse_time((message.extra or {}).get("sending_since"))
        if since is None or since > cutoff:
            continue
        with transaction.atomic():
            if _message_update(
                message,
                status_reason=_(
                    "unconfirmed: Facebook did not answer; waiting for its confirmation before any retry."
                ),
                extra=_extra(
                    message,
                    send_state=SendState.UNCONFIRMED.value,
                    unconfirmed_at=since.isoformat(),
                    sending_since=None,
                ),
            ):
                _enqueue_deliver(message_id=message.pk, attempt=message.send_attempts)
                count += 1
    return count


# --- Sender actions -------------------------------------------------------------------------------


def sender_action_send(*, conversation: Conversation, action: str) -> None:
    """Queue a sender action the domain asked for (conversations.sending.sender_action_request, which
    checked the window). Best effort: never retried."""
    # lazy (task): tasks_outbound imports this module
    from pagedesk.messenger.tasks_outbound import sender_action_task

    sender_action_task.enqueue(conversation_id=conversation.pk, action=action)


def sender_action_deliver(*, conversation_id: int, action: str) -> str:
    conversation = (
        Conversation.objects.select_related("campaign", "contact").filter(pk=conversation_id).first()
    )
    if conversation is None:
        return "skipped"
    connection = _connection(conversation.campaign)
    token = page_token_get(page_connection=connection) if connection else None
    if connection is None or connection.token_status != TokenStatus.ACTIVE or not token:
        return "skipped"
    if send_slot_wait(page_id=connection.page_id, max_wait=1.0) > 0:
        return "skipped"  # a typing indicator that arrives late is worse than none
    try:
        client.post(
            f"{connection.page_id}/messages",
            token=token,
            json={
                "recipient": {"id": client.graph_id(conversation.contact.psid, kind="PSID")},
                "sender_action": action,
            },
        )
    except TokenInvalid as exc:
        page_connection_mark_invalid(page_connection=connection, reason=exc.message)
        return "token_invalid"
    except GraphError as exc:
        logger.info("sender action %s for conversation %s failed: %s", action, conversation_id, exc)
        return "failed"
    return "sent"
