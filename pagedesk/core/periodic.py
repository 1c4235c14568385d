"""Periodic jobs as self-rescheduling tasks: "is a copy already waiting?" and "arm one unless it is".

django-tasks has no cron. A periodic job is a task that arms its next run, and a start-up hook
(pagedesk.core.startup) that makes sure one run is waiting, so a fresh database or a crash never leaves
the job unscheduled. Every serving and worker process runs the hooks, so the check "a READY copy is
already waiting" is what keeps one chain per deployment: two processes starting at once may both arm a
run, and the chain collapses back to one the first time a run finds the other copy waiting.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import router, transaction
from django.db.models import Q
from django_tasks.base import Task
from django_tasks_db.models import DBTaskResult, get_date_max


def task_waiting(task: Task[Any, Any], *, runs_by: dt.datetime | None = None, **kwargs: Any) -> bool:
    """Whether a READY copy of `task` (called with these keyword arguments) is waiting to run.

    With `runs_by`, only a copy that will run no later than then counts (one with no `run_after` runs
    as soon as a worker is free).
    """
    rows = DBTaskResult.objects.filter(status="READY", task_path=task.module_path)
    if runs_by is not None:
        rows = rows.filter(Q(run_after=get_date_max()) | Q(run_after__lte=runs_by))
    for name, value in kwargs.items():
        rows = rows.filter(**{f"args_kwargs__kwargs__{name}": value})
    return rows.exists()


def periodic_ensure(task: Task[Any, Any], *, run_after: dt.datetime | None = None) -> bool:
    """Arm `task` (no arguments) to run at `run_after` (None: as soon as a worker is free) unless a
    READY copy is already waiting, whenever it is due; True when one was enqueued.

    Pass wall-clock time (`pagedesk.core.leases.wall_now`) for `run_after`: the worker compares it with
    the real time, and a clock frozen by a test or the simulator must not make a chain spin.
    """
    with transaction.atomic(using=router.db_for_write(DBTaskResult)):
        if task_waiting(task):
            return False
        (task.using(run_after=run_after) if run_after is not None else task).enqueue()
    return True
