"""Work every serving or worker process does once at start-up.

Periodic jobs are self-rescheduling tasks (django-tasks has no cron); each app registers a hook here
that makes sure its periodic task is enqueued exactly once, so a crash or a fresh database never
leaves a job unscheduled.
"""

from __future__ import annotations

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
