"""Channel layers pagedesk configures (pagedesk/config/settings.py CHANNEL_LAYERS)."""

from __future__ import annotations

import asyncio
import time
from copy import deepcopy
from typing import Any

from channels import layers
from channels.exceptions import ChannelFull

# The prefix of a hub's channel name (realtime/hub.py), the one member per process of each group.
HUB_CHANNEL_PREFIX = "hub."

# Values a message can share between its receivers: nothing a receiver does can change them.
_IMMUTABLE = (str, bytes, int, float, bool, type(None))


def _private_copy(message: dict[str, Any]) -> dict[str, Any]:
    """What each receiver gets: a copy it may change, as if the message had been serialised.

    A message of plain values (every event `publish` sends) needs only a new dict; anything nested
    gets upstream's deep copy.
    """
    if all(isinstance(value, _IMMUTABLE) for value in message.values()):
        return dict(message)
    return deepcopy(message)


class InMemoryChannelLayer(layers.InMemoryChannelLayer):
    """channels' in-memory layer, with the per-frame costs of a large group taken out.

    Profiled with bench/inbound_to_agent.py (200 agent sockets in one group):
    - Upstream sweeps every channel queue and every group membership at the start of every receive:
      O(sockets) work per frame delivered, so an event sent to a group every socket is in costs
      O(sockets²). Messages expire after `expiry` (60 s) and memberships after a day, so sweeping
      at most once a second changes nothing anyone can observe.
    - Upstream makes a new queue per message received (see `receive`).
    - Upstream's group_send starts one task per member and waits for them with as_completed, and
      deep-copies the message for each. A send is a put into a queue, which cannot wait: here the
      puts run in a plain loop, and a message of plain values is copied as a plain dict.
    The result for a receiver is the same: its own copy of the message, in send order, and a full
    channel drops the message for that member only (ChannelFull is ignored by group_send upstream too).
    """

    sweep_interval = 1.0

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._swept_at = float("-inf")

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._swept_at < self.sweep_interval:
            return
        self._swept_at = now
        super()._clean_expired()
        # The queues `receive` keeps (below) go once nobody waits on them and they are empty.
        for channel, queue in list(self.channels.items()):
            if queue.empty() and not getattr(queue, "_getters", None):
                del self.channels[channel]

    def get_capacity(self, channel: str) -> int:
        # A process's hub channel (realtime/hub.py) carries every event for every socket here, and the
        # publisher puts a burst of them without yielding to the hub: upstream's 100 per channel would
        # drop the 101st event of a burst (a redispatch, a bulk close). Unbounded, like a Redis layer's
        # local queues; what nobody reads still expires after `expiry`.
        if channel.startswith(HUB_CHANNEL_PREFIX):
            return 0
        return int(super().get_capacity(channel))

    def _put(self, channel: str, message: dict[str, Any]) -> None:
        queue = self.channels.get(channel)
        if queue is None:
            queue = self.channels[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
        try:
            queue.put_nowait((time.time() + self.expiry, _private_copy(message)))
        except asyncio.QueueFull:
            raise ChannelFull(channel) from None

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message
        self._put(channel, message)

    async def receive(self, channel: str) -> dict[str, Any]:
        # Upstream builds a new Queue on every call (the setdefault default) and drops the channel's
        # queue whenever a get empties it, so every frame delivered to a socket made a queue and an
        # Event. A consumer calls receive again as soon as it has handled a message: its queue is
        # kept, and the sweep drops queues that are empty with no receiver waiting.
        self.require_valid_channel_name(channel)
        self._clean_expired()
        queue = self.channels.get(channel)
        if queue is None:
            queue = self.channels[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
        _, message = await queue.get()
        return message

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        # A copy of the membership: a receiver woken by a put cannot run before this loop ends, but
        # the list keeps that true even if a put ever yields.
        for channel in list(self.groups.get(group, ())):
            try:  # noqa: SIM105 - a hot loop: try is free, a suppress() context per member is not
                self._put(channel, message)
            except ChannelFull:
                pass
