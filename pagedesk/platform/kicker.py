"""Asks for endpoint drains after commit, off the committing thread.

The outbox rows commit with the change they report; the drain that sends them needs a task row. That
row is not written in the change's transaction (one task insert per endpoint in every transaction of
the Messenger path, and as many drains that find nothing), nor by the committing thread after commit
(its frames to the agents' browsers leave in on_commit callbacks too, and would wait for a write).
Instead the endpoint ids go to this process's kicker thread, which coalesces a burst into one
`drain_ensure` per endpoint. A process that dies between commit and kick leaves rows that the sweep
(platform.tasks.webhooks_sweep_task, every minute) finds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from django.db import close_old_connections, connections, transaction

from pagedesk.platform.tasks import drains_ensure

logger = logging.getLogger(__name__)

COALESCE_SECONDS = 0.2


class Kicker(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="pagedesk-webhook-kicker", daemon=True)
        self._lock = threading.Lock()
        self._wanted: set[int] = set()
        self._event = threading.Event()
        self.kicked = 0

    def request(self, endpoint_ids: Iterable[int]) -> None:
        with self._lock:
            self._wanted.update(endpoint_ids)
        self._event.set()

    def run(self) -> None:
        while True:
            self._event.wait()
            # A moment for the rest of a burst (a customer message publishes several events, in
            # several transactions): one transaction for them all, not one write per commit.
            time.sleep(COALESCE_SECONDS)
            self._event.clear()
            with self._lock:
                wanted, self._wanted = self._wanted, set()
            try:
                self.kicked += drains_ensure(endpoint_ids=sorted(wanted))
            except Exception:
                # The rows are committed; the sweep asks for their drains within a minute.
                logger.exception("could not request drains of webhook endpoints %s", sorted(wanted))
            # Pooled PostgreSQL connections go back to the pool between bursts.
            close_old_connections()
            for connection in connections.all(initialized_only=True):
                if connection.vendor != "sqlite" and not connection.in_atomic_block:
                    connection.close()


_kicker: Kicker | None = None
_kicker_lock = threading.Lock()


def kicker() -> Kicker:
    """This process's kicker (started on first use, and again after a fork)."""
    global _kicker
    with _kicker_lock:
        if _kicker is None or not _kicker.is_alive():
            _kicker = Kicker()
            _kicker.start()
        return _kicker


def drains_request(endpoint_ids: Iterable[int]) -> None:
    """Ask for drains of these endpoints once the current transaction commits (never on rollback)."""
    ids = frozenset(endpoint_ids)
    if ids:
        transaction.on_commit(lambda: kicker().request(ids))
