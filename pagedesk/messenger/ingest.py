"""Inbound webhook events: store them raw (in the request), then process them per customer (in tasks).

Storing is one transaction: a bulk INSERT that skips (page_id, dedup_key) conflicts, so a redelivered
event is stored once, plus one task row that commits with it. Processing takes one (page, PSID) stream
at a time under the Contact row lock, in Facebook's event order, one short transaction per event.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.db import DataError, IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from pagedesk.conversations.services import contact_lock
from pagedesk.core import clock, metrics, startup
from pagedesk.core.errors import ApplicationError
from pagedesk.core.leases import wall_now
from pagedesk.core.periodic import periodic_ensure
from pagedesk.core.text import clean_text
from pagedesk.messenger.handlers import event_handle
from pagedesk.messenger.models import InboundEvent, InboundEventStatus, PageConnection
from pagedesk.messenger.payloads import (
    MAX_ID_LENGTH,
    PROCESSED_KINDS,
    Kind,
    RawEvent,
    parked_body,
    webhook_body_parse,
)

logger = logging.getLogger(__name__)

# A task handles this many (page, PSID) streams; a big batch fans out so several workers share it.
STREAMS_PER_TASK = 25
# The periodic sweep's period, and the age from which a pending event counts as left behind: its
# task failed (the database went away mid-task) or was given up. A younger one is most likely still
# waiting for its task, and sweeping it would only enqueue a duplicate that finds nothing to do.
SWEEP_EVERY = dt.timedelta(minutes=5)

Stream = tuple[str, str]
_COLUMNS = (
    "page_id",
    "psid",
    "kind",
    "dedup_key",
    "payload",
    "event_time",
    "received_at",
    "status",
    "error",
    "processed_at",
    "known_page",
)


# Rows per INSERT statement: 11 parameters each, far under SQLite's 32,766.
ROWS_PER_STATEMENT = 500

# PostgreSQL receives each column as one binary array (see _insert_sql_postgresql); the element type of
# each, in _COLUMNS order.
_PG_ARRAY_TYPES = (
    "text",
    "text",
    "text",
    "text",
    "jsonb",
    "int8",
    "timestamptz",
    "text",
    "text",
    "timestamptz",
    "bool",
)


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)


def _conflict_clause() -> str:
    return f"ON CONFLICT ({_quoted('page_id')}, {_quoted('dedup_key')}) DO NOTHING"


@functools.cache
def _insert_sql_sqlite(rows: int) -> str:
    columns = ", ".join(_quoted(column) for column in _COLUMNS)
    values = ", ".join(["(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"] * rows)
    # Identifiers come from the model and are quoted; every value is a query parameter.
    table = _quoted(InboundEvent._meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES {values} {_conflict_clause()}"  # noqa: S608


@functools.cache
def _insert_sql_postgresql() -> str:
    # One statement whatever the batch size: each column travels as one binary array (%b) and unnest()
    # turns them back into rows. Measured on a 100-event batch against a 1,100-parameter VALUES list:
    # 0.5–0.7 ms of client CPU instead of 2.0 (no per-value SQL quoting), a constant query text that
    # psycopg prepares once per connection, and less parsing for the server.
    columns = ", ".join(_quoted(column) for column in _COLUMNS)
    arrays = ", ".join(f"%b::{kind}[]" for kind in _PG_ARRAY_TYPES)
    table = _quoted(InboundEvent._meta.db_table)
    return f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays}) {_conflict_clause()}"  # noqa: S608


@functools.cache
def _known_pages_sql(pages: int) -> str:
    table = _quoted(PageConnection._meta.db_table)
    column = _quoted("page_id")
    placeholders = ", ".join(["%s"] * pages)
    return f"SELECT {column} FROM {table} WHERE {column} IN ({placeholders})"  # noqa: S608


def _known_pages(page_ids: set[str]) -> set[str]:
    """The page ids that have a campaign. Plain SQL: the ORM spent ≈0.5 ms compiling this per request."""
    wanted = sorted(page_id for page_id in page_ids if page_id)
    if not wanted:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(_known_pages_sql(len(wanted)), wanted)
        return {row[0] for row in cursor.fetchall()}


@dataclass(frozen=True)
class StoreResult:
    received: int
    unknown_page: int
    streams: int


def inbound_events_store(*, events: Sequence[RawEvent]) -> StoreResult:
    """Persist every event (duplicates skipped) and enqueue processing, all in one transaction."""
    if not events:
        return StoreResult(0, 0, 0)
    page_ids = {event.page_id for event in events}
    known = _known_pages(page_ids)
    now = clock.now()
    rows: list[tuple[Any, ...]] = []
    streams: set[Stream] = set()
    unknown_page = 0
    db_now = connection.ops.adapt_datetimefield_value(now)
    for event in events:
        known_page = event.page_id in known
        unknown_page += not known_page
        status, error = InboundEventStatus.PENDING, ""
        if event.parked:
            status, error = InboundEventStatus.PARKED, event.reason
            logger.warning("webhook event parked (page %r): %s", event.page_id, event.reason)
            metrics.unknown_events.labels(reason="parked").inc()
        elif event.kind not in PROCESSED_KINDS:
            status, error = InboundEventStatus.IGNORED, event.reason or "unknown event"
            logger.info("unknown webhook event for page %s: %s", event.page_id, error)
            metrics.unknown_events.labels(reason="unsupported_event").inc()
        elif known_page:
            streams.add((event.page_id, event.psid))
        rows.append(
            (
                event.page_id,
                event.psid,
                event.kind,
                event.dedup_key,
                json.dumps(event.payload),
                event.event_time,
                db_now,
                str(status),
                error,
                db_now if status != InboundEventStatus.PENDING else None,
                known_page,
            )
        )
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        _sqlite_group_commit.write(rows=rows, streams=streams)
    else:
        _write_or_park(rows=rows, streams=streams)
    for kind, count in Counter(event.kind for event in events).items():
        metrics.webhook_events.labels(kind=kind).inc(count)
    if unknown_page:
        # Kept with known_page=False; `inbound_events_reprocess_for_page` picks them up on activation.
        metrics.unknown_events.labels(reason="unknown_page").inc(unknown_page)
        logger.warning(
            "%d webhook event(s) for pages with no campaign: %s", unknown_page, sorted(page_ids - known)
        )
    return StoreResult(received=len(events), unknown_page=unknown_page, streams=len(streams))


def _write(*, rows: list[tuple[Any, ...]], streams: set[Stream]) -> None:
    with transaction.atomic():
        # A plain INSERT instead of bulk_create: building 100 model instances and preparing their fields
        # cost two thirds of a 100-event POST (profiled), and one statement is one round trip
        # (executemany sends one per row). ON CONFLICT DO NOTHING on the unique (page_id, dedup_key)
        # skips redeliveries, including a repeat inside the same body; SQLite ≥ 3.24 and PostgreSQL
        # both accept it.
        if connection.vendor == "postgresql":
            # Django's cursors bind parameters client-side; this one binds them on the server. Same
            # connection, same transaction (the atomic block above).
            with psycopg.Cursor(connection.connection) as cursor:
                cursor.execute(_insert_sql_postgresql(), [list(column) for column in zip(*rows, strict=True)])
        else:
            with connection.cursor() as cursor:
                for start in range(0, len(rows), ROWS_PER_STATEMENT):
                    chunk = rows[start : start + ROWS_PER_STATEMENT]
                    cursor.execute(_insert_sql_sqlite(len(chunk)), [value for row in chunk for value in row])
        # Enqueued inside the transaction: the task row commits (or rolls back) with the events.
        inbound_streams_enqueue(streams=streams, per_task=None)


# What a database answers about a row it cannot take (PostgreSQL: NUL in text, a value too long or out
# of range; SQLite and psycopg: text no encoding can write, an integer beyond 64 bits), as opposed to
# the database being unreachable, which must fail the request so that Facebook redelivers.
ROW_ERRORS = (DataError, IntegrityError, ValueError, OverflowError)


def _write_or_park(*, rows: list[tuple[Any, ...]], streams: set[Stream]) -> None:
    """`_write`, and when the database refuses a row of the batch, each row alone: a row it refuses is
    stored parked with the database's reason instead, so one event nobody foresaw fails no other."""
    try:
        _write(rows=rows, streams=streams)
        return
    except ROW_ERRORS as exc:
        logger.warning("a webhook batch was refused (%s); storing its events one by one", exc)
    for row in rows:
        try:
            _write(rows=[row], streams={(row[0], row[1])} & streams)
        except ROW_ERRORS as exc:
            parked = _parked_row(row, exc)
            if parked is row:
                raise
            _write(rows=[parked], streams=set())


