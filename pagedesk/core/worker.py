"""The background worker: django-tasks-db's Worker, run as a process or as threads inside `serve`.

Wake-up on enqueue (docs/decisions/worker-wake-up.md). django-tasks-db's worker sleeps `interval`
seconds whenever it finds no task, so a task enqueued just after a poll waits up to a whole interval
(0.5 s by default: most of a customer message's way to the agent's screen). Here the idle sleep is an
interruptible wait, and every committed enqueue wakes the waiting workers at once:
- in-process (the worker threads of `pagedesk serve`): a condition variable, notified on commit;
- across processes (`pagedesk worker`): Redis pub/sub when REDIS_URL is set, else PostgreSQL
  LISTEN/NOTIFY on PostgreSQL; on SQLite a separate worker process only has the poll. The cross-process
  message is sent by one notifier thread per process, after commit, so the request that enqueued (a
  webhook ack) waits for no extra round trip; a burst of enqueues becomes one message.
A wake-up is a hint: the task row is the truth. A worker that misses one (a listener reconnecting, a
notification lost) still finds the row on its next poll, so the poll stays as the fallback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.db.utils import DatabaseError, OperationalError
from django.dispatch import receiver
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks.signals import task_enqueued
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.management.commands.db_worker import Worker as DBWorker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from pagedesk.core.db import sqlite_connections_keep
from pagedesk.core.leases import (
    Heartbeat,
    heartbeat_beat,
    heartbeat_end,
    worker_task_orphan_release,
    worker_task_release,
)

logger = logging.getLogger(__name__)

# PostgreSQL channel names are identifiers; NOTIFY is scoped to the database, so this needs no prefix.
PG_CHANNEL = "pagedesk_tasks"
# DATABASES OPTIONS that Django's PostgreSQL backend consumes itself, rather than libpq.
_DJANGO_ONLY_OPTIONS = {
    "pool",
    "server_side_binding",
    "assume_role",
    "isolation_level",
    "cursor_factory",
    "context",
}
# A listener that lost its connection retries after this long (the poll covers the gap meanwhile).
RECONNECT_SECONDS = 2.0


class Wakeup:
    """Idle workers wait here until a task is enqueued (or their poll interval passes).

    A generation counter, not a flag: a worker reads `generation` *before* it looks for a task, and
    `wait(seen=...)` returns at once if an enqueue committed in between, so a wake-up that lands while
    the worker is still querying is never lost.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._generation = 0

    @property
    def generation(self) -> int:
        with self._condition:
            return self._generation

    def notify(self) -> None:
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def wait(self, *, seen: int, timeout: float) -> bool:
        """Wait until the generation moves past `seen` or `timeout` passes; True when woken."""
        with self._condition:
            return self._condition.wait_for(lambda: self._generation != seen, timeout=timeout)


# One per process: every worker thread of the process waits on it, every enqueue notifies it.
wakeup = Wakeup()


# --- the sending side: every process that enqueues --------------------------------------------------


def transport(using: str | None = None) -> str:
    """How an enqueue reaches workers in other processes: "redis", "postgres" or "" (poll only)."""
    if getattr(settings, "REDIS_URL", None):
        return "redis"
    if connections[using or router.db_for_write(DBTaskResult)].vendor == "postgresql":
        return "postgres"
    return ""


def redis_channel() -> str:
    # The deployment's Redis prefix (PAGEDESK_REDIS_PREFIX), so two deployments on one Redis stay apart.
    layers: dict[str, Any] = settings.CHANNEL_LAYERS
    config = layers.get("default", {}).get("CONFIG", {})
    return f"{config.get('prefix', 'pagedesk')}:tasks:wakeup"


_redis_clients: dict[str, Any] = {}
_redis_lock = threading.Lock()


def _redis_client(url: str) -> Any:
    import redis

    with _redis_lock:
        client = _redis_clients.get(url)
        if client is None:
            # Short timeouts: a wake-up is a hint and must never hold up the request that enqueued.
            client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
            _redis_clients[url] = client
        return client


