"""The process's hub: one layer membership per group, frames written to each socket in order, once."""

from __future__ import annotations

import asyncio

import pytest

from pagedesk.realtime.hub import Hub, SocketOutbox, run_eagerly
from pagedesk.realtime.layers import InMemoryChannelLayer


async def test_run_eagerly_finishes_in_the_callers_step_when_nothing_waits():
    ran: list[str] = []

    async def quick() -> None:
        ran.append("done")

    assert run_eagerly(quick()) is None
    assert ran == ["done"]


async def test_run_eagerly_hands_the_rest_to_a_task_after_a_suspension():
    gate: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    ran: list[str] = []

    async def slow() -> None:
        ran.append("before")
        ran.append(await gate)
        await asyncio.sleep(0)  # a bare yield resumes too
        ran.append("after")

    pending = run_eagerly(slow())
    assert pending is not None and ran == ["before"]
    gate.set_result("gate")
    await asyncio.wait_for(pending, 1)
    assert ran == ["before", "gate", "after"]


async def test_run_eagerly_passes_errors_to_the_coroutine_and_to_the_caller():
    async def fails_at_once() -> None:
        raise ConnectionError("gone")

    with pytest.raises(ConnectionError):
        run_eagerly(fails_at_once())

    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    handled: list[str] = []

    async def handles_a_failed_wait() -> None:
        try:
            await gate
        except ValueError as exc:
            handled.append(str(exc))
        raise ConnectionError("then gone")

    pending = run_eagerly(handles_a_failed_wait())
    assert pending is not None
    gate.set_exception(ValueError("failed wait"))
    with pytest.raises(ConnectionError):
        await asyncio.wait_for(pending, 1)
    assert handled == ["failed wait"]


class FakeSocket:
    """A socket whose writes can be made to wait (a full buffer) or fail (a closed connection)."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.gate: asyncio.Future[None] | None = None
        self.broken = False

    async def send(self, text: str) -> None:
        if self.broken:
            raise ConnectionError("client gone")
        if self.gate is not None:
            await self.gate
        self.sent.append(text)


async def test_outbox_holds_frames_until_open_then_sends_them_in_order_once():
    socket = FakeSocket()
    outbox = SocketOutbox(socket.send)
    outbox.put("a", "id-a")
    outbox.put("a", "id-a")  # the same event through a second group
    assert socket.sent == []
    outbox.open()
    outbox.put("b", "id-b")
    outbox.put("c")  # no id: never de-duplicated
    outbox.put("c")
    assert socket.sent == ["a", "b", "c", "c"]


async def test_a_slow_socket_keeps_its_order_and_does_not_hold_up_the_others():
    slow, fast = FakeSocket(), FakeSocket()
    slow.gate = asyncio.get_running_loop().create_future()
    slow_outbox, fast_outbox = SocketOutbox(slow.send), SocketOutbox(fast.send)
    slow_outbox.open()
    fast_outbox.open()
    for text in ("1", "2", "3"):
        slow_outbox.put(text)
        fast_outbox.put(text)
    assert fast.sent == ["1", "2", "3"] and slow.sent == []
    slow.gate.set_result(None)
    slow.gate = None
    for _ in range(20):
        await asyncio.sleep(0)
    assert slow.sent == ["1", "2", "3"]


async def test_a_failed_socket_is_closed_and_the_others_still_get_frames():
    broken, fine = FakeSocket(), FakeSocket()
    broken.broken = True
    outboxes = [SocketOutbox(broken.send), SocketOutbox(fine.send)]
    for outbox in outboxes:
        outbox.open()
        outbox.put("x")
    broken.broken = False
    outboxes[0].put("y")  # closed after the failure: dropped, the consumer's disconnect follows
    outboxes[1].put("y")
    assert broken.sent == [] and fine.sent == ["x", "y"]


async def test_hub_joins_each_group_once_delivers_by_group_and_leaves_when_empty():
    layer = InMemoryChannelLayer()
    hub = Hub(layer, asyncio.get_running_loop())
    alice, bob = FakeSocket(), FakeSocket()
    alice_outbox, bob_outbox = SocketOutbox(alice.send), SocketOutbox(bob.send)
    await hub.join(alice_outbox, ["agent.1", "campaign.1.queue"])
    await hub.join(bob_outbox, ["agent.2", "campaign.1.queue"])
    alice_outbox.open()
    bob_outbox.open()
    channel = hub._channel
    assert channel is not None
    assert {group for group, members in layer.groups.items() if channel in members} == {
        "agent.1",
        "agent.2",
        "campaign.1.queue",
    }
    assert all(len(members) == 1 for members in layer.groups.values())  # the hub, not each socket

    async def send(group: str, text: str, event_id: str) -> None:
        await layer.group_send(group, {"type": "event.forward", "text": text, "id": event_id, "group": group})

    await send("campaign.1.queue", "queued", "e1")
    await send("agent.1", "queued", "e1")  # the same event to alice's own group: one frame
    await send("agent.2", "for bob", "e2")
    for _ in range(20):
        await asyncio.sleep(0)
    assert alice.sent == ["queued"]
    assert bob.sent == ["queued", "for bob"]

    await hub.leave(alice_outbox, ["agent.1", "campaign.1.queue"])
    assert "agent.1" not in layer.groups and channel in layer.groups["campaign.1.queue"]
    await hub.leave(bob_outbox, ["agent.2", "campaign.1.queue"])
    assert not layer.groups and hub._channel is None and not hub.members


async def test_a_burst_of_events_larger_than_a_channels_capacity_all_arrive():
    # The publisher hands a burst to the layer without yielding; the hub's channel holds all of it.
    layer = InMemoryChannelLayer(capacity=100)
    hub = Hub(layer, asyncio.get_running_loop())
    socket = FakeSocket()
    outbox = SocketOutbox(socket.send)
    await hub.join(outbox, ["campaign.1.supervisors"])
    outbox.open()
    group = "campaign.1.supervisors"
    for n in range(500):
        await layer.group_send(
            group, {"type": "event.forward", "text": str(n), "id": f"e{n}", "group": group}
        )
    for _ in range(50):
        await asyncio.sleep(0)
    assert socket.sent == [str(n) for n in range(500)]
    await hub.leave(outbox, [group])


async def test_a_socket_too_far_behind_is_closed_instead_of_queueing_for_ever():
    from pagedesk.realtime.hub import MAX_BACKLOG

    stuck = FakeSocket()
    stuck.gate = asyncio.get_running_loop().create_future()  # the browser stopped reading
    overflowed: list[bool] = []
    outbox = SocketOutbox(stuck.send, on_overflow=lambda: overflowed.append(True))
    outbox.open()
    for n in range(MAX_BACKLOG + 5):
        outbox.put(str(n))
    assert overflowed == [True]
    stuck.gate.set_result(None)
    for _ in range(20):
        await asyncio.sleep(0)
    assert stuck.sent == ["0"]  # the write that was under way; the backlog went with the socket


class FlakyLayer:
    """A networked layer (not in-memory) whose server can be taken away: sends then fail, as
    channels-redis's do while the Redis server is down."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict] = asyncio.Queue()
        self.down = False

    async def new_channel(self, prefix: str = "specific.") -> str:
        return f"{prefix}flaky"

    async def group_add(self, group: str, channel: str) -> None:
        pass

    async def group_discard(self, group: str, channel: str) -> None:
        pass

    async def send(self, channel: str, message: dict) -> None:
        if self.down:
            raise ConnectionError("Error 111 connecting: Connection refused")
        await self.queue.put(message)

    async def receive(self, channel: str) -> dict:
        return await self.queue.get()