def _parked_row(row: tuple[Any, ...], exc: BaseException) -> tuple[Any, ...]:
    """The row as a parked event: its payload kept as text, its keys made storable."""
    page_id, _psid, _kind, dedup, payload, _time, received_at, status, _error, _done, known = row
    if status == InboundEventStatus.PARKED:
        return row
    text = payload if isinstance(payload, str) else json.dumps(payload)
    reason = f"could not be stored: {type(exc).__name__}: {exc}"[:300]
    digest = hashlib.sha256(f"{page_id}:{dedup}".encode("utf-8", "replace")).hexdigest()
    return (
        clean_text(str(page_id))[:MAX_ID_LENGTH],
        "",
        Kind.UNKNOWN,
        f"parked:sha256:{digest}",
        json.dumps({"raw": json.dumps(clean_text(text)), "page_id": clean_text(str(page_id))[:200]}),
        0,
        received_at,
        str(InboundEventStatus.PARKED),
        reason,
        received_at,
        known,
    )


@dataclass
class _Job:
    rows: list[tuple[Any, ...]]
    streams: set[Stream]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class _GroupCommit:
    """Group commit for SQLite, which has one writer at a time.

    Left alone, concurrent request threads each wait for the write lock in SQLite's busy handler, which
    sleeps in growing steps (p99 of 0.5–1.8 s at 16–64 writers, ../shared/TESTING.md). Here they queue
    on a Python lock instead, and whichever thread holds it writes every queued request in one
    transaction: one fsync acknowledges them all. A thread whose rows a previous holder already wrote
    just returns. When the database refuses the group, each request is written again on its own
    (`_write_or_park`), so a request with an event it cannot store fails neither its neighbours nor
    itself; an error that is not the database's (or the database being down) fails the group, and
    Facebook redelivers.
    """

    def __init__(self) -> None:
        self._leader = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Job] = []

    def write(self, *, rows: list[tuple[Any, ...]], streams: set[Stream]) -> None:
        job = _Job(rows=rows, streams=streams)
        with self._queue_lock:
            self._queue.append(job)
        with self._leader:
            if not job.done.is_set():
                with self._queue_lock:
                    group, self._queue = self._queue, []
                try:
                    _write(
                        rows=[row for queued in group for row in queued.rows],
                        streams=set().union(*(queued.streams for queued in group)),
                    )
                except ROW_ERRORS:
                    # Each request again on its own, so one poisoned request fails nobody else.
                    for queued in group:
                        try:
                            _write_or_park(rows=queued.rows, streams=queued.streams)
                        except BaseException as exc:
                            queued.error = exc
                except BaseException as exc:
                    for queued in group:
                        queued.error = exc
                finally:
                    for queued in group:
                        queued.done.set()
        if job.error is not None:
            raise job.error


