"""The load of every system scenario: customers writing through signed webhooks, agents on sockets.

`CustomerStream` plays Facebook: a steady stream of signed webhook POSTs (bench/inbound_to_agent.py's
`webhook`), each one customer message with its own message id, and it re-sends every delivery that did
not get a 200 until one does, as Facebook redelivers. `AgentSocket` plays an agent's page: a socket on
/ws/events/ that records each `message.created` frame, and when the socket drops it reconnects and
re-fetches what it may have missed, as the inbox does: the snapshot (here the REST API's conversations
changed since the drop and their messages), fetched after the new socket's hello so nothing falls in
between. `count_everything` is the scenarios' common ending.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets

from bench.inbound_to_agent import webhook
from tests.system.cluster import APP_SECRET, Cluster

INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE


@dataclass
class Delivery:
    mid: str
    first_sent: float
    attempts: list[int | None] = field(default_factory=list)  # status per attempt, None = no answer


class CustomerStream:
    def __init__(self, *, url: str, page_id: str, customers: int = 8, tag: str = "s") -> None:
        self.url = url
        self.page_id = page_id
        self.psids = [f"71{tag.encode().hex()[:4]}{i:08d}" for i in range(customers)]
        self.tag = tag
        self.deliveries: dict[str, Delivery] = {}
        self.acked: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._sent = 0

    async def run(self, *, seconds: float, per_second: float) -> None:
        """Send for `seconds`, then wait (bounded) until every delivery was acknowledged."""
        async with httpx.AsyncClient(verify=False, timeout=10) as client:
            began = time.monotonic()
            while time.monotonic() - began < seconds:
                self._sent += 1
                mid = f"m_system_{self.tag}_{self._sent}"
                psid = self.psids[self._sent % len(self.psids)]
                delivery = Delivery(mid=mid, first_sent=time.monotonic())
                self.deliveries[mid] = delivery
                task = asyncio.ensure_future(self._deliver(client, delivery, psid))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                await asyncio.sleep(1 / per_second)
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=60)

    async def _deliver(self, client: httpx.AsyncClient, delivery: Delivery, psid: str) -> None:
        raw, headers = webhook(self.page_id, psid=psid, mid=delivery.mid, secret=APP_SECRET)
        deadline = time.monotonic() + 50
        while time.monotonic() < deadline:
            try:
                status: int | None = (await client.post(self.url, content=raw, headers=headers)).status_code
            except httpx.HTTPError:
                status = None
            delivery.attempts.append(status)
            if status == 200:
                self.acked.add(delivery.mid)
                return
            await asyncio.sleep(0.5)  # Facebook backs off longer; the contract is the same

    @property
    def unacked(self) -> list[str]:
        return [mid for mid in self.deliveries if mid not in self.acked]

    def not_acked_first_time(self) -> list[Delivery]:
        return [d for d in self.deliveries.values() if d.attempts[:1] != [200]]


class AgentSocket:
    def __init__(self, *, name: str, base: str, cookie: str, api_base: str) -> None:
        """`base`: where the socket goes (http(s)://host:port, nginx or one process); `api_base`: where
        the page fetches its snapshot (nginx)."""
        self.name = name
        self.ws_url = base.replace("http", "ws", 1) + "/ws/events/"
        self.origin = base
        self.cookie = cookie
        self.api_base = api_base
        self.frames: set[int] = set()
        self.snapshot: set[int] = set()
        self.hellos = 0
        self.drops = 0
        self.resyncs = 0
        self.interruptions = 0
        self.connected = asyncio.Event()
        self._stop = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        self._stop = True
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        lost = False  # the socket was up and dropped: what it may have missed comes from the snapshot
        while not self._stop:
            up = False
            try:
                async with websockets.connect(
                    self.ws_url,
                    additional_headers={"Cookie": self.cookie, "Origin": self.origin},
                    ssl=INSECURE if self.ws_url.startswith("wss") else None,
                    open_timeout=5,
                    max_queue=None,
                ) as ws:
                    hello = json.loads(await ws.recv())
                    assert hello["type"] == "hello", hello
                    up = True
                    self.hellos += 1
                    self.connected.set()
                    if lost:
                        await self._fetch_snapshot()
                        lost = False
                    async for raw in ws:
                        event = json.loads(raw)
                        if event.get("type") == "message.created":
                            self.frames.add(int(event["message_id"]))
                        elif event.get("type") == "realtime.interrupted":
                            self.interruptions += 1
                        elif event.get("type") == "resubscribed":
                            # As app.js: the page re-fetches, as after a reconnect.
                            self.resyncs += 1
                            await self._fetch_snapshot()
            except (OSError, TimeoutError, websockets.exceptions.WebSocketException, httpx.HTTPError):
                pass
            self.connected.clear()
            if self._stop:
                return
            if up:
                self.drops += 1
                lost = True
            await asyncio.sleep(0.2)

    async def _fetch_snapshot(self) -> None:
        """What the inbox fetches on every (re)connect (inbox/live.js "snapshot"): its lists, and each
        listed conversation's newest messages."""
        headers = {"Cookie": self.cookie}
        async with httpx.AsyncClient(
            base_url=self.api_base, verify=False, timeout=10, headers=headers
        ) as page:
            lists = await page.get("/inbox/lists/")
            lists.raise_for_status()
            for conversation_id in set(re.findall(r'data-conversation-id="(\d+)"', lists.text)):
                thread = await page.get(f"/inbox/{conversation_id}/messages/")
                thread.raise_for_status()
                self.snapshot.update(int(i) for i in re.findall(r'data-message-id="(\d+)"', thread.text))

    @property
    def seen(self) -> set[int]:
        return self.frames | self.snapshot


async def agents_connect(cluster: Cluster, *, bases: list[str]) -> list[AgentSocket]:
    """One socket per seeded agent, the i-th to bases[i % len(bases)]; returns once all said hello."""
    seed = cluster.template.seed
    agents = [
        AgentSocket(
            name=f"agent{i}",
            base=bases[i % len(bases)],
            cookie=f"{seed['cookie']}={key}",
            api_base=cluster.https_url,
        )
        for i, key in enumerate(seed["sessions"])
    ]
    for agent in agents:
        agent.start()
    await asyncio.wait_for(asyncio.gather(*(a.connected.wait() for a in agents)), 20)
    return agents


async def wait_until(check: Any, *, timeout: float, interval: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(interval)
    return bool(check())


async def count_everything(
    cluster: Cluster, stream: CustomerStream, agents: list[AgentSocket]
) -> dict[str, Any]:
    """Every acknowledged message stored once, processed, and its frame (or, after a reconnect, the
    snapshot) at every agent; no task left RUNNING. Returns the figures for the test to report."""
    assert not stream.unacked, f"{len(stream.unacked)} webhooks never acknowledged: {stream.unacked[:5]}"
    mids = sorted(stream.acked)
    keys = [f"mid:{mid}" for mid in mids]

    def processed() -> int:
        return cluster.query(
            "SELECT count(*) FROM messenger_inboundevent WHERE dedup_key = ANY(%s) AND status = 'processed'",
            (keys,),
        )[0][0]

    await wait_until(lambda: processed() == len(mids), timeout=60)
    events = dict(
        cluster.query(
            "SELECT dedup_key, count(*) FROM messenger_inboundevent WHERE dedup_key = ANY(%s) GROUP BY dedup_key",
            (keys,),
        )
    )
    assert sorted(events) == sorted(keys), f"{len(keys) - len(events)} acknowledged events not stored"
    assert set(events.values()) == {1}, "an event stored twice"
    states = dict(
        cluster.query(
            "SELECT status, count(*) FROM messenger_inboundevent WHERE dedup_key = ANY(%s) GROUP BY status",
            (keys,),
        )
    )
    assert states == {"processed": len(mids)}, f"events not all processed: {states}\n{cluster.logs()}"
    messages = cluster.query(
        "SELECT mid, count(*), min(id) FROM conversations_message WHERE mid = ANY(%s) GROUP BY mid", (mids,)
    )
    assert len(messages) == len(mids), f"{len(mids) - len(messages)} processed events have no message"
    assert {count for _mid, count, _id in messages} == {1}, "a message stored twice"
    message_ids = {message_id for _mid, _count, message_id in messages}

    await wait_until(lambda: all(message_ids <= agent.seen for agent in agents), timeout=20)
    missing = {agent.name: len(message_ids - agent.seen) for agent in agents if message_ids - agent.seen}
    assert not missing, f"messages never seen (frame or snapshot) by: {missing}\n{cluster.logs()}"

    # The task queue drains: nothing due is left waiting and nothing stays RUNNING (a task whose worker
    # was killed is taken back once the lease runs out). The no-op tasks of events another task already
    # processed drain last.
    backlog_at_end = task_backlog(cluster)
    drain_began = time.monotonic()
    drained = await wait_until(lambda: task_backlog(cluster) == (0, 0), timeout=DRAIN_WAIT)
    drain_seconds = time.monotonic() - drain_began
    if not drained:
        beats = cluster.query("SELECT worker_id, pid, seen_at, now() FROM core_workerheartbeat")
        left = cluster.query(
            "SELECT task_path, status, worker_ids, started_at FROM django_tasks_database_dbtaskresult"
            " WHERE status = 'RUNNING' OR (status = 'READY' AND (run_after <= now() OR run_after >= '9999-01-01'))"
            " ORDER BY enqueued_at LIMIT 10"
        )
        raise AssertionError(
            f"task queue not drained in {DRAIN_WAIT} s (ready, running): {task_backlog(cluster)}\n"
            f"heartbeats: {beats}\nleft: {left}\n{cluster.logs()}"
        )
    return {
        "messages": len(mids),
        "resent": len(stream.not_acked_first_time()),
        "frames": sum(len(message_ids & a.frames) for a in agents),
        "from_snapshot": sum(len((message_ids & a.snapshot) - a.frames) for a in agents),
        "reconnects": sum(a.hellos - 1 for a in agents),
        "tasks_due_when_all_seen": backlog_at_end[0],
        "drain_seconds": round(drain_seconds, 1),
    }


def task_backlog(cluster: Cluster) -> tuple[int, int]:
    """(READY and due, RUNNING) task rows."""
    ((ready, running),) = cluster.query(
        "SELECT count(*) FILTER (WHERE status = 'READY' AND (run_after <= now() OR run_after >= '9999-01-01')),"
        " count(*) FILTER (WHERE status = 'RUNNING') FROM django_tasks_database_dbtaskresult"
    )
    return ready, running


# A task lost with its worker is reclaimed within one and a half leases of its last heartbeat; the
# rest of the bound is the backlog of a loaded 2-core machine.
DRAIN_WAIT = 60
