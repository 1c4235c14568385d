"""The API's periodic task: forget Idempotency-Keys older than a day (pagedesk.api.idempotency).

Self-rescheduling like the other periodic jobs (django-tasks has no cron); a start-up hook
(pagedesk.api.apps) makes sure one run is waiting.
"""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from pagedesk.api.idempotency import idempotency_keys_expire
from pagedesk.core.leases import rerun_after_worker_loss, wall_now

SWEEP_EVERY = dt.timedelta(hours=1)


@rerun_after_worker_loss  # a delete by age: running it twice deletes nothing more
@task(queue_name="default")
def idempotency_keys_sweep() -> int:
    try:
        return idempotency_keys_expire()
    finally:
        if not _sweep_waiting():
            _arm_sweep()


def _sweep_waiting() -> bool:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path=idempotency_keys_sweep.module_path, status="READY").exists()


def _arm_sweep() -> None:
    # Wall-clock time, as the worker compares run_after with it (a frozen test clock must not spin it).
    idempotency_keys_sweep.using(run_after=wall_now() + SWEEP_EVERY).enqueue()


def idempotency_startup() -> None:
    """Start-up hook: sweep now and keep the hourly sweep armed."""
    idempotency_keys_expire()
    if not _sweep_waiting():
        _arm_sweep()
