"""One websocket per browser tab; it forwards the events of the groups the user may see.

The consumer authenticates the session (AuthMiddlewareStack) and asks realtime.selectors for the
user's groups, so the same rule decides what a view shows and what a socket hears.
"""

from __future__ import annotations

import asyncio
import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer

from pagedesk.core import metrics
from pagedesk.realtime.hub import SocketOutbox, hub_for
from pagedesk.realtime.publish import serving_loop_register
from pagedesk.realtime.selectors import groups_for_user

# 1013 "try again later": app.js reconnects on any code but 4401 (logged out).
CLOSE_TOO_FAR_BEHIND = 1013


def _agent_connected(user: object) -> None:
    # Imported here: realtime stays importable without routing (routing publishes through realtime).
    from pagedesk.routing.services import agent_connected

    agent_connected(agent=user)  # type: ignore[arg-type]


def _agent_disconnected(user: object) -> None:
    from pagedesk.routing.services import agent_disconnected

    agent_disconnected(agent=user)  # type: ignore[arg-type]


class EventsConsumer(AsyncWebsocketConsumer):
    # No channel of its own: the process's hub hears the groups and writes to this socket (realtime/hub.py).
    # channels gives a consumer whose alias names no layer none, nor the receive task that would wait on it.
    channel_layer_alias = None
    groups_joined: list[str]
    outbox: SocketOutbox | None = None
    closing: asyncio.Future[None] | None = None  # held: a task nobody references may be collected
    # An agent's socket counts for routing's disconnect grace period (issue 5): the last socket closing
    # for longer than AGENT_DISCONNECT_GRACE_SECONDS sets the agent Offline.
    counted_agent: object | None = None

    async def connect(self) -> None:
        self.groups_joined = []
        self.counted_agent = None
        # Publishes from worker and request threads are handed to this loop (realtime.publish).
        serving_loop_register()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=4401)
            return
        self.groups_joined = await database_sync_to_async(groups_for_user)(user=user)
        # Joined before the handshake, so no event between the page's snapshot and this socket is lost;
        # the outbox holds them until the hello frame has gone.
        self.outbox = SocketOutbox(self._send_text, on_overflow=self._overflowed)
        await hub_for(get_channel_layer()).join(self.outbox, self.groups_joined)
        metrics.websocket_connections.inc()
        await self.accept()
        if getattr(user, "is_agent", False):
            await database_sync_to_async(_agent_connected)(user)
            self.counted_agent = user
        await self.send(text_data=json.dumps({"type": "hello", "groups": len(self.groups_joined)}))
        self.outbox.open()

    async def _send_text(self, text: str) -> None:
        await self.send(text_data=text)

    def _overflowed(self) -> None:
        # Too far behind to catch up frame by frame: the page reconnects and re-fetches its snapshot.
        self.closing = asyncio.ensure_future(self.close(code=CLOSE_TOO_FAR_BEHIND))

    async def disconnect(self, code: int) -> None:
        if self.outbox is not None:
            await hub_for(get_channel_layer()).leave(self.outbox, self.groups_joined)
            self.outbox = None
            metrics.websocket_connections.dec()
        if self.counted_agent is not None:
            agent, self.counted_agent = self.counted_agent, None
            await database_sync_to_async(_agent_disconnected)(agent)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data == "ping":
            await self.send(text_data="pong")
        elif text_data == "resubscribe" and self.outbox is not None:
            await self._resubscribe()

    async def _resubscribe(self) -> None:
        """Re-join the groups the user may see now; pages ask after a campaign.changed (memberships and
        supervised campaigns change while the page is open). The reply tells the page to re-fetch its
        snapshot: it is sent after the joins, so nothing published in between is missed."""
        assert self.outbox is not None
        user = self.scope["user"]
        await database_sync_to_async(user.refresh_from_db)()
        if not user.is_active:
            await self.close(code=4401)
            return
        now = await database_sync_to_async(groups_for_user)(user=user)
        hub = hub_for(get_channel_layer())
        await hub.join(self.outbox, [group for group in now if group not in self.groups_joined])
        gone = [group for group in self.groups_joined if group not in now]
        self.groups_joined = now
        await hub.leave_groups(self.outbox, gone)
        self.outbox.put(json.dumps({"type": "resubscribed", "groups": len(now)}))
