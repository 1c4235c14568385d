"""Delivering the outbox: one endpoint's pending deliveries, in id order per conversation, over one
keep-alive HTTP client (docs/decisions/outbound-webhooks.md).

httpx is used here, outside pagedesk.messenger, on purpose: the rule "only messenger imports httpx"
keeps Facebook's Graph API behind one door; these are POSTs to the receivers admins registered, and
this module is their one door.

At least once: a delivery is claimed with a compare-and-swap (state pending → delivering under a
claim token with a lease), POSTed, then recorded only if the claim is still held. A drain lost with
its worker leaves claims that lapse after CLAIM_LEASE, and the next drain sends those rows again (the
receiver de-duplicates by the delivery id), so the task is safe to run again.

Order: a conversation's deliveries (one `ordering_key`) go out in id order; a key whose earliest open
delivery is waiting for a retry, or is in flight in another drain, holds back its later ones. Other
keys go on. A redelivery (`replay`) neither waits nor holds back.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from pagedesk.core import clock, priority
from pagedesk.core.db import rows_insert
from pagedesk.platform import signing
from pagedesk.platform.building import BUILD_BATCH, webhook_events_build
from pagedesk.platform.models import (
    OPEN_DELIVERY_STATES,
    PING,
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from pagedesk.platform.subscriptions import config_changed

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 10.0
RESPONSE_BODY_LIMIT = 2048
BATCH = 200
# Conversations sent side by side to one endpoint (each conversation's deliveries stay in order, in
# one lane): a receiver 100 ms away takes 10 deliveries a second one at a time, 40 in four lanes.
LANES = 4
# Pool threads for the lanes beyond each drain's own (two webhook worker threads, settings).
LANE_THREADS = 8
# A drain starts no new POST after this long, so endpoints share the webhook workers fairly.
DRAIN_BUDGET_SECONDS = 5.0
# Longer than a drain can hold a claim: its budget plus one POST at its longest, with margin.
CLAIM_LEASE = dt.timedelta(seconds=60)
DISABLE_AFTER = dt.timedelta(hours=24)
WALK_PAGE = 400
WALK_PAGES = 50
USER_AGENT = "pagedesk-webhooks/1"
# A delivery whose event's data could not be built yet (the builder failed: a locked or lost
# database) is looked at again after this long.
UNBUILT_RETRY = dt.timedelta(seconds=2)
ATTEMPT_FIELDS = [
    "delivery",
    "number",
    "started_at",
    "duration_ms",
    "status_code",
    "response_body",
    "error",
    "manual",
]
RECORDED_FIELDS = [
    "attempts",
    "last_status_code",
    "last_error",
    "last_duration_ms",
    "last_attempt_at",
    "claim",
    "claimed_until",
    "state",
    "delivered_at",
    "next_attempt_at",
]


@dataclass
class Outcome:
    delivery: WebhookDelivery
    started_at: dt.datetime
    duration_ms: float = 0.0
    status_code: int | None = None
    body: str = ""
    error: str = ""
    # "" delivered or refused for good; "row": retry this delivery; "endpoint": pause the endpoint.
    retry: str = ""
    retry_after: float | None = None


@dataclass
class Walk:
    eligible: list[int] = field(default_factory=list)
    # When the next held-back key's head can go (a retry time or a lapsing claim).
    next_at: dt.datetime | None = None


def body_of(delivery: WebhookDelivery) -> bytes:
    """The JSON body, the same bytes at every attempt of the delivery (its event's stored data)."""
    event = delivery.event
    if event.data is None:
        raise ValueError(f"webhook event {event.pk} has no data yet")
    document = {
        "id": str(delivery.uuid),
        "type": event.type,
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": event.data,
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def headers_of(*, delivery: WebhookDelivery, body: bytes, secret: str, at: dt.datetime) -> dict[str, str]:
    timestamp = str(int(at.timestamp()))
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Pagedesk-Event": delivery.event.type,
        "X-Pagedesk-Delivery": str(delivery.uuid),
        "X-Pagedesk-Timestamp": timestamp,
        "X-Pagedesk-Signature": signing.signature(secret=secret, timestamp=timestamp, body=body),
    }


TIMEOUTS = httpx.Timeout(TOTAL_TIMEOUT, connect=CONNECT_TIMEOUT).as_dict()


def http_client() -> httpx.HTTPTransport:
    """httpx's connection pool without its Client: no cookies kept between deliveries, no redirects
    followed, no proxy from the environment (the SSRF guard vets the address connected to), and a
    third less time per POST than Client.post (measured, bench/webhook_delivery.py)."""
    return httpx.HTTPTransport()


def post(client: httpx.HTTPTransport, *, url: str, delivery: WebhookDelivery, secret: str) -> Outcome:
    """POST one delivery and say what came of it; never raises for the receiver's faults."""
    started = clock.now()
    body = body_of(delivery)
    headers = headers_of(delivery=delivery, body=body, secret=secret, at=started)
    outcome = Outcome(delivery=delivery, started_at=started)
    t0 = time.perf_counter()
    try:
        request = httpx.Request("POST", url, content=body, headers=headers, extensions={"timeout": TIMEOUTS})
        response = client.handle_request(request)
        try:
            outcome.status_code = response.status_code
            outcome.body = _read_some(response, deadline=t0 + TOTAL_TIMEOUT)
            retry_after = response.headers.get("Retry-After")
        finally:
            response.close()
    except httpx.TimeoutException:
        outcome.error = _("No answer within %(seconds)s s.") % {"seconds": int(TOTAL_TIMEOUT)}
        outcome.retry = "endpoint"
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        outcome.error = (_("Could not connect: %(error)s") % {"error": exc})[:500]
        outcome.retry = "endpoint"
    outcome.duration_ms = (time.perf_counter() - t0) * 1000
    status = outcome.status_code
    if status is None:
        return outcome
    if 200 <= status < 300:
        return outcome
    outcome.error = _("The receiver answered %(status)s.") % {"status": status}
    if status == 429:
        outcome.retry = "endpoint"
        outcome.retry_after = signing.retry_after_seconds(retry_after, now=started)
    elif status == 408:
        outcome.retry = "row"
        outcome.retry_after = signing.retry_after_seconds(retry_after, now=started)
    elif signing.retryable_status(status):
        outcome.retry = "row"
    return outcome


def _read_some(response: httpx.Response, *, deadline: float) -> str:
    """At most RESPONSE_BODY_LIMIT bytes of the answer; a receiver trickling its body is cut off."""
    data = bytearray()
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) >= RESPONSE_BODY_LIMIT or time.perf_counter() > deadline:
            break
    return bytes(data[:RESPONSE_BODY_LIMIT]).decode("utf-8", "replace")


