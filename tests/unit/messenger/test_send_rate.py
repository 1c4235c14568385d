"""The per-page send cap holds across threads (each thread has its own database connection)."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from django.db import connection

from pagedesk.messenger.models import PageSendThrottle
from pagedesk.messenger.send import page_send_pause, send_slot_acquire, send_slot_take


@pytest.mark.django_db(transaction=True)
def test_many_threads_never_exceed_the_cap_per_second():
    cap, threads, per_thread = 5, 8, 3
    taken: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(per_thread):
                while True:
                    second, wait = send_slot_take(page_id="p1", cap=cap)
                    if second is not None:
                        with lock:
                            taken.append(second)
                        break
                    time.sleep(min(wait, 0.2))
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(30)
    assert not errors
    assert len(taken) == threads * per_thread
    per_second = Counter(taken)
    assert max(per_second.values()) <= cap, per_second
    # 24 sends at 5/s need at least 5 distinct seconds.
    assert len(per_second) >= 5


@pytest.mark.django_db
def test_pages_have_separate_budgets():
    assert all(send_slot_acquire(page_id="a", cap=2) == 0 for _ in range(2))
    assert send_slot_acquire(page_id="a", cap=2) > 0
    assert send_slot_acquire(page_id="b", cap=2) == 0


@pytest.mark.django_db
def test_a_rate_limit_pause_stops_all_sends_for_the_page():
    page_send_pause(page_id="a", seconds=30)
    wait = send_slot_acquire(page_id="a", cap=40)
    assert 29 < wait <= 30
    assert send_slot_acquire(page_id="b", cap=40) == 0
    assert PageSendThrottle.objects.get(page_id="a").paused_until > time.time() + 29
