"""Webhook delivery tasks (queue "webhooks", run by worker threads of its own: settings.ISOLATED_QUEUES).

django-tasks has no retries: a drain that leaves work for later enqueues the next drain with
`run_after`. At most one waiting drain per endpoint and time is kept (`drain_ensure`).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult, get_date_max

from pagedesk.core import clock
from pagedesk.core.leases import rerun_after_worker_loss
from pagedesk.core.periodic import periodic_ensure, task_waiting
from pagedesk.core.startup import register
from pagedesk.platform.delivery import endpoint_drain
from pagedesk.platform.models import OPEN_DELIVERY_STATES, WebhookDelivery, WebhookEndpoint, WebhookEvent

logger = logging.getLogger(__name__)

QUEUE = "webhooks"
SWEEP_SECONDS = 60
LOG_DAYS = 30


@rerun_after_worker_loss
@task(queue_name=QUEUE)
def endpoint_drain_task(*, endpoint_id: int) -> str:
    """Safe to re-run: deliveries are claimed by compare-and-swap, and a lapsed claim is sent again
    (receivers de-duplicate by delivery id)."""
    next_at = endpoint_drain(endpoint_id=endpoint_id)
    if next_at is not None:
        drain_ensure(endpoint_id=endpoint_id, at=next_at)
    return next_at.isoformat() if next_at else "done"


@rerun_after_worker_loss
@task(queue_name=QUEUE)
def webhooks_sweep_task() -> int:
    """The safety net: a drain for every endpoint with open deliveries (its request after a commit
    may have died with its process), then the next sweep."""
    try:
        return webhooks_sweep()
    finally:
        next_at = clock.now() + dt.timedelta(seconds=SWEEP_SECONDS)
        if not task_waiting(webhooks_sweep_task, runs_by=next_at):
            webhooks_sweep_task.using(run_after=next_at).enqueue()


def webhooks_sweep() -> int:
    # Deliveries written for an endpoint in the second after it was deleted (models.WebhookDelivery).
    WebhookDelivery.objects.exclude(endpoint_id__in=WebhookEndpoint.objects.values("pk")).delete()
    # The log keeps finished deliveries for LOG_DAYS.
    old = clock.now() - dt.timedelta(days=LOG_DAYS)
    WebhookDelivery.objects.filter(created_at__lt=old).exclude(state__in=OPEN_DELIVERY_STATES).delete()
    WebhookEvent.objects.filter(created_at__lt=old, deliveries__isnull=True).delete()
    due = (
        WebhookDelivery.objects.filter(state__in=OPEN_DELIVERY_STATES, endpoint__enabled=True)
        .values("endpoint_id")
        .annotate(first=Min("next_attempt_at"))
    )
    for row in due:
        drain_ensure(endpoint_id=row["endpoint_id"], at=max(row["first"], clock.now()))
    return len(due)


def drains_ensure(*, endpoint_ids: list[int]) -> int:
    """`drain_ensure` now for several endpoints in one transaction (one query, one commit): the
    kicker's burst. Returns how many drains were enqueued.

    A paused endpoint (a receiver down, a 429) gets no drain now, only one at the end of its pause
    if none waits for then: a drain now would find it paused and end. Unless every endpoint of the
    burst is paused: then the first still gets one now, which builds the burst's data promptly
    (`endpoint_drain` builds every event first; docs/decisions/outbound-webhooks.md).
    """
    path = endpoint_drain_task.module_path
    now = clock.now()
    with transaction.atomic():
        paused: dict[int, dt.datetime] = {
            pk: until
            for pk, until in WebhookEndpoint.objects.filter(
                pk__in=endpoint_ids, paused_until__gt=now
            ).values_list("pk", "paused_until")
            if until is not None
        }
        now_ids = [endpoint_id for endpoint_id in endpoint_ids if endpoint_id not in paused]
        if not now_ids and endpoint_ids:
            now_ids = [endpoint_ids[0]]
        waiting: dict[int, list[dt.datetime]] = {}
        for args_kwargs, run_after in DBTaskResult.objects.filter(status="READY", task_path=path).values_list(
            "args_kwargs", "run_after"
        ):
            kwargs = args_kwargs.get("kwargs") if isinstance(args_kwargs, dict) else None
            waiting_id = kwargs.get("endpoint_id") if isinstance(kwargs, dict) else None
            if isinstance(waiting_id, int):
                waiting.setdefault(waiting_id, []).append(now if run_after == get_date_max() else run_after)
        enqueued = 0
        for endpoint_id in endpoint_ids:
            at = now if endpoint_id in now_ids else paused[endpoint_id]
            if any(ready_at <= at for ready_at in waiting.get(endpoint_id, [])):
                continue
            _drain_enqueue(endpoint_id=endpoint_id, at=at)
            enqueued += 1
    return enqueued


def _drain_enqueue(*, endpoint_id: int, at: dt.datetime | None) -> None:
    """A drain of the endpoint now (`at` None or past) or at `at`."""
    runner = (
        endpoint_drain_task.using(run_after=at)
        if at is not None and at > clock.now()
        else endpoint_drain_task
    )
    runner.enqueue(endpoint_id=endpoint_id)


def drain_ensure(*, endpoint_id: int, at: dt.datetime | None = None) -> bool:
    """Make sure a drain of the endpoint runs at `at` (None: now) or sooner; True if one was enqueued.

    A waiting drain found here has not been claimed yet, so it will read every delivery committed
    before this check: enqueueing another would only make it find nothing.
    """
    with transaction.atomic():
        if task_waiting(endpoint_drain_task, runs_by=at or timezone.now(), endpoint_id=endpoint_id):
            return False
        _drain_enqueue(endpoint_id=endpoint_id, at=at)
    return True


@register
def webhooks_sweep_schedule() -> None:
    """Start-up hook: one sweep chain per deployment, and a sweep now."""
    periodic_ensure(webhooks_sweep_task)
