"""A task row whose worker died is reclaimed, not left RUNNING for ever (issue 13, finding 9).

Workers keep a heartbeat; a RUNNING row whose worker has not beaten for the lease is made READY again
(tasks declared safe to re-run) or FAILED with "worker lost" (docs/decisions/task-leases.md).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from pagedesk.core import leases
from pagedesk.core.models import WorkerHeartbeat
from pagedesk.core.tasks import lost_tasks_reclaim_task
from pagedesk.routing.tasks import dropout_check
from tests.integration.core.lease_tasks import block_on_first_run, not_declared_safe
from tests.processes import database_url, process_stop, wait_for

ROOT = Path(__file__).resolve().parents[3]
LEASE = 60


@pytest.fixture(autouse=True)
def lease(settings):
    settings.WORKER_LEASE_SECONDS = LEASE


def ago(seconds: float) -> dt.datetime:
    return leases.wall_now() - dt.timedelta(seconds=seconds)


def running(task, *, worker_ids: list[str], started: float = 2 * LEASE, **kwargs) -> DBTaskResult:
    """A task row claimed by `worker_ids[-1]` `started` seconds ago."""
    result = task.enqueue(**kwargs)
    DBTaskResult.objects.filter(pk=result.id).update(
        status="RUNNING", worker_ids=worker_ids, started_at=ago(started)
    )
    return DBTaskResult.objects.get(pk=result.id)


def beat(worker_id: str, *, seen: float) -> None:
    WorkerHeartbeat.objects.create(worker_id=worker_id, started_at=ago(seen), seen_at=ago(seen))


@pytest.mark.django_db
def test_a_task_safe_to_repeat_goes_back_to_ready_when_its_worker_stopped_beating():
    beat("dead", seen=LEASE + 5)
    row = running(dropout_check, worker_ids=["dead"], conversation_id=1)
    assert leases.lost_tasks_reclaim() == {"rerun": 1, "failed": 0}
    row.refresh_from_db()
    assert (row.status, row.worker_ids) == ("READY", ["dead"])


@pytest.mark.django_db
def test_any_other_task_is_failed_with_the_reason_worker_lost():
    beat("dead", seen=LEASE + 5)
    row = running(not_declared_safe, worker_ids=["dead"])
    assert leases.lost_tasks_reclaim() == {"rerun": 0, "failed": 1}
    row.refresh_from_db()
    assert row.status == "FAILED"
    assert row.finished_at is not None
    assert row.exception_class_path == "pagedesk.core.leases.WorkerLost"
    assert "worker lost: worker dead stopped" in row.traceback
    assert "not declared safe to run twice" in row.traceback
    assert row.task_result.errors[0].exception_class_path == "pagedesk.core.leases.WorkerLost"


@pytest.mark.django_db
def test_a_worker_with_no_heartbeat_at_all_is_lost_too():
    row = running(not_declared_safe, worker_ids=["never-beat"])
    leases.lost_tasks_reclaim()
    row.refresh_from_db()
    assert row.status == "FAILED"
    assert "last heartbeat: never" in row.traceback


@pytest.mark.django_db
def test_a_live_worker_keeps_its_task_however_long_it_runs():
    beat("alive", seen=1)
    row = running(not_declared_safe, worker_ids=["alive"], started=10 * LEASE)
    assert leases.lost_tasks_reclaim() == {"rerun": 0, "failed": 0}
    row.refresh_from_db()
    assert row.status == "RUNNING"


@pytest.mark.django_db
def test_a_claim_younger_than_the_lease_is_left_alone():
    row = running(not_declared_safe, worker_ids=["just-started"], started=LEASE / 2)
    assert leases.lost_tasks_reclaim() == {"rerun": 0, "failed": 0}
    row.refresh_from_db()
    assert row.status == "RUNNING"


@pytest.mark.django_db
def test_a_task_that_lost_its_worker_every_time_stops_after_the_last_claim():
    row = running(dropout_check, worker_ids=["a", "b", "c"][: leases.MAX_CLAIMS], conversation_id=1)
    leases.lost_tasks_reclaim()
    row.refresh_from_db()
    assert row.status == "FAILED"
    assert f"{leases.MAX_CLAIMS} claim(s)" in row.traceback


@pytest.mark.django_db
def test_long_gone_workers_heartbeats_are_forgotten():
    beat("gone", seen=LEASE * (leases.FORGET_AFTER_LEASES + 1))
    beat("recent", seen=LEASE * 2)
    leases.lost_tasks_reclaim()
    assert list(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["recent"]


@pytest.mark.django_db
def test_the_sweep_arms_its_next_run_before_it_works(monkeypatch):
    """A worker killed during the sweep must not end the chain: the next run is enqueued first."""
    order: list[str] = []
    monkeypatch.setattr(leases, "lost_tasks_reclaim", lambda: order.append("sweep") or {})
    lost_tasks_reclaim_task.call()
    waiting = DBTaskResult.objects.filter(task_path=lost_tasks_reclaim_task.module_path, status="READY")
    assert waiting.count() == 1 and order == ["sweep"]
    assert waiting.get().run_after > leases.wall_now()
    lost_tasks_reclaim_task.call()  # a copy already waits: no second chain
    assert waiting.count() == 1


# --- a worker process killed mid-task ---------------------------------------------------------------------


@pytest.fixture
def worker_process(transactional_db, tmp_path):
    """Starts `pagedesk worker` processes on this test's database, with a 2 s lease."""
    started: list[subprocess.Popen[str]] = []

    def start() -> subprocess.Popen[str]:
        environ = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DJANGO_SETTINGS_MODULE": "pagedesk.config.settings",
            "PAGEDESK_DATA_DIR": str(tmp_path / "data"),
            "PAGEDESK_LOG_LEVEL": "ERROR",
            "PAGEDESK_WORKER_LEASE_SECONDS": "2",
            "PYTHONPATH": str(ROOT),
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "pagedesk.config.cli", "worker", "--interval", "0.2"],
            cwd=ROOT,
            env=environ,
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None
        assert "pagedesk worker started" in process.stdout.readline()
        return process

    yield start
    for process in started:
        process_stop(process)


def test_a_task_whose_worker_is_killed_runs_again_on_another_worker(worker_process, tmp_path, settings):
    settings.WORKER_LEASE_SECONDS = 2
    runs = tmp_path / "runs"
    with transaction.atomic():
        task_id = block_on_first_run.enqueue(marker_dir=str(tmp_path)).id

    first = worker_process()
    wait_for(
        lambda: runs.exists() and runs.read_text(), within=30, what="the first worker never ran the task"
    )
    row = DBTaskResult.objects.get(pk=task_id)
    assert row.status == "RUNNING"
    (lost_worker,) = row.worker_ids

    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    time.sleep(0.5)
    assert DBTaskResult.objects.get(pk=task_id).status == "RUNNING"  # nobody else can tell yet

    worker_process()
    row = wait_for(
        lambda: DBTaskResult.objects.filter(pk=task_id, status="SUCCESSFUL").first(),
        within=60,
        what="the task was not reclaimed and run again",
    )
    assert row.return_value == 2
    assert row.worker_ids[0] == lost_worker and len(row.worker_ids) == 2
    assert row.worker_ids[1] != lost_worker
    first_pid, second_pid = runs.read_text().split()
    assert first_pid == str(first.pid) and second_pid != first_pid
