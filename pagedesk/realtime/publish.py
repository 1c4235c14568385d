"""The one way an event leaves the server.

`publish` defers to `transaction.on_commit`, so a rolled-back change never reaches a browser, and
sends to each audience group through the channel layer. The channel layer is at-most-once; pages
re-fetch a snapshot on reconnect, so a lost event costs a refresh, never a wrong screen.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from pagedesk.realtime.events import Event

logger = logging.getLogger(__name__)

# Tests register a listener to capture exactly what was published to whom, after commit.
_listeners: list[Callable[[Event, list[str]], None]] = []


def add_listener(listener: Callable[[Event, list[str]], None]) -> None:
    _listeners.append(listener)


def remove_listener(listener: Callable[[Event, list[str]], None]) -> None:
    _listeners.remove(listener)


def publish(event: Event, *, to: Iterable[str]) -> None:
    groups = sorted(set(to))
    transaction.on_commit(lambda: _send(event, groups))


def _send(event: Event, groups: list[str]) -> None:
    for listener in list(_listeners):
        listener(event, groups)
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "event.forward", "event": event.as_message()}

    async def send_all() -> None:
        for group in groups:
            try:
                await layer.group_send(group, message)
            except Exception:
                # A realtime hint must never fail the request that committed the change.
                logger.exception("could not publish %s to %s", event.type, group)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        # The usual case: a sync service in a worker or request thread. One hop for all groups.
        async_to_sync(send_all)()
        return
    # A sync service called from a thread that runs an event loop (e.g. a test driving a browser):
    # AsyncToSync refuses to run there, so hand the send to a short-lived thread.
    thread = threading.Thread(target=async_to_sync(send_all), name="pagedesk-publish")
    thread.start()
    thread.join(timeout=5)
