"""`periodic_ensure` / `task_waiting`: the one "arm a periodic task unless a copy waits" every periodic
job uses (core, api, routing, messenger, platform)."""

from __future__ import annotations

import datetime as dt

import pytest
from django_tasks_db.models import DBTaskResult

from pagedesk.core.leases import wall_now
from pagedesk.core.periodic import periodic_ensure, task_waiting
from pagedesk.core.tasks import lost_tasks_reclaim_task
from pagedesk.platform.tasks import endpoint_drain_task

pytestmark = pytest.mark.django_db


def copies() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=lost_tasks_reclaim_task.module_path))


def test_a_periodic_task_is_armed_once_whoever_asks():
    later = wall_now() + dt.timedelta(minutes=5)
    assert periodic_ensure(lost_tasks_reclaim_task, run_after=later) is True
    assert periodic_ensure(lost_tasks_reclaim_task, run_after=later) is False
    assert periodic_ensure(lost_tasks_reclaim_task) is False  # a later copy still counts as waiting
    (row,) = copies()
    assert (row.status, abs((row.run_after - later).total_seconds()) < 1) == ("READY", True)


def test_a_copy_that_ran_or_runs_is_not_waiting():
    periodic_ensure(lost_tasks_reclaim_task)
    DBTaskResult.objects.update(status="RUNNING")
    assert task_waiting(lost_tasks_reclaim_task) is False
    assert periodic_ensure(lost_tasks_reclaim_task) is True


def test_waiting_by_a_time_and_by_arguments():
    now = wall_now()
    endpoint_drain_task.using(run_after=now + dt.timedelta(minutes=10)).enqueue(endpoint_id=7)
    assert task_waiting(endpoint_drain_task, endpoint_id=7)
    assert not task_waiting(endpoint_drain_task, endpoint_id=8)
    assert not task_waiting(endpoint_drain_task, runs_by=now + dt.timedelta(minutes=1), endpoint_id=7)
    assert task_waiting(endpoint_drain_task, runs_by=now + dt.timedelta(minutes=11), endpoint_id=7)
    endpoint_drain_task.enqueue(endpoint_id=8)  # no run_after: due at once, so due by any time
    assert task_waiting(endpoint_drain_task, runs_by=now, endpoint_id=8)
