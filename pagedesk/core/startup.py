"""Work every serving or worker process does once at start-up.

Periodic jobs are self-rescheduling tasks (django-tasks has no cron); each app registers a hook here
that makes sure its periodic task is enqueued exactly once, so a crash or a fresh database never
leaves a job unscheduled.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

_hooks: list[Callable[[], None]] = []


def register(hook: Callable[[], None]) -> Callable[[], None]:
    if hook not in _hooks:
        _hooks.append(hook)
    return hook


def run_startup_hooks() -> None:
    for hook in _hooks:
        try:
            hook()
        except Exception:
            # A failing hook must not keep the app from serving; it is logged and retried next start.
            logger.exception("start-up hook %s failed", getattr(hook, "__qualname__", hook))


def heap_freeze() -> None:
    """Move everything loaded at start-up out of the cyclic garbage collector's reach.

    A long-running server holds hundreds of thousands of objects from start-up (Django's apps, URL
    resolvers, templates, modules) that never become garbage, yet every full (generation 2) collection
    walks them all while holding the GIL: measured in `pagedesk serve` with 200 agent sockets, such a
    pause took 80–84 ms and landed in a webhook ack and a ringall fan-out (bench/inbound_to_agent.py).
    Frozen, the same collections took 30–41 ms. Call once, after start-up and before serving.
    """
    gc.collect()
    gc.freeze()
