from __future__ import annotations

from django.core.management.base import BaseCommand

from pagedesk.core.startup import heap_freeze, run_startup_hooks
from pagedesk.core.worker import EmbeddedWorkers, isolated_queues, listener_start, make_worker, transport


class Command(BaseCommand):
    help = "Run background tasks (a separate worker for scaled deployments)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=0.5,
            help=(
                "Seconds between polls when idle. Enqueues wake the worker sooner over Redis "
                "(REDIS_URL) or PostgreSQL LISTEN/NOTIFY; on SQLite the poll is all a separate worker has."
            ),
        )

    def handle(self, *args: object, interval: float, **options: object) -> None:
        run_startup_hooks()
        heap_freeze()
        # Listening before the first poll: an enqueue committed after that poll still wakes this worker.
        listener = listener_start()
        worker = make_worker(interval=interval, exclude=list(isolated_queues()))
        worker.configure_signals()
        # The isolated queues' threads (webhook deliveries) beside this main worker.
        isolated = EmbeddedWorkers(0, interval=interval, main=False)
        isolated.start(listen=False)
        self.stdout.write(f"pagedesk worker started (wake-up: {transport() or 'poll only'})")
        self.stdout.flush()
        try:
            worker.run()
        finally:
            isolated.stop()
            if listener is not None:
                listener.stop()