def _pg_params(using: str) -> dict[str, Any]:
    """libpq connection parameters for a connection of our own, outside Django's pool."""
    db = connections[using].settings_dict
    # libpq options from DATABASE_URL (sslmode, …) carry over; Django's own keys do not.
    params = {k: v for k, v in db.get("OPTIONS", {}).items() if k not in _DJANGO_ONLY_OPTIONS}
    params.update(
        dbname=db["NAME"],
        user=db.get("USER"),
        password=db.get("PASSWORD"),
        host=db.get("HOST"),
        port=db.get("PORT"),
    )
    return {k: v for k, v in params.items() if v}


class Notifier(threading.Thread):
    """Sends the cross-process wake-up for committed enqueues, off the committing thread.

    `request()` only sets a flag; this thread sends one message per wake of its own, so every enqueue
    committed before a send is covered by it and a burst of enqueues costs one message. The flag is
    cleared *before* sending: an enqueue that commits during a send sets it again and gets its own.
    On PostgreSQL it owns a connection (`SELECT pg_notify(...)`), closed after IDLE_CLOSE_SECONDS
    without wake-ups so an idle process holds no backend (and a test database can be dropped).
    """

    IDLE_CLOSE_SECONDS = 1.0

    def __init__(self, kind: str, using: str) -> None:
        super().__init__(name=f"pagedesk-wakeup-notify-{kind}", daemon=True)
        self.kind = kind
        self.using = using
        self._wanted = threading.Event()
        self.connection: Any = None
        # Counts messages sent; tests use it to see bursts coalesce.
        self.sent = 0

    def request(self) -> None:
        self._wanted.set()

    def run(self) -> None:
        while True:
            if not self._wanted.wait(self.IDLE_CLOSE_SECONDS if self.connection is not None else None):
                self._close()
                continue
            self._wanted.clear()
            # One retry on a fresh connection: a kept connection may have died while idle.
            for attempt in (1, 2):
                try:
                    self._send()
                    self.sent += 1
                    break
                except Exception as exc:
                    self._close()
                    if attempt == 2:
                        # The task row is committed; a worker elsewhere finds it on its next poll.
                        logger.warning("task wake-up not sent (%s): %s", self.kind, exc)

    def _send(self) -> None:
        if self.kind == "redis":
            _redis_client(settings.REDIS_URL).publish(redis_channel(), b"1")
            return
        if self.connection is None:
            import psycopg

            self.connection = psycopg.connect(**_pg_params(self.using), autocommit=True, connect_timeout=2)
        self.connection.execute("SELECT pg_notify(%s, '')", [PG_CHANNEL])

    def _close(self) -> None:
        if self.connection is not None:
            connection, self.connection = self.connection, None
            # A connection that died while idle may fail to close; it is dropped either way.
            with contextlib.suppress(Exception):
                connection.close()


_notifiers: dict[tuple[str, str], Notifier] = {}
_notifiers_lock = threading.Lock()


def notifier_for(kind: str, using: str) -> Notifier:
    """This process's notifier for a transport (started on first use, and again after a fork)."""
    with _notifiers_lock:
        notifier = _notifiers.get((kind, using))
        if notifier is None or not notifier.is_alive():
            notifier = Notifier(kind, using)
            notifier.start()
            _notifiers[(kind, using)] = notifier
        return notifier


def _after_commit(kind: str, using: str) -> None:
    wakeup.notify()
    if kind:
        notifier_for(kind, using).request()


def wake_after_commit(*, using: str) -> None:
    """Wake idle workers, here and elsewhere, once the current transaction commits (a task made READY
    without an enqueue, e.g. reclaimed from a lost worker)."""
    kind = transport(using)
    transaction.on_commit(lambda: _after_commit(kind, using), using=using)


@receiver(task_enqueued, dispatch_uid="pagedesk.core.worker.wake_on_enqueue")
def wake_on_enqueue(sender: type, task_result: Any, **kwargs: object) -> None:
    """Wake idle workers once the transaction that enqueued the task commits (never on rollback).

    Nothing is sent inside the enqueueing transaction: a NOTIFY there cost the request a round trip
    and serialised its commit with every other notifying commit (docs/decisions/worker-wake-up.md).
    """
    if not (isinstance(sender, type) and issubclass(sender, DatabaseBackend)):
        return
    run_after: dt.datetime | None = task_result.task.run_after
    if run_after is not None and run_after > timezone.now():
        return  # deferred: nobody can run it yet, and the poll notices it once it is due
    using = router.db_for_write(DBTaskResult)
    kind = transport(using)
    transaction.on_commit(lambda: _after_commit(kind, using), using=using)


