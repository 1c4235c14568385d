"""The fan-out to this process's sockets: one layer channel per process in each group, not one per socket.

Channels' pattern puts every socket's own channel in its groups, so an event for a group of 200 agents
became 200 layer messages, and each went through that socket's receive task, asyncio.wait and
dispatch before its frame was written: about three event-loop steps per socket, run breadth-first,
so the first socket was written only after every socket had been woken, and the last one about
8–10 ms after the publish (bench/inbound_to_agent.py). Here the process's hub is the only member of
each group in this process: one layer message per group per process, and the hub writes the frame
to each of its sockets in one loop (docs/decisions/realtime-fan-out.md).

Everything here runs on the event loop that serves the sockets. A layer message carries its group
(`publish` adds it), the serialised event (`text`) and the event's id.

Access control messages (realtime/access.py) reach a user's sockets through their `user.<id>` group:
`access.hold` and `access.changed` stop a socket's frames at once, in the hub's own step, until its
consumer has re-read what the user may see; `session.ended` closes the sockets of a logged-out session.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from channels.layers import InMemoryChannelLayer

from pagedesk.realtime.layers import HUB_CHANNEL_PREFIX

logger = logging.getLogger(__name__)

# How many recently sent event ids a socket remembers. The copies of one event (one per group the socket
# is in) arrive back to back: `publish` sends an event to all its groups before the next event.
RECENT_EVENT_IDS = 256
# The in-memory layer forgets a group membership after a day (channels' group_expiry); the hub renews
# its own long before that, since it may stay in a group for as long as the process lives.
MEMBERSHIP_RENEW_SECONDS = 3600.0
# Frames a socket may have waiting behind a write that cannot finish (a browser that stopped reading).
# Past this the socket is closed: the page reconnects and re-fetches its snapshot, which is cheaper
# than holding an ever longer backlog of hints in the server's memory.
MAX_BACKLOG = 1000
# Access messages that stop a socket's frames until its consumer re-read the user's groups.
ACCESS_HOLDING = frozenset({"hold", "changed"})
# How often a hub on a networked layer (Redis) checks that the layer still carries its messages: a
# message to its own channel must come back through the server within PROBE_TIMEOUT_SECONDS.
PROBE_SECONDS = 2.0
PROBE_TIMEOUT_SECONDS = 2.0
# What app.js answers by re-fetching the page's snapshot, as after a reconnect.
RESYNC_FRAME = json.dumps({"type": "resubscribed"})
# What app.js answers by showing the page as not live (the socket itself is still open).
INTERRUPTED_FRAME = json.dumps({"type": "realtime.interrupted"})


def run_eagerly(coroutine: Coroutine[Any, Any, None]) -> asyncio.Future[None] | None:
    """Run `coroutine` in the caller's step up to its first suspension.

    None when it finished without suspending (a websocket send to a socket whose buffer has room);
    otherwise a task that finishes it. Exceptions raised before the first suspension propagate.
    A task per frame instead would cost a task and a loop step for each of hundreds of sockets.
    """
    try:
        waiting_on = coroutine.send(None)
    except StopIteration:
        return None
    return asyncio.ensure_future(_finish(coroutine, waiting_on))


async def _finish(coroutine: Coroutine[Any, Any, None], waiting_on: Any) -> None:
    # Drives the rest of the coroutine as a task would: wait for what it yielded, then resume it with
    # the outcome (asyncio futures yield themselves; a bare yield, as asyncio.sleep(0) does, is None).
    while True:
        try:
            if waiting_on is None:
                await asyncio.sleep(0)
            else:
                await waiting_on
        except BaseException as exc:  # handed to the coroutine, as a task would
            try:
                waiting_on = coroutine.throw(exc)
            except StopIteration:
                return
            continue
        try:
            waiting_on = coroutine.send(None)
        except StopIteration:
            return


class SocketOutbox:
    """The frames one socket is sent, in order, each event once.

    Held until `open()` (the consumer opens it after its hello frame), so nothing reaches the socket
    before the handshake, and what arrived meanwhile is sent then. A frame is written in the hub's own
    step when the socket can take it; a socket that cannot (a full buffer) finishes in a task and its
    later frames wait behind it, so one slow browser never holds up the others.
    """

    def __init__(
        self,
        send: Callable[[str], Coroutine[Any, Any, None]],
        *,
        on_overflow: Callable[[], None] | None = None,
        on_control: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self._send = send
        self._on_overflow = on_overflow
        self.on_control = on_control
        self._backlog: collections.deque[str] = collections.deque()
        self._busy = True
        self._closed = False
        self._recent: collections.deque[str] = collections.deque()
        self._recent_set: set[str] = set()
        # While the user's access is being re-read: event id (or a sequence number) → [frame, groups].
        self._held: dict[str | int, tuple[str, set[str]]] | None = None
        self._held_seq = 0

    @property
    def holding(self) -> bool:
        return self._held is not None

    def put(self, text: str, event_id: str | None = None, group: str = "") -> None:
        if self._closed:
            return
        if self._held is not None:
            self._hold_frame(text, event_id, group)
            return
        if event_id is not None and not self._remember(event_id):
            return
        self._append(text)

    def _remember(self, event_id: str) -> bool:
        """False when the event was already sent: the layer delivers once per group, and a socket in
        two of the event's groups gets it twice."""
        if event_id in self._recent_set:
            return False
        self._recent_set.add(event_id)
        self._recent.append(event_id)
        if len(self._recent) > RECENT_EVENT_IDS:
            self._recent_set.discard(self._recent.popleft())
        return True

    def _append(self, text: str) -> None:
        if len(self._backlog) >= MAX_BACKLOG:
            self._overflow()
            return
        self._backlog.append(text)
        if not self._busy:
            self._pump()

    def _overflow(self) -> None:
        self.close()
        if self._on_overflow is not None:
            self._on_overflow()

    def hold(self) -> None:
        """Keep every frame from now on until `release` says which groups the user may still hear.

        Called in the hub's step when an access message arrives, so a frame published after the change
        that prompted it can never slip out before the consumer has re-read the user's groups."""
        if self._held is None and not self._closed:
            self._held = {}

    def _hold_frame(self, text: str, event_id: str | None, group: str) -> None:
        assert self._held is not None
        if event_id is not None:
            if event_id in self._recent_set:
                return  # sent before the hold, through another of its groups
            held = self._held.get(event_id)
            if held is not None:
                held[1].add(group)  # one frame, released if any of its groups is still the user's
                return
            key: str | int = event_id
        else:
            self._held_seq += 1
            key = self._held_seq
        if len(self._held) >= MAX_BACKLOG:
            self._overflow()
            return
        self._held[key] = (text, {group})

    def release(self, allowed: Iterable[str]) -> int:
        """Send the held frames of the groups in `allowed`, in order, and drop the others; frames flow
        again. Returns how many were dropped."""
        held, self._held = self._held, None
        if not held or self._closed:
            return 0
        allowed = set(allowed)
        dropped = 0
        for key, (text, frame_groups) in held.items():
            if not frame_groups & allowed:
                dropped += 1
                continue
            if isinstance(key, str) and not self._remember(key):
                continue
            self._append(text)
        return dropped

    def open(self) -> None:
        self._busy = False
        self._pump()

    def close(self) -> None:
        self._closed = True
        self._backlog.clear()
        self._held = None

    def _pump(self) -> None:
        while self._backlog and not self._closed:
            try:
                pending = run_eagerly(self._send(self._backlog.popleft()))
            except Exception as exc:
                self._failed(exc)
                return
            if pending is not None:
                self._busy = True
                pending.add_done_callback(self._resumed)
                return

    def _resumed(self, task: asyncio.Future[None]) -> None:
        self._busy = False
        if task.cancelled():
            self.close()
            return
        exc = task.exception()
        if exc is not None:
            self._failed(exc)
            return
        self._pump()

    def _failed(self, exc: BaseException) -> None:
        # The socket is gone (its consumer's disconnect leaves the hub); the others are not affected.
        logger.debug("could not send to a socket: %r", exc)
        self.close()


