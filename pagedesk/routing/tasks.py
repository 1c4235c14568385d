"""Routing timers (docs/architecture.md §4): deferred tasks, so they survive restarts and run on any worker.

Each task is thin: it calls one service, which re-checks the state under a lock; a timer that fires
late, twice, or after the situation changed does nothing harmful.
"""

from __future__ import annotations

import datetime as dt
import logging

from django_tasks import task

from pagedesk.core.leases import rerun_after_worker_loss, wall_now
from pagedesk.core.periodic import periodic_ensure
from pagedesk.routing import services

logger = logging.getLogger(__name__)

RECONCILE_EVERY = dt.timedelta(seconds=60)
TIMERS = "timers"


@rerun_after_worker_loss
@task(queue_name=TIMERS)
def dropout_check(*, conversation_id: int) -> bool:
    return services.conversation_dropout_check(conversation_id=conversation_id)


@rerun_after_worker_loss
@task(queue_name=TIMERS)
def bot_timeout(*, conversation_id: int, message_id: int) -> bool:
    return services.bot_timeout_check(conversation_id=conversation_id, message_id=message_id)


@rerun_after_worker_loss
@task(queue_name=TIMERS)
def wrap_up_end(*, agent_id: int) -> bool:
    return services.agent_wrap_up_end(agent_id=agent_id)


@rerun_after_worker_loss
@task(queue_name=TIMERS)
def transfer_timeout(*, transfer_id: int) -> bool:
    return services.transfer_timeout_expire(transfer_id=transfer_id)


@rerun_after_worker_loss
@task(queue_name=TIMERS)
def disconnect_expire(*, agent_id: int, token: str) -> bool:
    return services.agent_disconnect_expire(agent_id=agent_id, token=token)


@rerun_after_worker_loss
@task(queue_name="routing")
def reconcile_every_minute() -> dict[str, int]:
    """Reconcile, then re-arm itself unless another copy is already waiting (two processes that
    started at once each armed one; the chain collapses back to one here)."""
    try:
        return services.routing_reconcile()
    finally:
        _arm_reconcile()


def _arm_reconcile() -> None:
    periodic_ensure(reconcile_every_minute, run_after=wall_now() + RECONCILE_EVERY)


def routing_startup() -> None:
    """Start-up hook: reconcile now (a crash never strands a queue) and make sure the minute timer runs."""
    counts = services.routing_reconcile()
    if any(counts.values()):
        logger.info("routing start-up reconciliation: %s", counts)
    _arm_reconcile()
