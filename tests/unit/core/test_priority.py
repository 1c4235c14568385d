"""Foreground first (core.priority): background work waits while foreground work runs, within its share."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from pagedesk.core import priority


@pytest.fixture(autouse=True)
def quiet(monkeypatch):
    monkeypatch.setattr(priority, "_running", 0)
    monkeypatch.setattr(priority, "_last_activity", 0.0)


def test_a_quiet_process_does_not_wait():
    assert priority.Share().step_aside() < 0.01


def test_background_waits_until_the_foreground_task_ends():
    share = priority.Share()
    priority.foreground_begin()
    ended = threading.Timer(0.05, priority.foreground_end)
    ended.start()
    waited = share.step_aside()
    ended.join()
    assert 0.04 <= waited < priority.FIRST_WAIT_SECONDS


def test_background_is_never_starved():
    share = priority.Share()
    priority.foreground_begin()
    try:
        first = share.step_aside()
        assert first == pytest.approx(priority.FIRST_WAIT_SECONDS, abs=0.05)
        # It has waited its first allowance and not run since: it goes on at once.
        assert share.step_aside() < 0.01
    finally:
        priority.foreground_end()


def test_after_running_a_while_it_waits_at_most_its_share(monkeypatch):
    monkeypatch.setattr(priority, "WAIT_PER_RUN", 2.0)
    share = priority.Share()
    share.started -= 0.15  # it has run for 0.15 s: it may wait 0.3 s in all
    priority.foreground_begin()
    try:
        assert share.step_aside() == pytest.approx(0.3, abs=0.08)
    finally:
        priority.foreground_end()


@pytest.mark.parametrize(("queue", "counted"), [("default", True), ("webhooks", False)])
def test_tasks_of_isolated_queues_are_not_foreground(settings, queue, counted):
    settings.ISOLATED_QUEUES = {"webhooks": 2}
    task_result = SimpleNamespace(task=SimpleNamespace(queue_name=queue))
    priority.on_task_started(sender=None, task_result=task_result)
    assert (priority._running == 1) is counted
    priority.on_task_finished(sender=None, task_result=task_result)
    assert priority._running == 0


def test_a_request_makes_background_wait_a_moment():
    priority.on_request(sender=None)
    began = time.monotonic()
    priority.Share().step_aside()
    assert time.monotonic() - began >= priority.QUIET_SECONDS * 0.8


@pytest.mark.parametrize(
    ("queue", "run_after", "held"),
    [("default", None, True), ("webhooks", None, False), ("default", 1, False)],
)
def test_a_task_enqueued_to_run_now_holds_background_until_a_worker_starts_it(
    settings, queue, run_after, held
):
    settings.ISOLATED_QUEUES = {"webhooks": 2}
    task_result = SimpleNamespace(task=SimpleNamespace(queue_name=queue, run_after=run_after))
    priority.on_task_enqueued(sender=None, task_result=task_result)
    waited = priority.Share().step_aside()
    assert (waited >= priority.ENQUEUED_HOLD_SECONDS * 0.8) is held


def test_lanes_of_one_drain_each_wait_their_own_share():
    share = priority.Share()
    lanes = [share.fork() for _ in range(4)]
    priority.foreground_begin()
    ended = threading.Timer(0.05, priority.foreground_end)
    ended.start()
    waits: list[float] = []
    threads = [threading.Thread(target=lambda lane=lane: waits.append(lane.step_aside())) for lane in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ended.join()
    assert len(waits) == 4 and all(wait >= 0.04 for wait in waits)


def test_a_task_ending_keeps_the_hold_of_one_enqueued_meanwhile(settings):
    settings.ISOLATED_QUEUES = {"webhooks": 2}
    next_task = SimpleNamespace(task=SimpleNamespace(queue_name="default", run_after=None))
    priority.foreground_begin()
    priority.on_task_enqueued(sender=None, task_result=next_task)
    priority.foreground_end()
    assert priority.Share().step_aside() >= priority.ENQUEUED_HOLD_SECONDS * 0.8