# --- choosing and claiming -------------------------------------------------------------------------


def _walk(*, endpoint_id: int, now: dt.datetime, limit: int) -> Walk:
    """The deliveries that may go now, in id order, honouring each key's order."""
    walk = Walk()
    held: set[str] = set()
    after = 0
    for _page in range(WALK_PAGES):
        rows = list(
            WebhookDelivery.objects.filter(
                endpoint_id=endpoint_id, state__in=OPEN_DELIVERY_STATES, id__gt=after
            )
            .order_by("id")
            .values_list("id", "ordering_key", "state", "next_attempt_at", "claimed_until", "replay")[
                :WALK_PAGE
            ]
        )
        for pk, key, state, next_at, claimed_until, replay in rows:
            in_flight = (
                state == DeliveryState.DELIVERING and claimed_until is not None and claimed_until > now
            )
            ready_at: dt.datetime = claimed_until if in_flight and claimed_until else next_at
            if replay:
                if ready_at <= now and not in_flight:
                    walk.eligible.append(pk)
                else:
                    walk.next_at = min(filter(None, (walk.next_at, ready_at)))
                continue
            if key in held:
                continue
            if in_flight or next_at > now:
                held.add(key)
                walk.next_at = min(filter(None, (walk.next_at, ready_at)))
                continue
            walk.eligible.append(pk)
            if len(walk.eligible) >= limit:
                return walk
        if len(rows) < WALK_PAGE:
            break
        after = rows[-1][0]
    return walk


def _claim(*, ids: list[int], now: dt.datetime) -> tuple[str, list[WebhookDelivery]]:
    """Claim the rows no other drain holds (compare-and-swap); keep a key's rows only from its first."""
    token = uuid.uuid4().hex
    claimable = Q(state=DeliveryState.PENDING) | Q(state=DeliveryState.DELIVERING, claimed_until__lte=now)
    WebhookDelivery.objects.filter(claimable, pk__in=ids).update(
        state=DeliveryState.DELIVERING, claim=token, claimed_until=now + CLAIM_LEASE
    )
    batch = list(
        WebhookDelivery.objects.filter(claim=token)
        .select_related("event")
        .defer("event__source")
        .order_by("id")
    )
    taken = {delivery.pk for delivery in batch}
    if len(taken) == len(ids):
        return token, batch
    # Another drain took some rows between our walk and our claim: a key whose first walked row is
    # theirs must not have its later rows sent by us meanwhile.
    first_of_key: dict[str, int] = {}
    for pk, key, replay in sorted(
        WebhookDelivery.objects.filter(pk__in=ids).values_list("id", "ordering_key", "replay")
    ):
        if not replay:
            first_of_key.setdefault(key, pk)
    lost = {key for key, pk in first_of_key.items() if pk not in taken}
    release = [d.pk for d in batch if not d.replay and d.ordering_key in lost]
    _release(token=token, ids=release)
    return token, [d for d in batch if d.pk not in release]


