"""Foreground first: background work in this process (webhook delivery) steps aside while the
process is doing the work people wait for — an HTTP request (a Messenger webhook, an agent's reply),
or a task of a queue that is not isolated (routing a customer's message).

Measured (bench/webhook_delivery.py, docs/decisions/outbound-webhooks.md): deliveries that ran while a
customer's message was being routed added 8–15 ms to the customer → agent p50 on a 2-core box, through
the GIL, the cores and SQLite's one writer, whatever the delivery code did. So delivery waits at its
safe points (before a write transaction, before a POST) until the process has been quiet for
QUIET_SECONDS, a moment for the agents' frames to leave after the routing commits.

Never starved: a background job waits at most WAIT_PER_RUN times as long as it has run (at first
FIRST_WAIT_SECONDS), so under constant foreground load it still gets a fifth of the time.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.conf import settings

QUIET_SECONDS = 0.005
# A task enqueued to run now is foreground before a worker starts it (the wake-up and the claim take
# a few ms, when a drain would otherwise slip in); held this long at most, in case another process
# runs it.
ENQUEUED_HOLD_SECONDS = 0.05
# What a job may wait before it has run that long (a drain that starts while a message is routed).
FIRST_WAIT_SECONDS = 0.2
# How long a job may wait for each second it has run. Traced with one (wait no longer than run): under
# a steady stream of customer messages drains soon ran through routing tasks again.
WAIT_PER_RUN = 4.0

_condition = threading.Condition()
_running = 0
_last_activity = 0.0


def foreground_begin() -> None:
    global _running
    with _condition:
        _running += 1
        _touch(0.0)


def foreground_end() -> None:
    global _running
    with _condition:
        _running = max(0, _running - 1)
        _touch(0.0)
        _condition.notify_all()


def foreground_touch(*, hold: float = 0.0) -> None:
    """Foreground activity without a matching end (a request starting or finishing; a task enqueued,
    which holds `hold` seconds more until a worker starts it)."""
    with _condition:
        _touch(hold)


def _touch(hold: float) -> None:
    # Never earlier than it was: a task ending must not cut short the hold of one enqueued meanwhile.
    global _last_activity
    _last_activity = max(_last_activity, time.monotonic() + hold)


def _busy_for(now: float) -> float:
    """0 when the process is quiet; else how long to wait before looking again."""
    if _running:
        return 0.05
    quiet_at = _last_activity + QUIET_SECONDS
    return max(0.0, quiet_at - now)


class Share:
    """One background job's account: how long it has run and how long it has stepped aside."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.waited = 0.0

    def fork(self) -> Share:
        """An account for a thread working for the same job (a drain's lane): the job's past, its own
        waits. One account shared by threads would add up their waits, which overlap in time, and
        soon let none of them wait (traced: lanes posted right through a routing task)."""
        share = Share()
        share.started, share.waited = self.started, self.waited
        return share

    def step_aside(self) -> float:
        """Wait while the process does foreground work, within the job's share; returns the wait."""
        began = time.monotonic()
        ran = began - self.started - self.waited
        with _condition:
            while True:
                now = time.monotonic()
                allowance = max(ran * WAIT_PER_RUN, FIRST_WAIT_SECONDS) - self.waited - (now - began)
                wait = _busy_for(now)
                if wait <= 0 or allowance <= 0:
                    break
                _condition.wait(min(wait, allowance))
        spent = time.monotonic() - began
        self.waited += spent
        return spent


def _isolated(task_result: Any) -> bool:
    queues: dict[str, int] = getattr(settings, "ISOLATED_QUEUES", {})
    return getattr(task_result.task, "queue_name", None) in queues


def on_task_started(sender: object, task_result: Any, **kwargs: object) -> None:
    if not _isolated(task_result):
        foreground_begin()


def on_task_finished(sender: object, task_result: Any, **kwargs: object) -> None:
    if not _isolated(task_result):
        foreground_end()


def on_task_enqueued(sender: object, task_result: Any, **kwargs: object) -> None:
    if not _isolated(task_result) and getattr(task_result.task, "run_after", None) is None:
        foreground_touch(hold=ENQUEUED_HOLD_SECONDS)


def on_request(sender: object, **kwargs: object) -> None:
    foreground_touch()
