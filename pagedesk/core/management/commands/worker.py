from __future__ import annotations

import time
from types import FrameType

from django.core.management.base import BaseCommand, CommandError

from pagedesk.core.startup import heap_freeze, run_startup_hooks
from pagedesk.core.stopping import StopRequest, stop_grace, stop_signals_captured
from pagedesk.core.worker import EmbeddedWorkers, transport


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
        grace = stop_grace()
        # One thread for every queue but the isolated ones, and the isolated queues' threads (webhook
        # deliveries) beside it; the main thread only waits for a stop signal, so that a stop can
        # bound the running tasks by the grace and put back the ones still running
        # (docs/decisions/graceful-stop.md).
        workers = EmbeddedWorkers(1, interval=interval)
        stop = StopRequest()

        def on_signal(sig: int, frame: FrameType | None) -> None:
            stop.signalled()

        with stop_signals_captured(on_signal):
            # Listening before the first poll: an enqueue committed after that poll still wakes it.
            workers.start()
            self.stdout.write(f"pagedesk worker started (wake-up: {transport() or 'poll only'})")
            self.stdout.flush()
            # Polled, not waited on: the handler runs in this thread, and Event.wait holds the lock
            # that the handler's Event.set needs.
            while not stop.requested.is_set():
                time.sleep(0.2)
                if not workers.alive():
                    workers.stop(0)
                    raise CommandError("A worker thread stopped on an error (logged above); exiting.")
            self.stdout.write(f"pagedesk worker stopping (grace {grace:g} s)")
            self.stdout.flush()
            counts = workers.stop(stop.remaining(grace), grace=grace, hurry=stop.hurry)
        self.stdout.write(
            f"pagedesk worker stopped ({counts['rerun']} task(s) put back, {counts['failed']} failed)"
        )