def _release(*, token: str, ids: list[int]) -> None:
    if ids:
        WebhookDelivery.objects.filter(pk__in=ids, claim=token).update(
            state=DeliveryState.PENDING, claim="", claimed_until=None
        )


# --- the drain -------------------------------------------------------------------------------------


def endpoint_drain(
    *,
    endpoint_id: int,
    budget_seconds: float = DRAIN_BUDGET_SECONDS,
    client: httpx.HTTPTransport | None = None,
) -> dt.datetime | None:
    """Deliver what may go now to one endpoint; return when the next drain should run (None: no need)."""
    own_client = client is None
    http = client or http_client()
    deadline = time.monotonic() + budget_seconds
    share = priority.Share()
    try:
        while True:
            share.step_aside()
            _events_build(deadline=deadline)
            endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
            if endpoint is None or not endpoint.enabled:
                return None
            now = clock.now()
            if endpoint.paused_until and endpoint.paused_until > now:
                return endpoint.paused_until
            walk = _walk(endpoint_id=endpoint_id, now=now, limit=BATCH)
            if not walk.eligible:
                return walk.next_at
            if time.monotonic() > deadline:
                return now
            share.step_aside()
            token, batch = _claim(ids=walk.eligible, now=now)
            if batch:
                unbuilt = _drain_batch(
                    endpoint=endpoint, token=token, batch=batch, client=http, deadline=deadline, share=share
                )
                if unbuilt:
                    return now + UNBUILT_RETRY
    finally:
        if own_client:
            http.close()


def _events_build(*, deadline: float) -> None:
    """Build the data of every event still without it (any endpoint's: this is what makes the data
    of an event whose endpoints are all paused be built promptly too), within the drain's budget."""
    try:
        while webhook_events_build() == BUILD_BATCH and time.monotonic() < deadline:
            pass
    except Exception:
        # Its deliveries are held back (their data is NULL) and built by the next drain.
        logger.exception("webhook event data not built")


def _drain_batch(
    *,
    endpoint: WebhookEndpoint,
    token: str,
    batch: list[WebhookDelivery],
    client: httpx.HTTPTransport,
    deadline: float,
    share: priority.Share,
) -> bool:
    """Send a claimed batch and record the outcomes; True when some deliveries were held back because
    their event's data is not built yet."""
    campaign_ids = set(endpoint.campaigns.values_list("pk", flat=True))
    secret = signing.secret_decrypt(endpoint.secret_encrypted)
    cancelled: list[tuple[WebhookDelivery, str]] = []
    sending = _Sending(deadline=deadline)
    try:
        signing.url_check(endpoint.url)
    except signing.UnsafeUrl as exc:
        sending.stop_reason = exc.message
    if secret is None:
        sending.stop_reason = _("The secret cannot be read (was PAGEDESK_TOKEN_KEY changed?): rotate it.")
    unbuilt = False
    to_send: list[WebhookDelivery] = []
    for delivery in batch:
        if sending.stop_reason or (not delivery.replay and delivery.ordering_key in sending.held):
            sending.unsent.append(delivery.pk)
            continue
        if delivery.event.data is None:
            # Never a body without its data; the conversation's later deliveries wait behind it.
            unbuilt = True
            sending.unsent.append(delivery.pk)
            if not delivery.replay:
                sending.held.add(delivery.ordering_key)
            continue
        refusal = _refusal(endpoint=endpoint, delivery=delivery, campaign_ids=campaign_ids)
        if refusal:
            cancelled.append((delivery, refusal))
            continue
        to_send.append(delivery)
    if to_send:
        assert secret is not None
        lanes = _lanes(to_send, count=LANES if _slow(endpoint.pk) else 1)

        def run(lane: list[WebhookDelivery]) -> None:
            sending.lane_run(lane, client=client, url=endpoint.url, secret=secret, share=share.fork())

        if len(lanes) == 1:
            run(lanes[0])
        else:
            # The other lanes on the pool, the first on this thread; all are done before recording.
            futures = [_lane_pool().submit(run, lane) for lane in lanes[1:]]
            run(lanes[0])
            for future in futures:
                future.result()
    share.step_aside()
    # Outcomes in the order they happened: the endpoint's failing/paused state follows the last one.
    outcomes = sorted(sending.outcomes, key=lambda outcome: outcome.started_at)
    _answer_time_note(endpoint.pk, outcomes)
    with transaction.atomic():
        _record(
            endpoint=endpoint,
            token=token,
            outcomes=outcomes,
            cancelled=cancelled,
            blocked=sending.stop_reason,
        )
        _release(token=token, ids=sending.unsent)
    return unbuilt


