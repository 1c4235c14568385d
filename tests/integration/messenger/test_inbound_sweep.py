"""The inbound sweep is a periodic task, one chain per deployment (issue 16): events whose processing
task failed are picked up again while the process keeps running, not only at its next start."""

from __future__ import annotations

import datetime as dt

import pytest
from django_tasks_db.models import DBTaskResult

from pagedesk.core import clock, startup
from pagedesk.core.leases import wall_now
from pagedesk.messenger import fixtures, ingest
from pagedesk.messenger.models import InboundEvent
from pagedesk.messenger.tasks import inbound_events_process, inbound_events_sweep_task


def pending(psid: str, *, age: dt.timedelta) -> InboundEvent:
    return InboundEvent.objects.create(
        page_id=fixtures.PAGE_ID,
        psid=psid,
        kind="message",
        dedup_key=f"m_{psid}",
        payload={},
        received_at=clock.now() - age,
    )


def swept_streams() -> list[list[str]]:
    rows = DBTaskResult.objects.filter(task_path=inbound_events_process.module_path)
    return sorted(stream for row in rows for stream in row.args_kwargs["kwargs"]["streams"])


def sweeps_waiting() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=inbound_events_sweep_task.module_path, status="READY"))


def test_the_sweep_is_a_start_up_hook():
    assert ingest.inbound_events_sweep_schedule in startup._hooks


@pytest.mark.django_db
def test_the_periodic_sweep_takes_events_left_pending_longer_than_a_period_and_arms_the_next():
    pending("left-behind", age=ingest.SWEEP_EVERY + dt.timedelta(minutes=1))
    pending("just-arrived", age=dt.timedelta(seconds=5))  # its task is most likely still waiting

    assert inbound_events_sweep_task.call() == 1
    assert swept_streams() == [[fixtures.PAGE_ID, "left-behind"]]
    (next_sweep,) = sweeps_waiting()
    assert next_sweep.run_after >= wall_now() + ingest.SWEEP_EVERY - dt.timedelta(minutes=1)

    # A second chain (another process armed one too) collapses: the run finds a copy waiting.
    inbound_events_sweep_task.call()
    assert len(sweeps_waiting()) == 1


@pytest.mark.django_db
def test_the_start_up_hook_sweeps_everything_pending_and_arms_one_chain():
    pending("left-behind", age=ingest.SWEEP_EVERY + dt.timedelta(minutes=1))
    pending("just-arrived", age=dt.timedelta(seconds=5))
    ingest.inbound_events_sweep_schedule()
    assert swept_streams() == [[fixtures.PAGE_ID, "just-arrived"], [fixtures.PAGE_ID, "left-behind"]]
    ingest.inbound_events_sweep_schedule()  # a second process starting
    assert len(sweeps_waiting()) == 1
