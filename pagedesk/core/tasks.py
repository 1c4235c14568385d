"""Core's periodic task: reclaim the task rows of lost workers (core.leases).

Self-rescheduling like the other periodic jobs (django-tasks has no cron), with one difference: it
arms its next run *before* it works, so a worker killed during the sweep does not end the chain.
"""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from pagedesk.core import leases
from pagedesk.core.periodic import periodic_ensure


def reclaim_interval() -> dt.timedelta:
    """Twice per lease: a lost worker's task is picked up between one and one and a half leases on."""
    return dt.timedelta(seconds=leases.lease_seconds() / 2)


@task(queue_name="timers")
def lost_tasks_reclaim_task() -> dict[str, int]:
    _arm_reclaim()
    return leases.lost_tasks_reclaim()


def _arm_reclaim() -> None:
    periodic_ensure(lost_tasks_reclaim_task, run_after=leases.wall_now() + reclaim_interval())


def lost_tasks_reclaim_startup() -> None:
    """Start-up hook: reclaim what a previous run of this deployment left, and keep the sweep armed."""
    leases.lost_tasks_reclaim()
    _arm_reclaim()
