"""Task leases: a task row whose worker died is reclaimed instead of staying RUNNING for ever.

django-tasks-db marks a row RUNNING when a worker claims it and has no lease: a worker killed mid-task
(kill -9, OOM, a lost machine) left its row RUNNING, and nothing ever ran or failed it. Here every
worker keeps a heartbeat row (WorkerHeartbeat) fresh while it runs, and a self-rescheduling task
(core.tasks.lost_tasks_reclaim_task) looks for RUNNING rows whose worker has not beaten for the lease:
- a task declared safe to run again (`rerun_after_worker_loss`) goes back to READY, and runs again on
  any worker, up to MAX_CLAIMS claims in all (a task that kills its worker every time must stop);
- any other task is marked FAILED with the reason "worker lost".
Which tasks are declared, and why: docs/decisions/task-leases.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from typing import Any, TypeVar

from django.conf import settings
from django.db import connections, router, transaction
from django.utils.module_loading import import_string
from django_tasks.base import Task
from django_tasks_db.models import DBTaskResult

from pagedesk.core.models import WorkerHeartbeat

logger = logging.getLogger(__name__)

# Claims a task may have in all (the first run and the re-runs after its workers were lost).
MAX_CLAIMS = 3
# Heartbeat rows of workers gone longer than this many leases are deleted.
FORGET_AFTER_LEASES = 10

TaskT = TypeVar("TaskT", bound=Task[Any, Any])
_rerun_safe: set[str] = set()


class WorkerLost(Exception):
    """The worker running a task stopped (killed, crashed, lost its machine) before the task finished."""


def rerun_after_worker_loss(task: TaskT) -> TaskT:
    """Declare a task safe to run again from the start when the worker running it is lost.

    Only for tasks whose effects are idempotent or guarded (re-checked under a lock, claimed with a
    compare-and-swap): the lost run may have done any part of its work before it died.
    """
    _rerun_safe.add(task.module_path)
    return task


def lease_seconds() -> float:
    return float(settings.WORKER_LEASE_SECONDS)


def heartbeat_seconds() -> float:
    """Ten beats per lease: a worker is declared lost only after missing all ten."""
    return lease_seconds() / 10


def wall_now() -> dt.datetime:
    # Wall-clock time on purpose: django-tasks-db stamps started_at with it, and a clock frozen by a
    # test or the simulator must not make every worker look lost (or none).
    return dt.datetime.now(dt.UTC)


def _rerun_safe_path(task_path: str) -> bool:
    try:
        import_string(task_path)  # imports the task's module, whose decorators fill _rerun_safe
    except ImportError:
        return False
    return task_path in _rerun_safe


# --- the worker side -----------------------------------------------------------------------------------


def heartbeat_beat(*, worker_id: str, started_at: dt.datetime | None = None) -> None:
    """Record that `worker_id` is alive now (creating its row on the first beat)."""
    now = wall_now()
    updated = WorkerHeartbeat.objects.filter(pk=worker_id).update(seen_at=now)
    if not updated:
        WorkerHeartbeat.objects.update_or_create(
            worker_id=worker_id,
            defaults={
                "hostname": socket.gethostname()[:255],
                "pid": os.getpid(),
                "started_at": started_at or now,
                "seen_at": now,
            },
        )


def heartbeat_end(*, worker_id: str) -> None:
    """A worker that stops cleanly says so; it holds no RUNNING row at that point."""
    WorkerHeartbeat.objects.filter(pk=worker_id).delete()


class Heartbeat(threading.Thread):
    """Beats for one worker every heartbeat_seconds(), also while the worker is busy with a long task.

    The first beat is the caller's (`heartbeat_beat` before the first claim); this thread only keeps
    it fresh. A failed beat (the database away for a moment) is logged and tried again next time.
    """

    def __init__(self, worker_id: str) -> None:
        super().__init__(name=f"pagedesk-heartbeat-{worker_id[:8]}", daemon=True)
        self.worker_id = worker_id
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        while not self._stopped.wait(heartbeat_seconds()):
            try:
                heartbeat_beat(worker_id=self.worker_id)
            except Exception as exc:
                logger.warning("worker %s heartbeat not recorded: %s", self.worker_id, exc)
            finally:
                # One short-lived connection per beat: a pooled PostgreSQL connection goes back to
                # the pool between beats instead of being held by this thread for life.
                connections.close_all()


# --- the reclaiming side -------------------------------------------------------------------------------


def lost_tasks_reclaim(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Re-run or fail every RUNNING task whose worker has not beaten for the lease; returns counts."""
    now = now or wall_now()
    cutoff = now - dt.timedelta(seconds=lease_seconds())
    counts = {"rerun": 0, "failed": 0}
    # A claim younger than the lease cannot belong to a worker lost for the whole lease.
    candidates = list(
        DBTaskResult.objects.filter(status="RUNNING", started_at__lt=cutoff).values_list("pk", "worker_ids")
    )
    if not candidates:
        _heartbeats_forget(now=now)
        return counts
    owners = {ids[-1] for _pk, ids in candidates if ids}
    last_seen = dict(WorkerHeartbeat.objects.filter(worker_id__in=owners).values_list("worker_id", "seen_at"))
    for pk, worker_ids in candidates:
        owner = worker_ids[-1] if worker_ids else ""
        seen = last_seen.get(owner)
        if seen is not None and seen >= cutoff:
            continue  # alive: a long task, not a lost one
        seen_text = seen.isoformat(timespec="seconds") if seen else "never"
        why = (
            f"worker lost: worker {owner or '?'} stopped (last heartbeat: {seen_text}) while running this "
            f"task; lease {lease_seconds():g} s"
        )
        outcome = _reclaim_one(pk=pk, worker_ids=worker_ids, now=now, why=why)
        if outcome:
            counts[outcome] += 1
    _heartbeats_forget(now=now)
    if any(counts.values()):
        logger.warning("reclaimed tasks of lost workers: %s", counts)
    return counts


