"""A worker whose database goes away (a restart, a failover, killed sessions) lives on: it looks
again with backoff, and a task whose outcome it could not record is put back, not left RUNNING
under a worker that keeps beating (no lease sweep would ever reclaim it)."""

from __future__ import annotations

import threading

import pytest
from django.db.utils import OperationalError
from django_tasks_db.models import DBTaskResult

from pagedesk.core import worker as worker_module
from pagedesk.core.worker import make_worker
from pagedesk.routing.tasks import dropout_check
from tests.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(worker_module, "DATABASE_RETRY_MAX_SECONDS", 0.05)


def run_in_thread(worker) -> threading.Thread:
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    return thread


def test_a_worker_survives_its_database_going_away_and_runs_the_task_after(monkeypatch):
    worker = make_worker(interval=0.05, queues=["timers"])
    real_claim = worker._claim
    failures = {"left": 3}

    def claim():
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("terminating connection due to administrator command")
        return real_claim()

    monkeypatch.setattr(worker, "_claim", claim)
    result = dropout_check.enqueue(conversation_id=999_999)
    thread = run_in_thread(worker)
    try:
        wait_for(
            lambda: DBTaskResult.objects.get(pk=result.id).status == "SUCCESSFUL",
            within=10,
            what="the task ran once the database answered",
        )
        assert failures["left"] == 0 and thread.is_alive()
    finally:
        worker.stop()
        thread.join(10)


def test_a_task_whose_outcome_could_not_be_recorded_is_put_back(monkeypatch):
    worker = make_worker(interval=0.05, queues=["timers"])
    real_run = worker_module.DBWorker.run_task
    calls = {"n": 0}

    def run_task(self, db_task_result):
        calls["n"] += 1
        if calls["n"] == 1:
            # As when the session is killed after the claim: the outcome cannot be written.
            raise OperationalError("server closed the connection unexpectedly")
        return real_run(self, db_task_result)

    monkeypatch.setattr(worker_module.DBWorker, "run_task", run_task)
    result = dropout_check.enqueue(conversation_id=999_998)
    thread = run_in_thread(worker)
    try:
        row = wait_for(
            lambda: (r := DBTaskResult.objects.get(pk=result.id)).status == "SUCCESSFUL" and r,
            within=10,
            what="the task put back and run again",
        )
        assert calls["n"] == 2 and len(row.worker_ids) == 2  # claimed twice: put back, then run
    finally:
        worker.stop()
        thread.join(10)
