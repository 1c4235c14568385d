"""Tasks for the lease and graceful-stop tests, importable by worker subprocesses (PYTHONPATH is the
checkout)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from django_tasks import task

from pagedesk.core.leases import rerun_after_worker_loss


@rerun_after_worker_loss
@task(queue_name="default")
def block_on_first_run(*, marker_dir: str) -> int:
    """Notes each run's pid; the first run then blocks until its worker is killed; later runs return."""
    runs = Path(marker_dir) / "runs"
    with runs.open("a") as handle:
        handle.write(f"{os.getpid()}\n")
    count = len(runs.read_text().splitlines())
    while count == 1:
        time.sleep(0.1)
    return count


@task(queue_name="default")
def not_declared_safe() -> None:
    """A task nobody declared safe to run twice."""


def _started_then_sleep(marker_dir: str, seconds: float) -> float:
    (Path(marker_dir) / "started").write_text(f"{os.getpid()}\n")
    time.sleep(seconds)
    return seconds


@rerun_after_worker_loss
@task(queue_name="default")
def sleep_after_starting(*, marker_dir: str, seconds: float) -> float:
    """Notes that it started (the file `started`), then takes `seconds`; safe to run again."""
    return _started_then_sleep(marker_dir, seconds)


@task(queue_name="default")
def sleep_after_starting_not_declared(*, marker_dir: str, seconds: float) -> float:
    """The same, not declared safe to run twice."""
    return _started_then_sleep(marker_dir, seconds)