def worker_task_release(*, task_id: Any, worker_ids: list[str], grace: float) -> str | None:
    """Put back the task a stopping worker could not finish within its grace (graceful stop): READY
    again when declared safe to re-run, else FAILED, as for a lost worker. Returns "rerun", "failed",
    or None when the task finished (or was moved on) meanwhile."""
    why = (
        f"worker stopped: worker {worker_ids[-1] if worker_ids else '?'} was asked to stop and this "
        f"task did not finish within the {grace:g} s grace"
    )
    return _reclaim_one(pk=task_id, worker_ids=worker_ids, now=wall_now(), why=why)


def worker_task_orphan_release(*, task_id: Any, worker_ids: list[str]) -> str | None:
    """Put back the task whose outcome a worker could not record because its database connection was
    lost mid-task (the worker lives on and beats, so no lease sweep would ever reclaim the row)."""
    why = (
        f"database connection lost: worker {worker_ids[-1] if worker_ids else '?'} could not record "
        "this task's outcome"
    )
    return _reclaim_one(pk=task_id, worker_ids=worker_ids, now=wall_now(), why=why)


def _reclaim_one(*, pk: Any, worker_ids: list[str], now: dt.datetime, why: str) -> str | None:
    """Re-run or fail one task row, if it is still RUNNING under the same claim; one short transaction.

    `why` says what happened to its worker (the start of the FAILED row's reason).
    """
    using = router.db_for_write(DBTaskResult)
    with transaction.atomic(using=using):
        # The row is re-read under a lock (PostgreSQL; SQLite's IMMEDIATE transaction already holds the
        # write lock): a second reclaimer, or the worker itself finishing late, may have moved it.
        row = DBTaskResult.objects.select_for_update().filter(pk=pk, status="RUNNING").first()
        if row is None or list(row.worker_ids) != list(worker_ids):
            return None
        rerun_safe = _rerun_safe_path(row.task_path)
        if rerun_safe and len(worker_ids) < MAX_CLAIMS:
            row.status = "READY"
            row.save(update_fields=["status"])
            logger.warning("task %s (%s): %s; running it again", pk, row.task_path, why)
            # lazy (task): the task worker (core.worker) imports this module.
            from pagedesk.core.worker import wake_after_commit

            wake_after_commit(using=using)
            return "rerun"
        reason = f"{why}, {len(worker_ids)} claim(s)"
        if not rerun_safe:
            reason += "; not re-run, as this task is not declared safe to run twice"
        row.status = "FAILED"
        row.finished_at = now
        row.return_value = None
        row.exception_class_path = f"{WorkerLost.__module__}.{WorkerLost.__qualname__}"
        row.traceback = f"{WorkerLost.__qualname__}: {reason}\n"
        row.save(update_fields=["status", "finished_at", "return_value", "exception_class_path", "traceback"])
        logger.warning("task %s (%s): %s", pk, row.task_path, reason)
        return "failed"


def _heartbeats_forget(*, now: dt.datetime) -> None:
    """Drop the rows of workers gone for many leases (each stopped worker id is never seen again)."""
    gone = now - dt.timedelta(seconds=lease_seconds() * FORGET_AFTER_LEASES)
    WorkerHeartbeat.objects.filter(seen_at__lt=gone).delete()
