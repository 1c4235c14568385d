"""One websocket per browser tab; it forwards the events of the groups the user may see.

The consumer authenticates the session (AuthMiddlewareStack) and asks its SocketPolicy (routing's,
given by config/websockets.py) for the user's groups, so the same rule decides what a view shows and
what a socket hears, and tells it when an authenticated socket opens and closes. When that changes
while the socket is open, the server re-reads it by itself (realtime/access.py); the page's own
`resubscribe` command is kept for pages that ask, within a per-socket command budget.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer

from pagedesk.core import metrics
from pagedesk.realtime import groups
from pagedesk.realtime.hub import SocketOutbox, hub_for
from pagedesk.realtime.publish import serving_loop_register
from pagedesk.realtime.selectors import LOGGED_OUT, SocketAccess, SocketPolicy

# 1013 "try again later": app.js reconnects on any code but 4401 and 4403, which send it to the login page.
CLOSE_TOO_FAR_BEHIND = 1013
CLOSE_LOGGED_OUT = LOGGED_OUT
# 1008 "policy violation": a client sending commands far faster than any page does.
CLOSE_TOO_MANY_COMMANDS = 1008
# A hold whose change never committed (rolled back) is lifted after this long (realtime/access.py).
HOLD_SECONDS = 5.0
# Commands (ping, resubscribe) a socket may send: a bucket of COMMAND_BURST refilled at COMMAND_RATE a
# second. Past it commands are ignored; at COMMAND_ABUSE ignored in a row the socket is closed. A page
# sends one resubscribe per campaign change and a ping now and then.
COMMAND_BURST = 20.0
COMMAND_RATE = 2.0
COMMAND_ABUSE = 200


class EventsConsumer(AsyncWebsocketConsumer):
    # No channel of its own: the process's hub hears the groups and writes to this socket (realtime/hub.py).
    # channels gives a consumer whose alias names no layer none, nor the receive task that would wait on it.
    channel_layer_alias = None
    groups_joined: list[str]
    outbox: SocketOutbox | None = None
    closing: asyncio.Future[None] | None = None  # held: a task nobody references may be collected
    # The user whose opening the policy was told of, so it hears of the closing once (routing counts
    # an agent's sockets for its disconnect grace period, issue 5).
    opened_for: object | None = None
    control_group: str = ""
    session_key: str | None = None
    reevaluating: asyncio.Task[None] | None = None
    reevaluate_again = False
    hold_timer: asyncio.TimerHandle | None = None

    def __init__(self, *, policy: SocketPolicy) -> None:
        super().__init__()
        self.policy = policy

    async def connect(self) -> None:
        self.groups_joined = []
        self.opened_for = None
        self.commands = COMMAND_BURST
        self.commands_at = time.monotonic()
        self.commands_refused = 0
        # Publishes from worker and request threads are handed to this loop (realtime.publish).
        serving_loop_register()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=CLOSE_LOGGED_OUT)
            return
        session = self.scope.get("session")
        self.session_key = getattr(session, "session_key", None)
        # The handshake's own user and session, just authenticated: no need to read them again.
        self.groups_joined = await database_sync_to_async(self.policy.groups)(user=user)
        self.control_group = groups.user(user.pk)
        # Joined before the handshake, so no event between the page's snapshot and this socket is lost;
        # the outbox holds them until the hello frame has gone.
        self.outbox = SocketOutbox(self._send_text, on_overflow=self._overflowed, on_control=self._control)
        await hub_for(get_channel_layer()).join(self.outbox, [*self.groups_joined, self.control_group])
        metrics.websocket_connections.inc()
        await self.accept()
        await database_sync_to_async(self.policy.opened)(user=user)
        self.opened_for = user
        await self.send(text_data=json.dumps({"type": "hello", "groups": len(self.groups_joined)}))
        self.outbox.open()

    async def _send_text(self, text: str) -> None:
        await self.send(text_data=text)

    def _overflowed(self) -> None:
        # Too far behind to catch up frame by frame: the page reconnects and re-fetches its snapshot.
        self.closing = asyncio.ensure_future(self.close(code=CLOSE_TOO_FAR_BEHIND))

    async def disconnect(self, code: int) -> None:
        if self.hold_timer is not None:
            self.hold_timer.cancel()
        if self.outbox is not None:
            await hub_for(get_channel_layer()).leave(self.outbox, [*self.groups_joined, self.control_group])
            self.outbox = None
            metrics.websocket_connections.dec()
        if self.opened_for is not None:
            user, self.opened_for = self.opened_for, None
            await database_sync_to_async(self.policy.closed)(user=user)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self._command_allowed():
            return
        if text_data == "ping":
            await self.send(text_data="pong")
        elif text_data == "resubscribe" and self.outbox is not None:
            self._reevaluate_soon()

    def _command_allowed(self) -> bool:
        now = time.monotonic()
        self.commands = min(COMMAND_BURST, self.commands + (now - self.commands_at) * COMMAND_RATE)
        self.commands_at = now
        if self.commands >= 1:
            self.commands -= 1
            self.commands_refused = 0
            return True
        self.commands_refused += 1
        if self.commands_refused == COMMAND_ABUSE:
            self.closing = asyncio.ensure_future(self.close(code=CLOSE_TOO_MANY_COMMANDS))
        return False

    def _control(self, message: dict[str, Any]) -> None:
        """An access message from the hub (realtime/access.py); the hub has already held the frames."""
        action = message.get("action")
        if action == "session_ended":
            if self.session_key is not None and message.get("session_key") == self.session_key:
                self._close_soon(CLOSE_LOGGED_OUT)
        elif action == "hold":
            if self.hold_timer is None:
                # Lifted by the access.changed that follows the commit, or by this if it never comes.
                self.hold_timer = asyncio.get_running_loop().call_later(HOLD_SECONDS, self._reevaluate_soon)
        elif action == "changed":
            self._reevaluate_soon()

    def _close_soon(self, code: int) -> None:
        if self.outbox is not None:
            self.outbox.close()
        self.closing = asyncio.ensure_future(self.close(code=code))

    def _reevaluate_soon(self) -> None:
        if self.hold_timer is not None:
            self.hold_timer.cancel()
            self.hold_timer = None
        if self.reevaluating is not None and not self.reevaluating.done():
            # One re-read at a time, and one more after it: a burst of changes costs two queries.
            self.reevaluate_again = True
            return
        self.reevaluating = asyncio.ensure_future(self._reevaluate())

    async def _reevaluate(self) -> None:
        """Re-join the groups the user may see now, send the held frames of those groups and drop the
        rest, then tell the page to re-fetch its snapshot (sent after the joins, so nothing published
        in between is missed)."""
        while True:
            self.reevaluate_again = False
            if self.outbox is None:
                return
            user = self.scope["user"]
            access: SocketAccess = await database_sync_to_async(self.policy.access)(
                user_id=user.pk, session_key=self.session_key
            )
            if self.outbox is None:
                return
            if access.close_code is not None:
                self._close_soon(access.close_code)
                return
            hub = hub_for(get_channel_layer())
            now = access.groups
            await hub.join(self.outbox, [group for group in now if group not in self.groups_joined])
            gone = [group for group in self.groups_joined if group not in now]
            self.groups_joined = now
            await hub.leave_groups(self.outbox, gone)
            if self.reevaluate_again:
                continue  # another change arrived meanwhile: keep holding, read again
            self.outbox.release([*now, self.control_group])
            self.outbox.put(json.dumps({"type": "resubscribed", "groups": len(now)}))
            return
