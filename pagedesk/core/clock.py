"""The one source of "now", so tests can move time without patching datetime everywhere."""

from __future__ import annotations

import datetime as dt
import threading

_local = threading.local()
_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    """Timezone-aware UTC now, or the time a test has frozen."""
    if _frozen is not None:
        return _frozen
    return dt.datetime.now(dt.UTC)


def freeze(at: dt.datetime | None) -> None:
    """Freeze (or with None, release) the clock for every thread; for tests and the simulator only."""
    global _frozen
    if at is not None and at.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    _frozen = at