# --- the receiving side: a listener thread per worker process ----------------------------------------


class Listener(threading.Thread):
    """Turns cross-process wake-ups (Redis pub/sub or PostgreSQL NOTIFY) into `wakeup.notify()`.

    Reconnects on failure; after every (re)connect it wakes the workers once, since a wake-up may
    have been sent while nobody listened.
    """

    def __init__(self, kind: str, *, target: Wakeup = wakeup) -> None:
        super().__init__(name=f"pagedesk-wakeup-{kind}", daemon=True)
        self.kind = kind
        self.target = target
        self.ready = threading.Event()
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        while not self._stopped.is_set():
            try:
                if self.kind == "redis":
                    self._listen_redis()
                else:
                    self._listen_postgres()
            except Exception as exc:
                logger.warning("task wake-up listener (%s) lost its connection: %s", self.kind, exc)
                self._stopped.wait(RECONNECT_SECONDS)

    def _listening(self) -> None:
        self.ready.set()
        self.target.notify()

    def _listen_redis(self) -> None:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, health_check_interval=30)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(redis_channel())
            pubsub.get_message(timeout=1)  # the subscribe confirmation: from here on nothing is missed
            self._listening()
            while not self._stopped.is_set():
                if pubsub.get_message(timeout=1.0) is not None:
                    self.target.notify()
        finally:
            pubsub.close()
            client.close()

    def _listen_postgres(self) -> None:
        import psycopg

        # Its own connection, outside Django's pool: it sits in LISTEN for the life of the process.
        params = _pg_params(router.db_for_write(DBTaskResult))
        with psycopg.connect(**params, autocommit=True) as conn:
            conn.execute(f"LISTEN {PG_CHANNEL}")
            self._listening()
            while not self._stopped.is_set():
                for _notify in conn.notifies(timeout=1.0):
                    self.target.notify()


def listener_start(*, ready_timeout: float = 3) -> Listener | None:
    """Start the cross-process listener when the deployment has a transport; None on SQLite alone."""
    kind = transport()
    if not kind:
        return None
    listener = Listener(kind)
    listener.start()
    if not listener.ready.wait(ready_timeout):
        logger.warning("task wake-up listener (%s) not connected yet; polling meanwhile", kind)
    return listener


# --- the worker -------------------------------------------------------------------------------------


# The longest wait between looks at a database that does not answer.
DATABASE_RETRY_MAX_SECONDS = 5.0


