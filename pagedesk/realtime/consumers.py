"""One websocket per browser tab; it forwards the events of the groups the user may see.

The consumer authenticates the session (AuthMiddlewareStack) and asks realtime.selectors for the
user's groups, so the same rule decides what a view shows and what a socket hears.
"""

from __future__ import annotations

import collections
import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from pagedesk.core import metrics
from pagedesk.realtime.publish import serving_loop_register
from pagedesk.realtime.selectors import groups_for_user


def _agent_connected(user: object) -> None:
    # Imported here: realtime stays importable without routing (routing publishes through realtime).
    from pagedesk.routing.services import agent_connected

    agent_connected(agent=user)  # type: ignore[arg-type]


def _agent_disconnected(user: object) -> None:
    from pagedesk.routing.services import agent_disconnected

    agent_disconnected(agent=user)  # type: ignore[arg-type]


# How many recently forwarded event ids a socket remembers. The copies of one event (one per group the
# socket is in) arrive back to back: `publish` sends an event to all its groups before the next event.
RECENT_EVENT_IDS = 256


class EventsConsumer(AsyncWebsocketConsumer):
    groups_joined: list[str]
    recent_ids: collections.deque[str]
    recent_id_set: set[str]
    # An agent's socket counts for routing's disconnect grace period (issue 5): the last socket closing
    # for longer than AGENT_DISCONNECT_GRACE_SECONDS sets the agent Offline.
    counted_agent: object | None = None

    async def connect(self) -> None:
        self.groups_joined = []
        self.counted_agent = None
        self.recent_ids = collections.deque()
        self.recent_id_set = set()
        # In-memory layer: publishes from worker threads are handed to this loop (realtime.publish).
        serving_loop_register()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=4401)
            return
        self.groups_joined = await database_sync_to_async(groups_for_user)(user=user)
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        metrics.websocket_connections.inc()
        if getattr(user, "is_agent", False):
            await database_sync_to_async(_agent_connected)(user)
            self.counted_agent = user
        await self.send(text_data=json.dumps({"type": "hello", "groups": len(self.groups_joined)}))

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.groups_joined:
            metrics.websocket_connections.dec()
        if self.counted_agent is not None:
            agent, self.counted_agent = self.counted_agent, None
            await database_sync_to_async(_agent_disconnected)(agent)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data == "ping":
            await self.send(text_data="pong")

    async def dispatch(self, message: dict) -> None:
        # channels runs close_old_connections() before every handler: a hop to the one thread that runs
        # sync code. Forwarding an event touches no database, and with 200 sockets hearing each queue
        # event that hop per frame was most of the fan-out's cost (profiled with
        # bench/inbound_to_agent.py), and it queued behind the requests' own sync work.
        if message.get("type") == "event.forward":
            await self.event_forward(message)
            return
        await super().dispatch(message)

    async def event_forward(self, message: dict) -> None:
        event_id = message.get("id")
        if event_id is not None:
            # The layer delivers once per group; a socket in two of the event's groups gets it twice.
            if event_id in self.recent_id_set:
                return
            self.recent_id_set.add(event_id)
            self.recent_ids.append(event_id)
            if len(self.recent_ids) > RECENT_EVENT_IDS:
                self.recent_id_set.discard(self.recent_ids.popleft())
        # `publish` sends the event already serialised; a hand-made message may carry the dict.
        text = message.get("text")
        await self.send(text_data=text if isinstance(text, str) else json.dumps(message["event"]))
