"""Inbound Messenger tasks: thin wrappers that call one service each (outbound ones: tasks_outbound.py).

django-tasks has no retries: a task that should try again re-enqueues itself with `run_after`.
"""

from __future__ import annotations

import logging

from django_tasks import task

from pagedesk.core import clock
from pagedesk.core.leases import rerun_after_worker_loss, wall_now
from pagedesk.core.periodic import periodic_ensure
from pagedesk.messenger import attachments, ingest, profiles

logger = logging.getLogger(__name__)


@rerun_after_worker_loss
@task(queue_name="messenger")
def inbound_events_process(streams: list[list[str]]) -> int:
    """Process the pending events of each (page_id, psid) stream; one stream's failure spares the rest.

    A big batch arrives as one task (cheap for the webhook ack); it keeps the first streams and fans
    the rest out as separate tasks so several workers share them.
    """
    if len(streams) > ingest.STREAMS_PER_TASK:
        rest = [(page_id, psid) for page_id, psid in streams[ingest.STREAMS_PER_TASK :]]
        ingest.inbound_streams_enqueue(streams=rest)
        streams = streams[: ingest.STREAMS_PER_TASK]
    done = 0
    for page_id, psid in streams:
        try:
            done += ingest.inbound_stream_process(page_id=page_id, psid=psid)
        except Exception:
            # Its events stay pending; the next event for the stream or the periodic sweep retries them.
            logger.exception("processing stream %s/%s failed", page_id, psid)
    return done


@rerun_after_worker_loss
@task(queue_name="messenger")
def contact_profile_fetch(contact_id: int, attempt: int = 0) -> str:
    return profiles.contact_profile_refresh(contact_id=contact_id, attempt=attempt)


@rerun_after_worker_loss
@task(queue_name="messenger")
def attachment_download(attachment_id: int, attempt: int = 0) -> str:
    return attachments.attachment_fetch(attachment_id=attachment_id, attempt=attempt)


@rerun_after_worker_loss  # re-enqueues pending streams, which are processed once under their lock
@task(queue_name="messenger")
def inbound_events_sweep_task() -> int:
    """The safety net for events whose processing task failed: re-enqueue the streams pending for
    longer than a sweep period, then arm the next sweep (unless another copy is already waiting)."""
    try:
        return ingest.inbound_events_sweep(received_before=clock.now() - ingest.SWEEP_EVERY)
    finally:
        periodic_ensure(inbound_events_sweep_task, run_after=wall_now() + ingest.SWEEP_EVERY)
