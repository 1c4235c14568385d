"""pagedesk's in-memory channel layer: channels' layer with a cheaper expiry sweep, same behaviour."""

from __future__ import annotations

import asyncio

from pagedesk.realtime.layers import InMemoryChannelLayer


async def test_group_send_reaches_every_member_and_only_them():
    layer = InMemoryChannelLayer()
    members = [await layer.new_channel() for _ in range(3)]
    outsider = await layer.new_channel()
    for channel in members:
        await layer.group_add("campaign.1.queue", channel)
    await layer.group_send("campaign.1.queue", {"type": "event.forward", "text": "{}"})
    for channel in members:
        assert (await asyncio.wait_for(layer.receive(channel), 1))["text"] == "{}"
    await layer.send(outsider, {"type": "probe"})
    assert (await asyncio.wait_for(layer.receive(outsider), 1))["type"] == "probe"


async def test_expired_messages_are_still_swept():
    layer = InMemoryChannelLayer(expiry=60)
    stale, fresh = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("g", stale)
    await layer.send(stale, {"type": "old"})
    # The stale message's deadline passes; the next sweep (at most one per interval) drops it and, as
    # upstream does, removes its channel from the groups.
    layer.channels[stale]._queue[0] = (0.0, layer.channels[stale]._queue[0][1])
    layer._swept_at = float("-inf")
    await layer.send(fresh, {"type": "new"})
    assert (await asyncio.wait_for(layer.receive(fresh), 1))["type"] == "new"
    assert stale not in layer.channels
    assert stale not in layer.groups.get("g", {})
