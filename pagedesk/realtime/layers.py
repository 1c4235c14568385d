"""Channel layers pagedesk configures (pagedesk/config/settings.py CHANNEL_LAYERS)."""

from __future__ import annotations

import time
from typing import Any

from channels import layers


class InMemoryChannelLayer(layers.InMemoryChannelLayer):
    """channels' in-memory layer, with its expiry sweep run at most once a second.

    Upstream sweeps every channel queue and every group membership at the start of every receive:
    O(sockets) work per frame delivered, so an event sent to a group every socket is in costs
    O(sockets²). With 200 agent sockets that sweep was the largest single cost of delivering one
    inbound message (profiled with bench/inbound_to_agent.py). Messages expire after `expiry` (60 s)
    and memberships after a day, so sweeping once a second changes nothing anyone can observe.
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