_sqlite_group_commit = _GroupCommit()


def inbound_streams_enqueue(*, streams: Iterable[Stream], per_task: int | None = STREAMS_PER_TASK) -> int:
    """Enqueue processing for the given (page, PSID) streams; returns the number of tasks. Idempotent.

    The webhook passes per_task=None: one task row per POST keeps the ack cheap, and the task fans a
    big batch out to other workers itself (`inbound_events_process`).
    """
    # lazy (task): messenger.tasks imports this module
    from pagedesk.messenger.tasks import inbound_events_process

    ordered = sorted(set(streams))
    size = per_task or max(1, len(ordered))
    tasks = 0
    for start in range(0, len(ordered), size):
        chunk = ordered[start : start + size]
        inbound_events_process.enqueue(streams=[[page_id, psid] for page_id, psid in chunk])
        tasks += 1
    return tasks


def inbound_stream_process(*, page_id: str, psid: str, max_events: int = 10_000) -> int:
    """Process the pending events of one customer of one page, oldest first; returns how many.

    Two workers may be handed the same stream (a redelivery, a sweep): each event is taken under the
    Contact row lock (PostgreSQL FOR UPDATE; SQLite's IMMEDIATE transaction serialises writers), and
    only the oldest still-pending event is ever taken, so the stream is applied once and in order.
    """
    done = 0
    while done < max_events:
        # Looked for before taking the write lock, except for the first event: the task was enqueued
        # because one was stored, and the query cost that message ≈0.2 ms on its way to the agents.
        if (
            done
            and not InboundEvent.objects.filter(
                page_id=page_id, psid=psid, status=InboundEventStatus.PENDING, known_page=True
            ).exists()
        ):
            return done
        with transaction.atomic():
            page_connection = (
                PageConnection.objects.select_related("campaign").filter(page_id=page_id).first()
            )
            if page_connection is None:
                # Disconnected since ingest: park the events until the page is activated again.
                InboundEvent.objects.filter(page_id=page_id, status=InboundEventStatus.PENDING).update(
                    known_page=False
                )
                return done
            contact = contact_lock(page_id=page_id, psid=psid)
            event = (
                InboundEvent.objects.filter(
                    page_id=page_id, psid=psid, status=InboundEventStatus.PENDING, known_page=True
                )
                .order_by("event_time", "id")
                .first()
            )
            if event is None:
                return done
            try:
                # A savepoint: a failing event rolls back alone and is marked failed, the stream goes on.
                with transaction.atomic():
                    status, reason = event_handle(
                        event=event, contact=contact, page_connection=page_connection
                    )
            except Exception as exc:
                logger.exception("inbound event %s (%s) failed", event.pk, event.kind)
                status, reason = InboundEventStatus.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
            InboundEvent.objects.filter(pk=event.pk).update(
                status=status, error=reason, processed_at=clock.now()
            )
        done += 1
    # Still more: continue in a fresh task rather than hold one worker indefinitely.
    inbound_streams_enqueue(streams=[(page_id, psid)])
    return done