class Hub:
    """This process's member of each group that has a socket here, for one channel layer and loop."""

    def __init__(self, layer: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.layer = layer
        self.loop = loop
        self.members: dict[str, set[SocketOutbox]] = {}
        self._channel: str | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()
        self._probe_back = asyncio.Event()

    async def join(self, outbox: SocketOutbox, groups: Iterable[str]) -> None:
        async with self._lock:
            if self._channel is None:
                self._channel = await self.layer.new_channel(HUB_CHANNEL_PREFIX)
                self._tasks = [self.loop.create_task(self._receive()), self.loop.create_task(self._renew())]
                if not isinstance(self.layer, InMemoryChannelLayer):
                    self._tasks.append(self.loop.create_task(self._probe()))
            for group in groups:
                members = self.members.get(group)
                if members is None:
                    members = self.members[group] = set()
                    await self.layer.group_add(group, self._channel)
                members.add(outbox)

    async def leave(self, outbox: SocketOutbox, groups: Iterable[str]) -> None:
        """The socket closed: nothing more is sent to it."""
        outbox.close()
        await self.leave_groups(outbox, groups)

    async def leave_groups(self, outbox: SocketOutbox, groups: Iterable[str]) -> None:
        async with self._lock:
            for group in groups:
                members = self.members.get(group)
                if members is None:
                    continue
                members.discard(outbox)
                if not members:
                    del self.members[group]
                    await self.layer.group_discard(group, self._channel)
            if not self.members and self._channel is not None:
                # Nobody left here: stop receiving (a Redis layer unsubscribes the channel on cancel).
                for task in self._tasks:
                    task.cancel()
                self._tasks, self._channel = [], None

    def deliver(self, message: dict[str, Any]) -> None:
        members = self.members.get(message.get("group", ""))
        if not members:
            return
        group = message["group"]
        text = message.get("text")
        if not isinstance(text, str):
            text = json.dumps(message["event"])  # a hand-made message may carry the event as a dict
        event_id = message.get("id")
        for outbox in list(members):
            outbox.put(text, event_id, group)

    def control(self, message: dict[str, Any]) -> None:
        """An access message for the sockets of one group (a user's, or the admins'): they hold their
        frames now, in this step, and their consumers decide what the user may still hear."""
        members = self.members.get(message.get("group", ""))
        if not members:
            return
        for outbox in list(members):
            if message.get("action") in ACCESS_HOLDING:
                outbox.hold()
            if outbox.on_control is not None:
                outbox.on_control(message)

    async def _receive(self) -> None:
        channel = self._channel
        while True:
            try:
                message = await self.layer.receive(channel)
                kind = message.get("type")
                if kind == "event.forward":
                    self.deliver(message)
                elif kind == "access.control":
                    self.control(message)
                elif kind == "hub.probe":
                    self._probe_back.set()
            except asyncio.CancelledError:
                raise
            except Exception:
                # A realtime hint is lost at worst; the pages re-fetch their snapshot on reconnect.
                logger.exception("realtime hub: could not deliver an event")
                await asyncio.sleep(0.1)

    async def _probe(self) -> None:
        """Notice a layer outage (the Redis server stopped or unreachable): tell every socket here that
        it is not live (`realtime.interrupted`), and once the layer carries messages again, to re-fetch
        its snapshot (`resubscribed`).

        Whatever was published meanwhile is lost (events are hints; the publishers do not retry), and
        the sockets stay open throughout, so without this a page showed a live state that was missing
        every event of the outage until the user reloaded it.
        """
        broken = False
        while True:
            await asyncio.sleep(PROBE_SECONDS)
            self._probe_back.clear()
            try:
                await asyncio.wait_for(
                    self.layer.send(self._channel, {"type": "hub.probe"}), PROBE_TIMEOUT_SECONDS
                )
                await asyncio.wait_for(self._probe_back.wait(), PROBE_TIMEOUT_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not broken:
                    self._to_every_socket(INTERRUPTED_FRAME)
                    logger.warning(
                        "realtime layer unreachable (%s); pages re-fetch when it is back", exc or type(exc)
                    )
                broken = True
                continue
            if broken:
                broken = False
                self.resync()

    def resync(self) -> None:
        """Every socket here re-fetches its snapshot (the `resubscribed` frame app.js answers)."""
        logger.warning(
            "realtime layer back; %d sockets told to re-fetch", self._to_every_socket(RESYNC_FRAME)
        )

    def _to_every_socket(self, frame: str) -> int:
        outboxes = {outbox for members in self.members.values() for outbox in members}
        for outbox in outboxes:
            outbox.put(frame)
        return len(outboxes)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(MEMBERSHIP_RENEW_SECONDS)
            async with self._lock:
                for group in list(self.members):
                    await self.layer.group_add(group, self._channel)


_hub: Hub | None = None


def hub_for(layer: Any) -> Hub:
    """The hub of the running loop and this layer (a test's settings may swap the layer)."""
    global _hub
    loop = asyncio.get_running_loop()
    if _hub is None or _hub.loop is not loop or _hub.layer is not layer:
        _hub = Hub(layer, loop)
    return _hub