def _lanes(deliveries: list[WebhookDelivery], *, count: int) -> list[list[WebhookDelivery]]:
    """Up to `count` lists sent side by side: a conversation's deliveries all in one lane, in id
    order (its order is kept); a redelivery, which keeps no order, in any lane."""
    lanes: list[list[WebhookDelivery]] = []
    lane_of: dict[str, int] = {}
    for delivery in deliveries:
        key = f"replay:{delivery.pk}" if delivery.replay else delivery.ordering_key
        index = lane_of.get(key)
        if index is None:
            if len(lanes) < count:
                lanes.append([])
            index = lane_of[key] = len(lane_of) % count
        lanes[index].append(delivery)
    return lanes


# Each endpoint's recent answer time in this process (ms, a moving average). Lanes pay when the
# time goes in waiting for the receiver; for one that answers within a few ms the POSTs are CPU, and
# threads taking turns on the GIL only add switches (measured: 4 lanes to a local receiver were
# slower than 1).
_answer_ms: dict[int, float] = {}
SLOW_ANSWER_MS = 20.0


def _slow(endpoint_id: int) -> bool:
    # Unknown (the first batch since start): lanes, in case it is far away.
    return _answer_ms.get(endpoint_id, SLOW_ANSWER_MS) >= SLOW_ANSWER_MS


def _answer_time_note(endpoint_id: int, outcomes: list[Outcome]) -> None:
    answered = [o.duration_ms for o in outcomes if o.status_code is not None]
    if answered:
        batch = sum(answered) / len(answered)
        before = _answer_ms.get(endpoint_id, batch)
        _answer_ms[endpoint_id] = 0.5 * before + 0.5 * batch