async def test_after_a_layer_outage_every_socket_is_told_to_refetch(monkeypatch):
    """Scenario 3 of issue 16: events published while Redis was down are lost, and the sockets stay
    open, so the pages must be told to re-fetch their snapshot once the layer carries messages again."""
    monkeypatch.setattr("pagedesk.realtime.hub.PROBE_SECONDS", 0.02)
    monkeypatch.setattr("pagedesk.realtime.hub.PROBE_TIMEOUT_SECONDS", 0.1)
    layer = FlakyLayer()
    hub = Hub(layer, asyncio.get_running_loop())
    sent: dict[str, list[str]] = {"a": [], "b": []}
    outboxes = {}
    for name in sent:

        async def send(text: str, name: str = name) -> None:
            sent[name].append(text)

        outboxes[name] = SocketOutbox(send)
        outboxes[name].open()
    await hub.join(outboxes["a"], ["agent.1", "campaign.1.queue"])
    await hub.join(outboxes["b"], ["campaign.1.queue"])
    try:
        await asyncio.sleep(0.2)  # probes come and go: the layer is fine, nobody is told anything
        assert sent == {"a": [], "b": []}
        layer.down = True
        await asyncio.sleep(0.3)
        # Told once that they are not live, though probes keep failing and "a" is in two groups.
        interrupted = ['{"type": "realtime.interrupted"}']
        assert sent == {"a": interrupted, "b": interrupted}
        layer.down = False
        for _ in range(50):
            if len(sent["a"]) > 1 and len(sent["b"]) > 1:
                break
            await asyncio.sleep(0.02)
        both = [*interrupted, '{"type": "resubscribed"}']
        assert sent == {"a": both, "b": both}
    finally:
        await hub.leave(outboxes["a"], ["agent.1", "campaign.1.queue"])
        await hub.leave(outboxes["b"], ["campaign.1.queue"])


async def test_an_in_memory_layer_is_not_probed():
    hub = Hub(InMemoryChannelLayer(), asyncio.get_running_loop())
    outbox = SocketOutbox(lambda text: asyncio.sleep(0))
    outbox.open()
    await hub.join(outbox, ["agent.1"])
    try:
        # It lives and dies with the process: there is no outage of its own to notice.
        assert len(hub._tasks) == 2
    finally:
        await hub.leave(outbox, ["agent.1"])
