"""The background worker: django-tasks-db's Worker, run as a process or as threads inside `serve`."""

from __future__ import annotations

import logging
import threading

from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

logger = logging.getLogger(__name__)


def make_worker(*, interval: float = 0.5) -> Worker:
    return Worker(
        queue_names=["*"],
        interval=interval,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=get_random_string(32),
        excluded_queue_names=[],
    )


class EmbeddedWorkers:
    """Worker threads inside the web process (embedded mode). Signals stay with uvicorn."""

    def __init__(self, count: int) -> None:
        self.workers = [make_worker() for _ in range(max(1, count))]
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for index, worker in enumerate(self.workers):
            thread = threading.Thread(
                target=self._run, args=(worker,), name=f"pagedesk-worker-{index}", daemon=True
            )
            thread.start()
            self.threads.append(thread)

    @staticmethod
    def _run(worker: Worker) -> None:
        try:
            worker.run()
        except Exception:
            logger.exception("embedded worker stopped")

    def stop(self, timeout: float = 5) -> None:
        for worker in self.workers:
            worker.running = False
        for thread in self.threads:
            thread.join(timeout)
