from __future__ import annotations

from django.core.management.base import BaseCommand

from pagedesk.core.startup import run_startup_hooks
from pagedesk.core.worker import make_worker


class Command(BaseCommand):
    help = "Run background tasks (a separate worker for scaled deployments)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--interval", type=float, default=0.5, help="Seconds between polls when idle.")

    def handle(self, *args: object, interval: float, **options: object) -> None:
        run_startup_hooks()
        worker = make_worker(interval=interval)
        worker.configure_signals()
        self.stdout.write("pagedesk worker started")
        worker.run()
