"""The API's periodic task: forget Idempotency-Keys older than a day (pagedesk.api.idempotency).

Self-rescheduling like the other periodic jobs (django-tasks has no cron); a start-up hook
(pagedesk.api.apps) makes sure one run is waiting.
"""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from pagedesk.api.idempotency import idempotency_keys_expire
from pagedesk.core.leases import rerun_after_worker_loss, wall_now
from pagedesk.core.periodic import periodic_ensure

SWEEP_EVERY = dt.timedelta(hours=1)


@rerun_after_worker_loss  # a delete by age: running it twice deletes nothing more
@task(queue_name="default")
def idempotency_keys_sweep() -> int:
    try:
        return idempotency_keys_expire()
    finally:
        _arm_sweep()


def _arm_sweep() -> None:
    periodic_ensure(idempotency_keys_sweep, run_after=wall_now() + SWEEP_EVERY)


def idempotency_startup() -> None:
    """Start-up hook: sweep now and keep the hourly sweep armed."""
    idempotency_keys_expire()
    _arm_sweep()