def inbound_events_reprocess_for_page(*, page_id: str) -> int:
    """Process the events kept for a page that had no campaign when they arrived; call on activation.

    Returns the number of events that were waiting. Safe to call repeatedly.
    """
    with transaction.atomic():
        waiting = InboundEvent.objects.filter(page_id=page_id, known_page=False).update(known_page=True)
        streams = set(
            InboundEvent.objects.filter(page_id=page_id, status=InboundEventStatus.PENDING)
            .values_list("page_id", "psid")
            .distinct()
        )
        inbound_streams_enqueue(streams=streams)
    return waiting


def inbound_events_sweep(*, received_before: dt.datetime | None = None) -> int:
    """Re-enqueue the streams of events still pending (received before `received_before`, if given);
    returns how many streams. Idempotent: a stream is processed under its Contact lock, once."""
    pending = InboundEvent.objects.filter(status=InboundEventStatus.PENDING, known_page=True)
    if received_before is not None:
        pending = pending.filter(received_at__lt=received_before)
    with transaction.atomic():
        streams = set(pending.values_list("page_id", "psid").distinct())
        inbound_streams_enqueue(streams=streams)
    return len(streams)


@startup.register
def inbound_events_sweep_schedule() -> None:
    """Start-up hook: sweep every pending event now (a previous run may have died mid-task) and keep
    the periodic sweep armed, one chain per deployment (`inbound_events_sweep_task`)."""
    # lazy (task): the tasks module imports this one.
    from pagedesk.messenger.tasks import inbound_events_sweep_task

    inbound_events_sweep()
    periodic_ensure(inbound_events_sweep_task, run_after=wall_now() + SWEEP_EVERY)


def inbound_event_replay(*, event: InboundEvent) -> int:
    """Parse a parked event again (after a fix) and store what it holds; returns how many events were
    stored for processing. A parked event that still cannot be read stays parked with the new reason."""
    if event.status != InboundEventStatus.PARKED:
        raise ApplicationError("not_parked", _("Only parked events can be replayed."), status=409)
    try:
        events = webhook_body_parse(parked_body(event.payload))
    except (ValueError, KeyError, TypeError) as exc:
        events, reason = [], f"still unreadable: {exc}"
    else:
        reason = "; ".join(sorted({e.reason for e in events if e.parked}))
    usable = [e for e in events if not e.parked]
    if not usable:
        InboundEvent.objects.filter(pk=event.pk).update(error=(reason or event.error)[:2000])
        raise ApplicationError(
            "still_parked",
            _("pagedesk still cannot read this event: %(reason)s") % {"reason": reason or event.error},
            status=409,
        )
    with transaction.atomic():
        inbound_events_store(events=usable)
        InboundEvent.objects.filter(pk=event.pk).update(
            status=InboundEventStatus.IGNORED,
            error=f"replayed on {clock.now():%Y-%m-%d %H:%M} UTC as {len(usable)} event(s)",
            processed_at=clock.now(),
        )
    return len(usable)
