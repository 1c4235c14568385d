"""Routing's timers under a clock frozen in the past (tests, the simulator): a timer that fires before
it is due on routing's clock re-arms itself for the wait left in real time, instead of for the same
past time the worker would run again at once, for ever."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from pagedesk.accounts.models import Presence, User
from pagedesk.conversations.models import ConversationState
from pagedesk.core import clock
from pagedesk.core.worker import make_worker
from pagedesk.routing.services import closing

from .conftest import arrive, available, make_campaign, state_of

pytestmark = pytest.mark.django_db(transaction=True)

RUN_FOR = 2.5  # seconds of worker time; the spin wrote ~170 task rows in that
DROPOUT = "pagedesk.routing.tasks.dropout_check"
WRAP_UP = "pagedesk.routing.tasks.wrap_up_end"


def rows(path: str) -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=path).order_by("enqueued_at"))


def test_timers_with_the_clock_frozen_in_the_past_do_not_spin(frozen_clock, alice, bob):
    frozen_clock.set(dt.datetime.now(dt.UTC) - dt.timedelta(days=14))
    campaign = make_campaign(
        "C", agents=[alice], strategy="linear", dropout_threshold_seconds=300, wrap_up_seconds=120
    )
    waiting = arrive(campaign)  # nobody Available: it waits, with a dropout timer 300 s after arrival
    available(bob)  # not a member: nothing routes to him
    with transaction.atomic():
        assert closing._start_wrap_up(bob.pk, seconds=120, now=clock.now())  # a wrap-up timer
    assert [r.run_after < dt.datetime.now(dt.UTC) for r in rows(DROPOUT) + rows(WRAP_UP)] == [True, True]

    worker = make_worker(interval=0.05)
    thread = threading.Thread(target=worker.run, name="test-worker", daemon=True)
    thread.start()
    try:
        time.sleep(RUN_FOR)
    finally:
        worker.stop()
        thread.join(10)
    assert not thread.is_alive()

    # Each timer ran once (not due on the frozen clock) and re-armed once, for the wait it had left.
    for path, wait in ((DROPOUT, 300), (WRAP_UP, 120)):
        assert len(rows(path)) == 2, f"{path}: {len(rows(path))} task rows in {RUN_FOR} s"
        first, rearmed = rows(path)
        assert first.status == "SUCCESSFUL" and first.return_value is False
        assert rearmed.status == "READY"
        left = rearmed.run_after - dt.datetime.now(dt.UTC)
        assert dt.timedelta(seconds=wait - 30) < left <= dt.timedelta(seconds=wait)
    assert state_of(waiting) == (ConversationState.QUEUED, None)
    assert User.objects.get(pk=bob.pk).presence == Presence.WRAP_UP
