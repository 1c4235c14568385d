"""Workers wake when a task is enqueued, not when their poll interval ends (docs/decisions/worker-wake-up.md).

Every worker here polls every 30 s, so a task that runs within a few seconds proves the wake-up: the
poll alone would leave it waiting for most of the interval. Bounds are generous (the machine is
shared); they separate "woken" from "polled", they do not time anything.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from pagedesk.core import worker as worker_module
from pagedesk.core.worker import Listener, Wakeup, make_worker
from pagedesk.messenger.tasks import inbound_events_process
from tests.processes import pagedesk_env, process_stop
from tests.redis_helpers import REDIS_URL, needs_redis, use_redis_layer

POLL = 30.0  # seconds: longer than any bound below
WOKEN_WITHIN = 15.0
ROOT = Path(__file__).resolve().parents[3]
on_postgres = pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").split(":")[0] not in ("postgres", "postgresql"),
    reason="LISTEN/NOTIFY needs PostgreSQL (DATABASE_URL=postgres://…)",
)


def enqueue_noop() -> str:
    """A real task that does nothing: processing an empty list of Messenger streams."""
    with transaction.atomic():
        return str(inbound_events_process.enqueue(streams=[]).id)


def wait_finished(task_id: str, *, within: float = WOKEN_WITHIN) -> float:
    began = time.monotonic()
    while time.monotonic() - began < within:
        if DBTaskResult.objects.filter(id=task_id).values_list("status", flat=True).first() == "SUCCESSFUL":
            return time.monotonic() - began
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} did not run within {within} s (the worker polls every {POLL} s)")


@pytest.fixture
def embedded_worker(transactional_db) -> Iterator[worker_module.Worker]:
    worker = make_worker(interval=POLL)
    thread = threading.Thread(target=worker.run, name="test-worker", daemon=True)
    thread.start()
    assert worker.idle.wait(10), "the worker never went idle"
    yield worker
    worker.stop()
    thread.join(10)
    assert not thread.is_alive()


def test_an_embedded_worker_runs_a_committed_task_without_waiting_for_its_poll(embedded_worker):
    for _ in range(3):  # not a one-off: the worker goes back to waiting and is woken again
        task_id = enqueue_noop()
        assert wait_finished(task_id) < WOKEN_WITHIN
        assert embedded_worker.idle.wait(10)


def test_a_rolled_back_enqueue_wakes_nobody_and_leaves_no_task(embedded_worker):
    before = worker_module.wakeup.generation
    with pytest.raises(RuntimeError), transaction.atomic():
        inbound_events_process.enqueue(streams=[])
        raise RuntimeError("the request failed after enqueueing")
    assert worker_module.wakeup.generation == before
    assert not DBTaskResult.objects.exists()
    assert embedded_worker.idle.is_set()
    # And the next committed enqueue is still picked up at once.
    assert wait_finished(enqueue_noop()) < WOKEN_WITHIN


def test_a_deferred_task_wakes_nobody(embedded_worker):
    import datetime as dt

    from django.utils import timezone

    before = worker_module.wakeup.generation
    with transaction.atomic():
        inbound_events_process.using(run_after=timezone.now() + dt.timedelta(hours=1)).enqueue(streams=[])
    assert worker_module.wakeup.generation == before


def test_stop_interrupts_an_idle_worker(transactional_db):
    worker = make_worker(interval=POLL)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    assert worker.idle.wait(10)
    worker.stop()
    thread.join(WOKEN_WITHIN)
    assert not thread.is_alive()


# --- across processes ---------------------------------------------------------------------------------


@pytest.fixture
def worker_process(transactional_db, tmp_path):
    """Start `pagedesk worker --interval 30` against this test's database; yields a starter."""
    started: list[subprocess.Popen[str]] = []

    def start(**env: str | None) -> subprocess.Popen[str]:
        environ = pagedesk_env(tmp_path, **env)
        process = subprocess.Popen(
            [sys.executable, "-m", "pagedesk.config.cli", "worker", "--interval", str(POLL)],
            cwd=ROOT,
            env=environ,
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()  # printed once its listener is connected
        assert "pagedesk worker started" in line, line
        return process

    yield start
    for process in started:
        process_stop(process)


def assert_separate_worker_is_woken() -> None:
    # The first task also drains whatever the worker's start-up hooks enqueued; once it has run and a
    # moment has passed, the worker is waiting on its 30 s poll, and only a wake-up gets it moving.
    wait_finished(enqueue_noop())
    for _ in range(2):
        time.sleep(1.0)
        assert wait_finished(enqueue_noop()) < WOKEN_WITHIN


@needs_redis
def test_a_separate_worker_process_is_woken_over_redis(worker_process, settings):
    settings.REDIS_URL = REDIS_URL
    prefix = use_redis_layer(settings, "wakeup")
    process = worker_process(REDIS_URL=REDIS_URL, PAGEDESK_REDIS_PREFIX=prefix)
    assert_separate_worker_is_woken()
    assert process.poll() is None


@on_postgres
def test_a_separate_worker_process_is_woken_over_postgres_notify(worker_process, settings):
    settings.REDIS_URL = None
    process = worker_process(REDIS_URL=None)
    assert_separate_worker_is_woken()
    assert process.poll() is None


@contextmanager
def listen(kind: str) -> Iterator[Wakeup]:
    target = Wakeup()
    listener = Listener(kind, target=target)
    listener.start()
    assert listener.ready.wait(10), f"the {kind} listener did not connect"
    try:
        yield target
    finally:
        listener.stop()
        listener.join(5)


def assert_commit_wakes_and_rollback_does_not(target: Wakeup) -> None:
    before = target.generation
    tasks_before = DBTaskResult.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        inbound_events_process.enqueue(streams=[])
        raise RuntimeError("rolled back")
    assert DBTaskResult.objects.count() == tasks_before, "a rolled-back enqueue left a task"
    assert not target.wait(seen=before, timeout=1.0), "a rolled-back enqueue woke a worker elsewhere"
    enqueue_noop()
    assert target.wait(seen=before, timeout=WOKEN_WITHIN), "a committed enqueue woke nobody elsewhere"


@on_postgres
def test_postgres_wake_up_is_sent_after_commit_only(transactional_db, settings):
    settings.REDIS_URL = None
    with listen("postgres") as target:
        assert_commit_wakes_and_rollback_does_not(target)


@on_postgres
def test_the_enqueueing_transaction_sends_nothing_itself(transactional_db, settings):
    """The webhook ack's transaction carries no NOTIFY: the notifier thread sends it after commit."""
    settings.REDIS_URL = None
    with listen("postgres") as target, CaptureQueriesContext(connection) as queries:
        before = target.generation
        enqueue_noop()
        statements = [query["sql"].upper() for query in queries.captured_queries]
        assert target.wait(seen=before, timeout=WOKEN_WITHIN), "a committed enqueue woke nobody elsewhere"
    assert any("INSERT" in sql for sql in statements)
    assert not any("NOTIFY" in sql for sql in statements), statements


@on_postgres
def test_a_burst_of_enqueues_costs_one_message_and_the_idle_connection_is_closed(transactional_db, settings):
    settings.REDIS_URL = None
    with listen("postgres") as target:
        notifier = worker_module.notifier_for("postgres", "default")
        sent_before = notifier.sent
        before = target.generation
        with transaction.atomic():  # 20 tasks in one commit: 20 on-commit hand-offs back to back
            for _ in range(20):
                inbound_events_process.enqueue(streams=[])
        assert target.wait(seen=before, timeout=WOKEN_WITHIN)
        time.sleep(0.5)
        # One, or two when the thread woke between two hand-offs and cleared the flag in between.
        assert 1 <= notifier.sent - sent_before <= 2
    deadline = time.monotonic() + 10
    while notifier.connection is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert notifier.connection is None, "the notifier kept its connection while idle"


@needs_redis
def test_redis_wake_up_is_published_on_commit_only(transactional_db, settings):
    settings.REDIS_URL = REDIS_URL
    use_redis_layer(settings, "wakeup")
    with listen("redis") as target:
        assert_commit_wakes_and_rollback_does_not(target)


def test_a_worker_keeps_its_sqlite_connection_across_tasks_and_closes_it_when_it_stops(transactional_db):
    from django.db import connection as test_connection
    from django.db.backends.signals import connection_created

    if test_connection.vendor != "sqlite":
        pytest.skip("PostgreSQL connections go back to their pool after each task")
    opened: list[object] = []

    def record(sender: object, connection: object, **kwargs: object) -> None:
        if threading.current_thread().name == "test-worker":
            opened.append(connection)

    connection_created.connect(record)
    try:
        worker = make_worker(interval=POLL)
        thread = threading.Thread(target=worker.run, name="test-worker", daemon=True)
        thread.start()
        assert worker.idle.wait(10)
        for _ in range(3):
            assert wait_finished(enqueue_noop()) < WOKEN_WITHIN
            assert worker.idle.wait(10)
        worker.stop()
        thread.join(10)
    finally:
        connection_created.disconnect(record)
    # Reopening SQLite per task cost 1.5–2 ms on a customer message's way to the agents.
    assert len(opened) == 1
    assert opened[0].connection is None  # type: ignore[attr-defined]
