"""The one way an event leaves the server.

`publish` defers to `transaction.on_commit`, so a rolled-back change never reaches a browser, and
sends to each audience group through the channel layer. The channel layer is at-most-once; pages
re-fetch a snapshot on reconnect, so a lost event costs a refresh, never a wrong screen.

Where the send runs. Services are sync code in worker or request threads, the channel layer is async:
- In-memory layer: its queues belong to the event loop that serves the sockets (uvicorn's), and are
  not thread-safe. Putting into them from another loop neither is safe nor wakes the serving loop, so
  a frame waited for that loop's next tick (uvicorn ticks every 0.1 s). The sends are handed to the
  serving loop itself (the consumers register it on connect).
- Redis layers: a connection pool per event loop. The serving loop's, when the process serves
  sockets (one thread hop fewer on the way to them); otherwise (`pagedesk worker`) one long-lived
  publisher loop in a daemon thread keeps one connection instead of a loop and a connection per publish.
Either way the hand-off is fire-and-forget and drained in order by one task per loop, so events
leave in the order they were committed and the committing thread does not wait for the network.

One event, one frame per socket. The layer delivers once per group, and a socket is often in several
of an event's groups (an agent's own group and their campaign's queue group both hear
conversation.assigned). Each published event carries a unique `id` in the layer message, and each
socket's outbox skips an id it has just sent (realtime/hub.py).
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from pagedesk.realtime.events import Event
from pagedesk.realtime.signals import event_published

logger = logging.getLogger(__name__)

# Tests register a listener to capture exactly what was published to whom, after commit.
_listeners: list[Callable[[Event, list[str]], None]] = []


def add_listener(listener: Callable[[Event, list[str]], None]) -> None:
    _listeners.append(listener)


def remove_listener(listener: Callable[[Event, list[str]], None]) -> None:
    _listeners.remove(listener)


def publish(event: Event, *, to: Iterable[str]) -> None:
    groups = sorted(set(to))
    event_published.send(sender=type(event), event=event)
    transaction.on_commit(lambda: _send(event, groups))


Send = tuple[Any, list[str], dict[str, Any], str]
# How long a service waits for an access hold to reach the channel layer (realtime/access.py).
CONTROL_WAIT_SECONDS = 2.0


async def _send_groups(layer: Any, groups: list[str], message: dict[str, Any], event_type: str) -> None:
    for group in groups:
        try:
            # The group travels with the message: each process's hub is the one member of the group
            # there and hands the event to its sockets in that group (realtime/hub.py).
            await layer.group_send(group, {**message, "group": group})
        except Exception:
            # A realtime hint must never fail the change that committed, nor stop the events after it.
            logger.exception("could not publish %s to %s", event_type, group)


class _Outbox:
    """Sends handed from any thread to one event loop, run there one after another in arrival order."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._pending: collections.deque[tuple[Send, threading.Event | None]] = collections.deque()
        self._drainer: asyncio.Task[None] | None = None

    def alive(self) -> bool:
        return self.loop.is_running() and not self.loop.is_closed()

    def put(self, item: Send, done: threading.Event | None = None) -> None:
        self.loop.call_soon_threadsafe(self._accept, item, done)

    def _accept(self, item: Send, done: threading.Event | None) -> None:  # on the loop
        self._pending.append((item, done))
        if self._drainer is None:
            self._drainer = self.loop.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._pending:
                item, done = self._pending.popleft()
                await _send_groups(*item)
                if done is not None:
                    done.set()
        finally:
            self._drainer = None


_serving: _Outbox | None = None
_background: _Outbox | None = None
_background_lock = threading.Lock()


def serving_loop_register() -> None:
    """Call from the event loop that serves websockets (the consumers do, on connect)."""
    global _serving
    loop = asyncio.get_running_loop()
    if _serving is None or _serving.loop is not loop:
        _serving = _Outbox(loop)


def _background_outbox() -> _Outbox:
    global _background
    with _background_lock:
        if _background is None or not _background.alive():
            loop = asyncio.new_event_loop()
            started = threading.Event()
            loop.call_soon(started.set)
            threading.Thread(target=loop.run_forever, name="pagedesk-publish", daemon=True).start()
            started.wait(5)
            _background = _Outbox(loop)
        return _background


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _outbox_for(layer: Any) -> _Outbox | None:
    serving = _serving
    if serving is not None and serving.alive():
        # A Redis layer too: this loop already holds a connection, and a publish from here saves
        # the hop through the publisher thread (≈1 ms of hand-offs under load, bench/inbound_to_agent.py).
        return serving
    if isinstance(layer, InMemoryChannelLayer):
        # No live serving loop: no socket in this process can hear an in-memory send anyway; the
        # direct path below keeps tests that drive the layer by hand working.
        return None
    return _background_outbox()


def _send(event: Event, groups: list[str]) -> None:
    for listener in list(_listeners):
        listener(event, groups)
    layer = get_channel_layer()
    if layer is None:
        return
    # Serialised once here rather than by each of the (up to hundreds of) sockets that forward it.
    text = json.dumps(event.as_message())
    # uuid4, not a counter: unique across processes, including ones forked after this module loaded.
    message = {"type": "event.forward", "text": text, "id": uuid.uuid4().hex}
    _send_message(layer, groups, message, event.type)


def control_publish(action: str, *, to: Iterable[str], **data: str) -> None:
    """An access message for the hubs (realtime/access.py), sent after commit like an event."""
    groups = sorted(set(to))
    transaction.on_commit(lambda: control_send_now(action, to=groups, wait=False, **data))


def control_send_now(action: str, *, to: Iterable[str], wait: bool = True, **data: str) -> None:
    """An access message sent now, not on commit. With `wait`, returns once the channel layer has
    taken it (at most CONTROL_WAIT_SECONDS): every event published after that reaches each hub after it,
    since one layer (one Redis connection, one in-memory loop) delivers in the order it was given."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "access.control", "action": action, **data}
    _send_message(layer, sorted(set(to)), message, f"access.{action}", wait=wait)


def _send_message(
    layer: Any, groups: list[str], message: dict[str, Any], kind: str, *, wait: bool = False
) -> None:
    item: Send = (layer, groups, message, kind)
    outbox = _outbox_for(layer)
    if outbox is not None:
        done = threading.Event() if wait else None
        outbox.put(item, done)
        if done is not None and not _on_loop(outbox.loop):
            done.wait(CONTROL_WAIT_SECONDS)
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(_send_groups)(*item)
        return
    # A sync service called from a thread that runs an event loop (e.g. a test driving a browser):
    # AsyncToSync refuses to run there, so hand the send to a short-lived thread.
    thread = threading.Thread(target=async_to_sync(_send_groups), args=item, name="pagedesk-publish-once")
    thread.start()
    thread.join(timeout=5)
