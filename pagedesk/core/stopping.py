"""Graceful stop of `pagedesk serve` and `pagedesk worker` on SIGTERM or SIGINT.

The order and the reasons: docs/decisions/graceful-stop.md. In short, a stopping process stops
accepting and stops claiming tasks at once, then for at most the grace (PAGEDESK_STOP_GRACE_SECONDS)
finishes in-flight requests (a webhook gets its 200 after its events committed) and running tasks,
closes websockets with 1012 "service restart" (pages reconnect, through the proxy, to another process)
and puts back the tasks still running (READY, or FAILED when not declared safe to re-run), then exits 0.
A second signal skips what is left of the grace.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Generator
from types import FrameType
from typing import Any

import uvicorn
from django.conf import settings

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def stop_grace() -> float:
    return float(settings.STOP_GRACE_SECONDS)


class StopRequest:
    """What the stop signals asked for: `requested` on the first, `hurry` on the next one.

    Set from a signal handler, which runs in the main thread between two bytecodes: the main thread
    must only poll these events (`is_set`), never `wait` on them, or the handler's `set` could wait for
    the lock the interrupted `wait` holds.
    """

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.hurry = threading.Event()
        self.at: float | None = None

    def signalled(self) -> None:
        if self.requested.is_set():
            self.hurry.set()
            return
        self.at = time.monotonic()
        self.requested.set()

    def remaining(self, grace: float) -> float:
        """What is left of the grace, counted from the first signal."""
        if self.hurry.is_set():
            return 0.0
        if self.at is None:
            return grace
        return max(0.0, grace - (time.monotonic() - self.at))


@contextlib.contextmanager
def stop_signals_captured(on_signal: Callable[[int, FrameType | None], Any]) -> Generator[None, None, None]:
    """SIGINT and SIGTERM call `on_signal` inside the block (main thread only); the previous handlers
    come back after it, and the signal is not raised again: a stop that was asked for is a clean exit."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    originals = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in originals.items():
            signal.signal(sig, handler)


class GracefulServer(uvicorn.Server):
    """uvicorn's server with pagedesk's stop: `on_stop` runs as the shutdown starts (the embedded
    workers stop claiming), and the process is not killed by its own signal afterwards.

    uvicorn's shutdown does the HTTP side: it closes the listening sockets, closes idle keep-alive
    connections, lets requests in flight answer (then closes their connections), sends every open
    websocket a close frame 1012, and waits for all of it up to `timeout_graceful_shutdown`.
    """

    def __init__(self, config: uvicorn.Config, *, stop: StopRequest, on_stop: Callable[[], None]) -> None:
        super().__init__(config)
        self.stop = stop
        self.on_stop = on_stop

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # uvicorn's own re-raises the signal it stopped on once it is done, so the process died of its
        # SIGTERM (status 143) before `serve` could put back its workers' running tasks.
        with stop_signals_captured(self.handle_exit):
            yield

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.stop.signalled()
        if self.should_exit:
            # A second signal: stop waiting for connections (uvicorn does so for a second Ctrl-C only).
            self.force_exit = True
        self.should_exit = True

    async def shutdown(self, sockets: Any = None) -> None:
        self.on_stop()
        await super().shutdown(sockets=sockets)
