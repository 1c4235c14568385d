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


async def test_each_receiver_gets_its_own_copy_of_the_message():
    layer = InMemoryChannelLayer()
    first, second = await layer.new_channel(), await layer.new_channel()
    for channel in (first, second):
        await layer.group_add("g", channel)
    nested = {"type": "event.forward", "event": {"tags": ["a"]}}
    await layer.group_send("g", nested)
    got_first = await asyncio.wait_for(layer.receive(first), 1)
    got_first["event"]["tags"].append("changed by the first receiver")
    got_first["type"] = "changed"
    got_second = await asyncio.wait_for(layer.receive(second), 1)
    assert got_second == {"type": "event.forward", "event": {"tags": ["a"]}}
    assert nested == {"type": "event.forward", "event": {"tags": ["a"]}}


async def test_a_full_channel_loses_the_message_for_that_member_only():
    layer = InMemoryChannelLayer(capacity=1)
    full, free = await layer.new_channel(), await layer.new_channel()
    for channel in (full, free):
        await layer.group_add("g", channel)
    await layer.send(full, {"type": "first"})
    await layer.group_send("g", {"type": "second"})
    assert (await asyncio.wait_for(layer.receive(full), 1))["type"] == "first"
    assert (await asyncio.wait_for(layer.receive(free), 1))["type"] == "second"
    assert layer.channels[full].empty()


async def test_a_waiting_receiver_keeps_its_queue_and_idle_queues_are_swept():
    layer = InMemoryChannelLayer()
    busy, idle = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("g", busy)
    await layer.send(idle, {"type": "once"})
    assert (await asyncio.wait_for(layer.receive(idle), 1))["type"] == "once"
    waiting = asyncio.create_task(layer.receive(busy))
    await asyncio.sleep(0)
    queue = layer.channels[busy]
    layer._swept_at = float("-inf")
    await layer.group_send("g", {"type": "one"})  # it runs the sweep: `idle` has no receiver left
    assert (await asyncio.wait_for(waiting, 1))["type"] == "one"
    assert idle not in layer.channels
    again = asyncio.create_task(layer.receive(busy))
    await asyncio.sleep(0)
    assert layer.channels[busy] is queue  # the same queue, not a new one per message
    await layer.send(busy, {"type": "two"})
    assert (await asyncio.wait_for(again, 1))["type"] == "two"
