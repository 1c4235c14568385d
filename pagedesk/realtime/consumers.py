"""One websocket per browser tab; it forwards the events of the groups the user may see.

The consumer authenticates the session (AuthMiddlewareStack) and asks realtime.selectors for the
user's groups, so the same rule decides what a view shows and what a socket hears.
"""

from __future__ import annotations

import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from pagedesk.core import metrics
from pagedesk.realtime.selectors import groups_for_user


class EventsConsumer(AsyncWebsocketConsumer):
    groups_joined: list[str]

    async def connect(self) -> None:
        self.groups_joined = []
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=4401)
            return
        self.groups_joined = await database_sync_to_async(groups_for_user)(user=user)
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        metrics.websocket_connections.inc()
        await self.send(text_data=json.dumps({"type": "hello", "groups": len(self.groups_joined)}))

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.groups_joined:
            metrics.websocket_connections.dec()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data == "ping":
            await self.send(text_data="pong")

    async def event_forward(self, message: dict) -> None:
        await self.send(text_data=json.dumps(message["event"]))