class Worker(DBWorker):
    """django-tasks-db's worker whose idle sleep is an interruptible wait on `wakeup`.

    The claim is django-tasks-db's: SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL, an exclusive
    transaction on SQLite (one writer at a time). On SQLite an idle poll first asks, without a
    transaction, whether any task is ready, so idle workers do not take the write lock at every poll.
    """

    def __init__(self, *, wakeup: Wakeup = wakeup, **options: Any) -> None:
        super().__init__(**options)
        self.wakeup = wakeup
        # Set while the worker waits for work; tests and `stop` use it.
        self.idle = threading.Event()
        # The claim of the task running now (row id, worker ids), for a graceful stop to put back.
        self.current: tuple[Any, list[str]] | None = None
        # A task whose outcome could not be recorded (the database went away mid-task): put back
        # once the database answers again.
        self._orphan: tuple[Any, list[str]] | None = None

    def stop(self) -> None:
        """Claim nothing more; the task running now (if any) goes on."""
        self.running = False
        self.wakeup.notify()

    def run_task(self, db_task_result: DBTaskResult) -> None:
        try:
            super().run_task(db_task_result)
        finally:
            self.current = None

    def release(self, *, grace: float) -> str | None:
        """Put back the task still running after a stopping worker's grace (`worker_task_release`);
        its thread may still finish it, in which case the row keeps that outcome."""
        claim = self.current
        if claim is None:
            return None
        task_id, worker_ids = claim
        return worker_task_release(task_id=task_id, worker_ids=worker_ids, grace=grace)

    def _claim(self) -> tuple[DBTaskResult | None, bool]:
        """The next ready task, claimed for this worker; (None, False) when the database was locked."""
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)
        # SQLite only: PostgreSQL's SKIP LOCKED claim is cheap, and the check would cost a round trip.
        if connections[tasks.db].vendor == "sqlite" and not tasks.exists():
            return None, True
        with exclusive_transaction(tasks.db):
            try:
                task_result = tasks.get_locked()
                if task_result is not None:
                    # Claimed inside the same transaction, so no other worker can run it too.
                    task_result.claim(self.worker_id)
                    # Known from the claim on, so a graceful stop can put it back (`release`).
                    self.current = (task_result.pk, list(task_result.worker_ids))
                return task_result, True
            except OperationalError as exc:
                # A locked SQLite database: someone else is writing; look again on the next round.
                if is_locked_database_exception(exc):
                    return None, False
                raise

    def run(self) -> None:
        logger.info("Starting worker worker_id=%s queues=%s", self.worker_id, ",".join(self.queue_names))
        # Alive before the first claim, so a row this worker claims always has a heartbeat to check.
        heartbeat_beat(worker_id=self.worker_id)
        heartbeat = Heartbeat(self.worker_id)
        heartbeat.start()
        try:
            self._loop()
        finally:
            heartbeat.stop()
            # A beat still in flight would re-create the row after heartbeat_end deleted it.
            heartbeat.join(5)
            try:
                heartbeat_end(worker_id=self.worker_id)
            except Exception as exc:
                # Its row ages out instead; this worker holds no RUNNING row now.
                logger.warning("worker %s heartbeat not removed: %s", self.worker_id, exc)
            # The SQLite connection was kept across tasks (sqlite_connections_keep); a test database
            # dropped with it still open would leave its -wal and -shm files behind. A PostgreSQL one
            # was opened after the loop's last close by heartbeat_end, and would hold a session (and
            # keep a test database from being dropped). (Not inside an atomic block: a test that runs
            # the worker in its own thread keeps its transaction.)
            for db in connections.all(initialized_only=True):
                if not db.in_atomic_block:
                    db.close()

    def _loop(self) -> None:
        failures = 0
        while self.running:
            try:
                if self._orphan is not None:
                    worker_task_orphan_release(task_id=self._orphan[0], worker_ids=self._orphan[1])
                    self._orphan = None
                if self._round():
                    return
                failures = 0
            except DatabaseError as exc:
                # The database went away (a restart, a failover, killed sessions): the worker lives on,
                # looks again with backoff, and puts back a task whose outcome it could not record.
                failures += 1
                delay = min(DATABASE_RETRY_MAX_SECONDS, 0.25 * 2 ** min(failures, 6))
                logger.warning(
                    "worker %s: database unavailable (%s); trying again in %.1f s", self.worker_id, exc, delay
                )
                for db in connections.all(initialized_only=True):
                    if not db.in_atomic_block:
                        db.close()
                self.wakeup.wait(seen=self.wakeup.generation, timeout=delay)

    def _round(self) -> bool:
        """Claim and run one task, or wait for one; True when the worker should end (batch, max_tasks)."""
        sqlite_connections_keep()
        # Read before looking: an enqueue that commits while we query moves it, and the wait below
        # then returns at once instead of sleeping past that task.
        seen = self.wakeup.generation
        task_result, retrieved = self._claim()
        if task_result is not None:
            claim = self.current
            try:
                self.run_task(task_result)
            except DatabaseError:
                self._orphan = claim
                raise
        elif self.batch and retrieved:
            logger.info("No more tasks to run for worker_id=%s - exiting gracefully.", self.worker_id)
            return True
        if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
            logger.info("Ran %d tasks on worker_id=%s - exiting.", self._run_tasks, self.worker_id)
            return True
        sqlite_connections_keep()
        if self.running and task_result is None:
            self.idle.set()
            try:
                self.wakeup.wait(seen=seen, timeout=self.interval)
            finally:
                self.idle.clear()
        return False


