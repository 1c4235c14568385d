"""Background tasks for the outbound side: delivering messages, sender actions and token health.

Thin: each task parses its arguments and calls one service. The token check is a self-rescheduling
periodic task (django-tasks has no cron); `token_health_schedule` is registered as a start-up hook so
every serving or worker process makes sure exactly one is pending.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from typing import Any

from django.conf import settings
from django_tasks import task

from pagedesk.core import clock
from pagedesk.core.leases import rerun_after_worker_loss
from pagedesk.core.periodic import periodic_ensure
from pagedesk.core.startup import register
from pagedesk.messenger.models import PageConnection
from pagedesk.messenger.send import message_deliver, messages_reconcile_stuck, sender_action_deliver
from pagedesk.messenger.tokens import page_connections_check_all, page_token_check

logger = logging.getLogger(__name__)

QUEUE = "messenger"


def token_check_interval() -> int:
    return max(30, int(getattr(settings, "TOKEN_CHECK_SECONDS", 600)))


@rerun_after_worker_loss
@task(queue_name=QUEUE)
def message_deliver_task(*, message_id: int, attempt: int) -> str:
    return message_deliver(message_id=message_id, attempt=attempt)


@task(queue_name=QUEUE)
def sender_action_task(*, conversation_id: int, action: str) -> str:
    return sender_action_deliver(conversation_id=conversation_id, action=action)


@rerun_after_worker_loss
@task(queue_name=QUEUE)
def page_token_check_task(*, page_connection_id: int) -> str:
    connection = PageConnection.objects.filter(pk=page_connection_id).first()
    if connection is None:
        return "missing"
    return page_token_check(page_connection=connection)


@rerun_after_worker_loss
@task(queue_name="timers")
def token_health_task() -> dict[str, int]:
    """Check every active page token, recover stuck sends, then schedule the next run."""
    try:
        counts = page_connections_check_all()
        counts["reconciled"] = messages_reconcile_stuck()
    finally:
        # Rescheduled even when a check blew up, so one bad page never stops the health checks; not
        # when another copy is already waiting (two processes that started at once each armed one).
        periodic_ensure(
            token_health_task, run_after=clock.now() + dt.timedelta(seconds=token_check_interval())
        )
    return counts


@rerun_after_worker_loss
@task(queue_name=QUEUE)
def inbound_reprocess_task(*, page_id: str) -> None:
    """Re-run the webhook side's processing for a page after re-activation, if that side offers it."""
    function = _inbound_reprocess_function()
    if function is not None:
        function(page_id=page_id)


def _inbound_reprocess_function() -> Any:
    try:
        module = importlib.import_module("pagedesk.messenger.ingest")
    except ImportError:
        return None
    return getattr(module, "inbound_events_reprocess_for_page", None)


def inbound_reprocess_enqueue(*, page_id: str) -> bool:
    """Enqueue the inbound reprocessing for a page; False when the ingest side has no such function."""
    function = _inbound_reprocess_function()
    if function is None:
        return False
    if hasattr(function, "enqueue"):  # already a task
        function.enqueue(page_id=page_id)
    else:
        inbound_reprocess_task.enqueue(page_id=page_id)
    return True


@register
def token_health_schedule() -> None:
    token_health_schedule_once()


def token_health_schedule_once() -> bool:
    """Start-up hook: arm the periodic token check unless a run is already waiting; True if armed."""
    return periodic_ensure(token_health_task, run_after=clock.now() + dt.timedelta(seconds=30))