@dataclass
class _Sending:
    """What the lanes of one batch share: the outcomes, the held keys and why sending stopped."""

    deadline: float
    outcomes: list[Outcome] = field(default_factory=list)
    unsent: list[int] = field(default_factory=list)
    held: set[str] = field(default_factory=set)
    stop_reason: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def lane_run(
        self,
        lane: list[WebhookDelivery],
        *,
        client: httpx.HTTPTransport,
        url: str,
        secret: str,
        share: priority.Share,
    ) -> None:
        for delivery in lane:
            with self.lock:
                if (
                    self.stop_reason
                    or time.monotonic() > self.deadline
                    or (not delivery.replay and delivery.ordering_key in self.held)
                ):
                    self.unsent.append(delivery.pk)
                    continue
            share.step_aside()
            outcome = post(client, url=url, delivery=delivery, secret=secret)
            with self.lock:
                self.outcomes.append(outcome)
                if outcome.retry == "endpoint":
                    self.stop_reason = outcome.error
                elif outcome.retry == "row" and not delivery.replay:
                    self.held.add(delivery.ordering_key)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _lane_pool() -> ThreadPoolExecutor:
    """Threads for the lanes beyond the first, shared by the process's drains (HTTP only: no database)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=LANE_THREADS, thread_name_prefix="pagedesk-webhook-lane")
        return _pool


def _refusal(*, endpoint: WebhookEndpoint, delivery: WebhookDelivery, campaign_ids: set[int]) -> str:
    """Why this delivery must not go to this endpoint any more (its registration changed), or ""."""
    event = delivery.event
    if event.type == PING:
        return ""
    if event.type not in endpoint.event_types:
        return _("The endpoint no longer subscribes to %(type)s.") % {"type": event.type}
    if not endpoint.all_campaigns and not any(c in campaign_ids for c in event.campaign_ids):
        return _("The endpoint is no longer registered for this campaign.")
    return ""


def _save_outcomes(*, token: str, deliveries: list[WebhookDelivery]) -> None:
    """One prepared UPDATE per row, only where our claim still holds (a lapsed claim's row may be
    another drain's now: its outcome is that drain's to write). executemany, not bulk_update: the
    latter's CASE expressions cost ~11 ms of Python per row here (profiled, 100-row batches)."""
    if not deliveries:
        return
    meta = WebhookDelivery._meta
    fields: list[Any] = [meta.get_field(name) for name in RECORDED_FIELDS]
    quote = connection.ops.quote_name
    # Only identifiers of our own model go into the text (quoted); every value is a parameter.
    sql = "UPDATE {} SET {} WHERE {} = %s AND {} = %s".format(  # noqa: S608
        quote(meta.db_table),
        ", ".join(f"{quote(field.column)} = %s" for field in fields),
        quote("id"),
        quote("claim"),
    )
    rows = [
        [*(field.get_db_prep_save(getattr(d, field.attname), connection) for field in fields), d.pk, token]
        for d in deliveries
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _record(
    *,
    endpoint: WebhookEndpoint,
    token: str,
    outcomes: list[Outcome],
    cancelled: list[tuple[WebhookDelivery, str]],
    blocked: str,
) -> None:
    now = clock.now()
    attempts: list[list[object]] = []
    failing_since = endpoint.failing_since
    paused_until = endpoint.paused_until
    last_error = endpoint.last_error
    changed: list[WebhookDelivery] = []
    for outcome in outcomes:
        delivery = outcome.delivery
        number = delivery.attempts + 1
        fields: dict[str, object] = {
            "attempts": number,
            "last_status_code": outcome.status_code,
            "last_error": outcome.error[:500],
            "last_duration_ms": round(outcome.duration_ms, 2),
            "last_attempt_at": outcome.started_at,
            "claim": "",
            "claimed_until": None,
        }
        if outcome.status_code is not None and 200 <= outcome.status_code < 300:
            fields.update(state=DeliveryState.DELIVERED, delivered_at=now)
            failing_since = None
            paused_until = None
            last_error = ""
        else:
            failing_since = failing_since or outcome.started_at
            last_error = outcome.error[:500]
            if outcome.retry:
                wait = outcome.retry_after
                if wait is None:
                    wait = signing.backoff_seconds(number)
                retry_at = now + dt.timedelta(seconds=wait)
                if retry_at > delivery.retry_until:
                    fields.update(
                        state=DeliveryState.FAILED,
                        last_error=(_("Gave up: still failing 24 h after the event. ") + outcome.error)[:500],
                    )
                else:
                    fields.update(state=DeliveryState.PENDING, next_attempt_at=retry_at)
                    if outcome.retry == "endpoint":
                        paused_until = max(filter(None, (paused_until, retry_at)))
            else:
                fields.update(state=DeliveryState.FAILED)
        for name, value in fields.items():
            setattr(delivery, name, value)
        changed.append(delivery)
        attempts.append(
            [
                delivery.pk,
                number,
                outcome.started_at,
                round(outcome.duration_ms, 2),
                outcome.status_code,
                outcome.body,
                outcome.error[:500],
                delivery.replay,
            ]
        )
    _save_outcomes(token=token, deliveries=changed)
    for delivery, reason in cancelled:
        WebhookDelivery.objects.filter(pk=delivery.pk, claim=token).update(
            state=DeliveryState.CANCELLED, last_error=reason[:500], claim="", claimed_until=None
        )
    if blocked and not outcomes:
        # Nothing was attempted (the address is refused, or the secret unreadable): the endpoint is
        # failing as surely as if the receiver were down.
        failing_since = failing_since or now
        last_error = blocked[:500]
        paused_until = now + dt.timedelta(seconds=signing.BACKOFF_CAP_SECONDS / 12)
    if attempts:
        rows_insert(WebhookAttempt, fields=ATTEMPT_FIELDS, rows=attempts)
    changes: dict[str, object] = {
        "failing_since": failing_since,
        "paused_until": paused_until,
        "last_error": last_error,
    }
    if failing_since is not None and now - failing_since >= DISABLE_AFTER:
        changes.update(
            enabled=False,
            disabled_at=now,
            disabled_reason=(
                _("Disabled after failing for 24 h (since %(since)s). Last error: %(error)s")
                % {"since": failing_since.isoformat(timespec="minutes"), "error": last_error}
            )[:500],
        )
        config_changed()
        logger.warning("webhook endpoint %s disabled after failing for 24 h", endpoint.pk)
    if any(getattr(endpoint, name) != value for name, value in changes.items()):
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(**changes)