def make_worker(
    *, interval: float = 0.5, queues: list[str] | None = None, exclude: list[str] | None = None
) -> Worker:
    """A worker for `queues` (default: every queue) but `exclude`. `interval` is the fallback poll:
    enqueues wake it before that."""
    return Worker(
        queue_names=queues or ["*"],
        interval=interval,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=get_random_string(32),
        excluded_queue_names=exclude or [],
    )


def isolated_queues() -> dict[str, int]:
    """Queues served by threads of their own (settings.ISOLATED_QUEUES: name → threads per process),
    so their slow tasks (a webhook receiver taking its 10 s) never hold up the others' tasks."""
    queues: dict[str, int] = getattr(settings, "ISOLATED_QUEUES", {})
    return {name: count for name, count in queues.items() if count > 0}


def isolated_workers(*, interval: float = 0.5) -> list[Worker]:
    return [
        make_worker(interval=interval, queues=[name])
        for name, count in isolated_queues().items()
        for _ in range(count)
    ]


class EmbeddedWorkers:
    """Worker threads inside the web process (embedded mode). Signals stay with uvicorn.

    In-process enqueues wake them through `wakeup`; the listener adds enqueues made by other
    processes (another `serve`, a `pagedesk worker`) when the deployment has Redis or PostgreSQL.
    """

    def __init__(self, count: int, *, interval: float = 0.5, main: bool = True) -> None:
        # The main threads take every queue but the isolated ones, which get their own threads. With
        # main=False only the isolated ones (`pagedesk worker` runs its main worker itself).
        exclude = list(isolated_queues())
        self.workers = [
            *(make_worker(interval=interval, exclude=exclude) for _ in range(max(1, count) if main else 0)),
            *isolated_workers(interval=interval),
        ]
        self.threads: list[threading.Thread] = []
        self.listener: Listener | None = None

    def start(self, *, listen: bool = True) -> None:
        if listen:
            self.listener = listener_start()
        for index, worker in enumerate(self.workers):
            thread = threading.Thread(
                target=self._run, args=(worker,), name=f"pagedesk-worker-{index}", daemon=True
            )
            thread.start()
            self.threads.append(thread)

    @staticmethod
    def _run(worker: Worker) -> None:
        try:
            worker.run()
        except Exception:
            logger.exception("embedded worker stopped")

    def stop_claiming(self) -> None:
        """The first step of a stop: no thread claims another task; running ones go on."""
        for worker in self.workers:
            worker.stop()
        if self.listener is not None:
            self.listener.stop()

    def stop(
        self, timeout: float = 5, *, grace: float | None = None, hurry: threading.Event | None = None
    ) -> dict[str, int]:
        """Stop claiming, give running tasks until `timeout` seconds from now (less once `hurry` is
        set: a second signal) to finish, then put back those still running (docs/decisions/
        graceful-stop.md); `grace` is the whole stop's, for the record. Returns how many tasks were put
        back as "rerun" (READY) and "failed"."""
        self.stop_claiming()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            while thread.is_alive() and time.monotonic() < deadline and not (hurry and hurry.is_set()):
                thread.join(min(0.1, max(0.0, deadline - time.monotonic())))
        counts = {"rerun": 0, "failed": 0}
        for worker, thread in zip(self.workers, self.threads, strict=False):
            if not thread.is_alive():
                continue
            try:
                outcome = worker.release(grace=timeout if grace is None else grace)
            except Exception:
                # Its row stays RUNNING; the lease sweep of another worker reclaims it.
                logger.exception("task of stopping worker %s not put back", worker.worker_id)
                continue
            if outcome:
                counts[outcome] += 1
        if any(counts.values()):
            logger.warning("stopping: tasks still running at the end of the grace put back: %s", counts)
        return counts

    def alive(self) -> bool:
        """Whether every worker thread still runs (a thread ends only on stop or on an error)."""
        return all(thread.is_alive() for thread in self.threads)
