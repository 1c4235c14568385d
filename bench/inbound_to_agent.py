"""Inbound-to-agent latency (issue 6, "Done when"): signed webhook POST → websocket frame at the agent.

200 agent sockets are connected (each logged in with its own session) to one pagedesk process serving
HTTP and websockets (uvicorn, as `pagedesk serve`) with its task worker threads inside, on SQLite, and
the customer messages arrive as signed POST /webhooks/messenger. Two scenarios per channel layer:
- routed: a new customer on an rrmemory campaign of the 200 agents → the `message.created` frame at the
  socket of the agent the conversation was assigned to (found by the `conversation.assigned` frame only
  that agent gets; its time is printed too), and the first `message.created` frame at any socket (a
  queued conversation's messages go to every member: that is how the agent hears the first one);
- ringall: a new customer on a ringall campaign → the `message.created` frame at all 200 members'
  sockets (first and last); it is the only frame a member gets for the arrival (docs/events.md).
Layers: the in-memory layer, and RedisPubSubChannelLayer on redis://127.0.0.1:6379 with its own key
prefix (deleted afterwards). Baseline in the same run: a raw Redis PUBLISH → SUBSCRIBE round trip.

The server is `pagedesk serve` itself (call_command), so what is measured is what ships: its uvicorn
settings, its worker thread(s) with the 0.5 s fallback poll and the wake-up on enqueue
(docs/decisions/worker-wake-up.md); `--memory-layer-class X` adds a labelled run with another in-memory
layer class. Samples are sequential (one message in flight) so each frame is attributed to its POST.
A frame's time is when its bytes reach the bench's socket (`FrameReader`). Everything binds to
127.0.0.1; the whole run is bounded (< 3 min).

Findings (2026-11-25, shared 2-vCPU box, SQLite; earlier notes in git history):
- Before (16:59–18:05, workers polling): routed p50/p99 881/1345 ms in-memory with the shipped 0.5 s
  poll (load ≈ 2–4.7); with a 10 ms poll 507/1211 ms in-memory, 345/584 ms Redis pub/sub.
- Earlier (18:33–18:36, load 3.8–5.4, two runs): routed p50/p99 233–251 / 518–529 ms in-memory as
  shipped, 136–189 / 388–801 ms with pagedesk.realtime.layers, 122–147 / 258–545 ms Redis pub/sub;
  ringall to all 200 sockets (last frame) p50 173–218 / 145 / 58–116 ms; webhook ack p50 10–28 ms;
  raw Redis round trip 0.09–0.12 ms. Targets (p50 ≤ 20 ms, p99 ≤ 100 ms) are still not met.
- Where it went: the worker slept out its poll (now woken on commit); each publish from a worker thread
  ran in a new event loop (in-memory: an unsafe put into the serving loop's queues that did not wake
  it; Redis: a new connection per publish); each forwarded frame hopped to the sync thread
  (close_old_connections) and swept every channel (in-memory layer): all fixed or ready to switch on.
- What remains, measured: the fan-out. An rrmemory message sends conversation.queued, queue.changed,
  conversation.assigned and queue.changed to the campaign's queue group, ~800 frames with 200 members,
  before the first message.created frame (~125 µs of serving-loop time per frame, plus the client's).
  A scratch run leaving the queue group out for non-ringall campaigns (routing's audience): routed p50
  67 ms in both layers (load ≈ 4). Then processing (~10–14 ms, 37 queries, two transactions) and
  SQLite commits (≈ 5 ms fsync each with synchronous=FULL; store, claim, process, dispatch: four on the
  path). The raw Redis round trip shows the layer itself is not the problem.
- Routing's audiences (19:00–19:03, load 1.7–2.0, two alternated runs each of the tree just before
  and after; the project's in-memory layer class and the wake-up notifier both in): routing's events
  for a non-ringall campaign no longer go to its members (docs/events.md), one queue.changed per
  arrival, and message.created is registered before the dispatch. Routed, at the assigned agent,
  p50/p99: in-memory 49–85 / 158–188 ms → 19 / 27–30 ms; Redis pub/sub 43–65 / 82–144 ms →
  16–21 / 21–31 ms (first socket: 16–17 / 27–30 and 12–18 / 16–21 ms; the agent's
  conversation.assigned frame 26–33 / 37–38 and 22–30 / 25–42 ms). Ringall, last of 200 sockets:
  in-memory 38–58 / 150–178 → 27–40 / 103–156 ms; Redis 32–53 / 39–60 → 39–40 / 47–58 ms; first
  socket in-memory 23–33 / 99–143 ms. Ack p50 3–6 ms. Raw Redis round trip 0.09–0.10 ms.
- One frame per member per ringall arrival (19:09–19:21, two runs of the tree just before and two
  after, alternated; load 0.3–1.3 before, 1.4–2.1 after): a customer's new conversation reaches the
  ringall members only as its opening message.created, marked `pending` (the inbox re-fetches its
  lists on it); conversation.queued goes to supervisors (docs/events.md). Ringall, last of 200
  sockets, p50/p99: in-memory 26–27 / 102–136 → 22–23 / 90–117 ms (the project's layer class
  29–30 / 128–138 → 21–25 / 93–128 ms); Redis pub/sub 27–33 / 32–46 → 19–22 / 27–28 ms. First
  socket: in-memory 22–23 / 98–132 → 14–16 / 83–112 ms, Redis 23–28 / 26–38 → 13–16 / 19–21 ms.
  Routed, not changed by this: at the assigned agent 15–22 / 21–29 ms. Raw Redis round trip
  0.09–0.10 ms.
- The in-memory outlier (one sample of 80–140 ms per 20, acks included) was a full garbage collection:
  a gen-2 pass over every object loaded at start-up took 80–84 ms with the GIL held (gc.callbacks in
  the server). `serve` and `worker` now freeze the start-up heap (core.startup.heap_freeze); the same
  passes take 30–41 ms. Run at 19:55 (load 0.7), p50/p99: routed at the assigned agent 17.3 / 22.1 ms
  in-memory, 17.9 / 22.4 ms Redis (first socket 14.7 / 19.2 and 15.2 / 16.5); ringall first socket
  18.5 / 28.9 and 16.8 / 20.6 ms; ringall last of 200 sockets 25.3 / 39.4 and 23.2 / 30.2 ms; ack p50
  4.0 ms; raw Redis round trip 0.1 ms. Every p99 is under 100 ms now; the last of 200 ringall sockets
  is still over 20 ms at p50 (≈ 7 ms of fan-out after the first frame, plus ≈ 10 ms of processing
  and SQLite commits before it).
- Where the rest went (2026-11-26, traced: perf_counter stamps in the server beside the bench's, py-spy):
  a ringall arrival's publish → first frame written 1–3 ms, → last of 200 written 8.5–9.5 ms; of a
  frame's ≈ 30 µs, 19 µs was the socket write itself, the rest each socket's receive task, asyncio.wait
  and dispatch, run breadth-first. The worker reopened SQLite before every claim (1.5–2 ms). Now one
  hub per process writes a group's frames in one loop (docs/decisions/realtime-fan-out.md), the
  worker keeps its connection, the in-memory layer's group_send is a plain loop, and a frame is
  timed when its bytes reach the bench's socket (the websocket library's per-socket parsing had put
  the bench's last socket 2–4 ms behind its bytes). Two runs at 02:19–02:20 (load 1.0), p50 / p99:
  ringall, last of 200 sockets: in-memory 17.3 / 19.0 and 15.5 / 18.1 ms, Redis pub/sub 15.4 / 17.3
  and 16.6 / 19.7 ms; ringall first socket 12.7–14.1 / 14.0–16.2 in-memory, 12.4–14.8 / 14.0–16.0
  Redis; routed, at the assigned agent 12.8–13.8 / 15.6–16.2 in-memory, 12.3–13.3 / 15.4–18.2 Redis;
  ack p50 3.5–4.0 ms; raw Redis round trip 0.09–0.11 ms. Every target is met on both layers.
- Final tree of 2026-11-26 (hub with bounded socket backlogs, campaign.changed re-subscription, the
  loop's connection-closing executor), two runs at 03:43 (load 0.0–0.5), p50 / p99: ringall, last of
  200 sockets: in-memory 17.6 / 18.7 and 15.8 / 18.0 ms, Redis pub/sub 18.7 / 20.9 and 17.5 / 20.7 ms;
  ringall first 13.1–13.5 / 14.1–15.2 and 13.9–14.2 / 16.4–17.5 ms; routed, at the assigned agent
  13.2–13.8 / 15.2–16.0 and 14.0–14.3 / 17.4–17.8 ms; its conversation.assigned frame (what makes a
  routed conversation appear in that agent's list) 15.8–17.2 / 17.5–19.4 and 19.3–20.2 / 23.3–23.9
  ms; ack p50 3.5–4.2 ms; raw Redis round trip 0.09–0.12 ms. Six more runs of 30 samples just after
  (03:45–03:50): ringall last p50 12.9–17.6 ms and the assigned frame 14.8–16.9 ms on either layer.

Usage: .venv/bin/python bench/inbound_to_agent.py [--samples 20] [--agents 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SECRET = "bench-inbound-secret"
PAGE_ROUTED = "910000000000001"
PAGE_RINGALL = "910000000000002"
REDIS_URL = "redis://127.0.0.1:6379/0"
DEADLINE_SECONDS = 170  # the whole run stays under 3 minutes


# =====================================================================================================
# Server side (subprocess): migrate, seed 200 agents with sessions, run workers and uvicorn.
# =====================================================================================================


def serve(port: int, agents: int, layer_class: str, ready_file: str, before_ready=None) -> None:
    """`before_ready`: called after seeding, before serving (bench/webhook_delivery.py registers its
    webhook endpoints there)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pagedesk.config.settings")
    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    if layer_class:
        # A labelled variant: the in-memory layer class the settings do not (yet) name.
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": layer_class}}
    call_command("migrate", verbosity=0)
    from pagedesk.accounts.models import Presence, User
    from pagedesk.campaigns import schedule
    from pagedesk.campaigns.services import MemberSpec, campaign_create, membership_set
    from pagedesk.messenger.models import PageConnection, TokenStatus

    users = [
        User(username=f"agent{i:03d}", role="agent", first_name=f"Agent{i}", presence=Presence.AVAILABLE)
        for i in range(agents)
    ]
    User.objects.bulk_create(users)
    users = list(User.objects.filter(role="agent").order_by("pk"))
    every_day = [schedule.Range(schedule.ALL_WEEKDAYS, 0, schedule.MINUTES_PER_DAY)]
    for name, strategy, page_id in (
        ("Routed", "rrmemory", PAGE_ROUTED),
        ("Ringall", "ringall", PAGE_RINGALL),
    ):
        campaign = campaign_create(
            fields={"name": name, "page_name": name, "strategy": strategy, "max_interactions_per_agent": 20},
            ranges=every_day,
        )
        membership_set(campaign=campaign, members=[MemberSpec(agent_id=u.pk) for u in users])
        PageConnection.objects.update_or_create(
            campaign=campaign,
            defaults={"page_id": page_id, "page_name": name, "token_status": TokenStatus.ACTIVE},
        )
    sessions = []
    for user in users:
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        sessions.append(store.session_key)

    if before_ready is not None:
        before_ready()
    Path(ready_file).write_text(json.dumps({"sessions": sessions, "cookie": settings.SESSION_COOKIE_NAME}))
    # The shipped configuration: `pagedesk serve` itself (uvicorn settings, worker threads with their
    # default poll and wake-up on enqueue, start-up hooks).
    call_command("serve", host="127.0.0.1", port=port, log_level="warning")


# =====================================================================================================
# Client side.
# =====================================================================================================


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def listening(args: list[str], *, port: int, what: str):
    """Run `args` (a helper server of a bench, in its own process) until it accepts on `port`;
    stopped when the block ends."""
    process = subprocess.Popen(args, cwd=ROOT)
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start")
            time.sleep(0.05)
        yield
    finally:
        process.terminate()
        process.wait(10)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


_counter = 0


def webhook(
    page_id: str, *, psid: str | None = None, mid: str | None = None, secret: str = SECRET
) -> tuple[bytes, dict[str, str]]:
    """A signed Messenger webhook POST (body, headers) of one customer text message, as Facebook sends
    it. By default each call is a new customer with a new message id; tests/system/ names its own."""
    global _counter
    _counter += 1
    now_ms = int(time.time() * 1000)
    body = {
        "object": "page",
        "entry": [
            {
                "id": page_id,
                "time": now_ms,
                "messaging": [
                    {
                        "sender": {"id": psid or f"8{os.getpid()}{_counter:06d}"},
                        "recipient": {"id": page_id},
                        "timestamp": now_ms,
                        "message": {
                            "mid": mid or f"m_bench_inbound_{os.getpid()}_{_counter}",
                            "text": "Hello, my order?",
                        },
                    }
                ],
            }
        ],
    }
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"X-Hub-Signature-256": signature, "Content-Type": "application/json"}


class Frames:
    """Arrival times of `message.created` frames (per message id: the first, the last, the count, and
    each socket's) and of `conversation.assigned` frames (per conversation id: the socket and time)."""

    def __init__(self) -> None:
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.count: dict[int, int] = {}
        self.conversation: dict[int, int] = {}  # message id → conversation id
        self.at_socket: dict[tuple[int, int], float] = {}  # (socket, message id) → arrival
        self.assigned: dict[int, tuple[int, float]] = {}  # conversation id → (socket, arrival)
        self.changed = asyncio.Event()

    def add(self, socket_index: int, event: dict, at: float) -> None:
        if event["type"] == "message.created":
            message_id = int(event["message_id"])
            self.conversation[message_id] = int(event["conversation_id"])
            self.first.setdefault(message_id, at)
            self.last[message_id] = at
            self.count[message_id] = self.count.get(message_id, 0) + 1
            self.at_socket.setdefault((socket_index, message_id), at)
        elif event["type"] == "conversation.assigned" and event.get("how") == "routed":
            self.assigned.setdefault(int(event["conversation_id"]), (socket_index, at))
        self.changed.set()


class FrameReader(asyncio.Protocol):
    """Takes over a connected websocket's transport and timestamps each server frame as its bytes arrive.

    One Python process reads all 200 sockets here, while each real agent's browser reads only its own.
    With a websocket library parsing each frame and waking a reader task per socket, the last of 200
    sockets was stamped 2–4 ms after its bytes had arrived (measured beside the server's own send
    times, 2026-11-26): the bench's queue, not pagedesk's. This parses the (unmasked, server-to-client)
    frame header itself, in the callback that receives the bytes.
    """

    def __init__(self, socket_index: int, frames: Frames, transport: asyncio.Transport) -> None:
        self.index = socket_index
        self.frames = frames
        self.transport = transport
        self.buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        at = time.perf_counter()
        buffer = self.buffer
        buffer += data
        while len(buffer) >= 2:
            opcode, length, start = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    return
                length, start = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                if len(buffer) < 10:
                    return
                length, start = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < start + length:
                return
            payload = bytes(buffer[start : start + length])
            del buffer[: start + length]
            if opcode == 0x9:
                # The server's keepalive ping: a pong, masked as a client must (a zero mask keeps the bytes).
                self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + bytes(4) + payload)
            elif opcode == 0x1 and (b'"message.created"' in payload or b'"conversation.assigned"' in payload):
                self.frames.add(self.index, json.loads(payload), at)

    def connection_lost(self, exc: Exception | None) -> None:
        pass


async def wait_until(frames: Frames, found, timeout: float):
    """The first non-None value of found() within the timeout, re-checked as frames arrive."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        value = found()
        if value is not None:
            return value
        frames.changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(frames.changed.wait(), max(0.001, deadline - time.perf_counter()))
    return found()


async def wait_for(
    frames: Frames, seen: set[int], need: int, timeout: float
) -> tuple[int, float, float] | None:
    """The first message id not in `seen` that reached `need` sockets: (id, first, last) arrival."""

    def found() -> tuple[int, float, float] | None:
        for message_id, n in frames.count.items():
            if message_id not in seen and n >= need:
                return message_id, frames.first[message_id], frames.last[message_id]
        return None

    return await wait_until(frames, found, timeout)


async def wait_for_agent(
    frames: Frames, message_id: int, timeout: float
) -> tuple[float | None, float] | None:
    """For a routed message: (its message.created frame at the socket of the agent it was assigned to,
    or None if that socket never got one; that socket's conversation.assigned frame)."""
    conversation_id = frames.conversation[message_id]
    got = await wait_until(frames, lambda: frames.assigned.get(conversation_id), timeout)
    if got is None:
        return None
    socket_index, assigned_at = got
    # The message frame may come after the assigned one (it did while message.created was published
    # behind the dispatch transaction).
    at = await wait_until(frames, lambda: frames.at_socket.get((socket_index, message_id)), timeout=2)
    return at, assigned_at


async def measure_server(port: int, sessions: list[str], cookie: str, samples: int) -> dict[str, list[float]]:
    import httpx
    import websockets

    frames = Frames()
    origin = f"http://127.0.0.1:{port}"
    sockets = []

    async def connect(key: str):
        ws = await websockets.connect(
            f"ws://127.0.0.1:{port}/ws/events/",
            additional_headers={"Cookie": f"{cookie}={key}", "Origin": origin},
            max_queue=None,
            ping_interval=None,
        )
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello", hello
        return ws

    began = time.perf_counter()
    for start in range(0, len(sessions), 25):
        sockets += await asyncio.gather(*(connect(k) for k in sessions[start : start + 25]))
    print(f"  {len(sockets)} sockets connected in {time.perf_counter() - began:.1f} s", flush=True)
    await asyncio.sleep(0.5)  # whatever the connects published has arrived: the next byte starts a frame
    for index, ws in enumerate(sockets):
        ws.transport.set_protocol(FrameReader(index, frames, ws.transport))
    results: dict[str, list[float]] = {
        "routed, first socket": [],
        "routed, at the assigned agent": [],
        "routed, its assigned frame": [],
        "ringall first": [],
        "ringall last": [],
        "ack (200 OK)": [],
    }
    seen: set[int] = set()
    async with httpx.AsyncClient(base_url=origin, timeout=10) as http:
        for scenario, page_id, need in (("routed", PAGE_ROUTED, 1), ("ringall", PAGE_RINGALL, len(sockets))):
            began = time.perf_counter()
            for index in range(samples + 3):  # the first three warm the path up and are dropped
                raw, headers = webhook(page_id)
                t0 = time.perf_counter()
                response = await http.post("/webhooks/messenger", content=raw, headers=headers)
                acked = time.perf_counter()
                assert response.status_code == 200, response.text
                got = await wait_for(frames, seen, need, timeout=5)
                if got is None:
                    print(f"  {scenario}: a frame did not arrive within 5 s", flush=True)
                    continue
                message_id, first, last = got
                seen.add(message_id)
                at_agent = (
                    await wait_for_agent(frames, message_id, timeout=5) if scenario == "routed" else None
                )
                if scenario == "routed" and (at_agent is None or at_agent[0] is None):
                    print(
                        f"  routed: no message.created frame at the assigned agent ({at_agent})", flush=True
                    )
                if index >= 3:
                    results["ack (200 OK)"].append((acked - t0) * 1000)
                    if scenario == "routed":
                        results["routed, first socket"].append((first - t0) * 1000)
                        if at_agent is not None:
                            if at_agent[0] is not None:
                                results["routed, at the assigned agent"].append((at_agent[0] - t0) * 1000)
                            results["routed, its assigned frame"].append((at_agent[1] - t0) * 1000)
                    else:
                        results["ringall first"].append((first - t0) * 1000)
                        results["ringall last"].append((last - t0) * 1000)
                await asyncio.sleep(0.01)
            print(f"  {scenario}: {samples + 3} samples in {time.perf_counter() - began:.1f} s", flush=True)
    for ws in sockets:
        ws.transport.close()
    return results


async def redis_round_trip(prefix: str, samples: int) -> list[float]:
    import redis.asyncio as redis

    client = redis.from_url(REDIS_URL)
    pubsub = client.pubsub()
    channel = f"{prefix}:raw"
    await pubsub.subscribe(channel)
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        await client.publish(channel, b"x")
        while (await pubsub.get_message(timeout=1, ignore_subscribe_messages=True)) is None:
            pass
        times.append((time.perf_counter() - t0) * 1000)
    await pubsub.unsubscribe(channel)
    await pubsub.aclose()
    await client.aclose()
    return times


async def redis_cleanup(prefix: str) -> int:
    import redis.asyncio as redis

    client = redis.from_url(REDIS_URL)
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()
    return len(keys)


def run_layer(
    layer: str, agents: int, samples: int, prefix: str, layer_class: str = ""
) -> dict[str, list[float]]:
    workdir = Path(tempfile.mkdtemp(prefix="pagedesk-bench-inbound-"))
    port = free_port()
    ready = workdir / "ready.json"
    env = {
        **os.environ,
        "PAGEDESK_DATA_DIR": str(workdir),
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "PAGEDESK_SECRET_KEY": "bench-secret-key-" + "x" * 40,
        "FACEBOOK_APP_SECRET": SECRET,
        "FACEBOOK_APP_ID": "1",
        # Nothing may leave 127.0.0.1: profile look-ups hit a closed local port and fail at once.
        "FACEBOOK_GRAPH_URL": "http://127.0.0.1:9",
        "PAGEDESK_ALLOWED_HOSTS": "127.0.0.1",
        "PAGEDESK_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "pagedesk.config.settings",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("REDIS_URL", None)
    if layer == "redis":
        env["REDIS_URL"] = REDIS_URL
        env["PAGEDESK_REDIS_PREFIX"] = prefix
    server = subprocess.Popen(
        [
            PYTHON,
            __file__,
            "--serve",
            "--port",
            str(port),
            "--agents",
            str(agents),
            "--layer-class",
            layer_class,
            "--ready-file",
            str(ready),
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        began = time.monotonic()
        while not ready.exists():
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the pagedesk server did not start")
            time.sleep(0.05)
        info = json.loads(ready.read_text())
        print(f"{layer} layer {layer_class}: server ready in {time.monotonic() - began:.1f} s", flush=True)
        while True:  # uvicorn listening
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.05)
        return asyncio.run(measure_server(port, info["sessions"], info["cookie"], samples))
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(10)
        if server.poll() is None:
            server.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def line(name: str, values: list[float]) -> str:
    if not values:
        return f"  {name:<46} no samples"
    return (
        f"  {name:<46} p50 {statistics.median(values):7.2f} ms   p99 {pct(values, 99):7.2f} ms   "
        f"max {max(values):7.2f} ms   n={len(values)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", action="store_true")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--layer-class", default="")
    parser.add_argument("--ready-file", default="")
    parser.add_argument(
        "--memory-layer-class",
        default="",
        help="also measure the in-memory scenario with this channel layer class",
    )
    args = parser.parse_args()
    if args.serve:
        serve(args.port, args.agents, args.layer_class, args.ready_file)
        return

    started = time.monotonic()
    prefix = f"pagedesk-bench-inbound-{os.getpid()}"
    print(
        f"inbound → agent: {args.agents} agent sockets, {args.samples} sequential samples per scenario",
        flush=True,
    )
    runs = [("in-memory layer", "memory", ""), ("Redis pub/sub layer", "redis", "")]
    if args.memory_layer_class:
        runs.append((f"in-memory layer, {args.memory_layer_class}", "memory", args.memory_layer_class))
    report: dict[str, dict[str, list[float]]] = {}
    try:
        raw = asyncio.run(redis_round_trip(prefix, 500))
        for title, layer, layer_class in runs:
            report[title] = run_layer(layer, args.agents, args.samples, prefix, layer_class)
            if time.monotonic() - started > DEADLINE_SECONDS:
                break
        raw_after = asyncio.run(redis_round_trip(prefix, 500))
    finally:
        removed = asyncio.run(redis_cleanup(prefix))
    baseline = statistics.median(raw + raw_after)
    print(line("raw Redis PUBLISH → SUBSCRIBE", raw + raw_after))
    for title, results in report.items():
        print(f"{title} (as `pagedesk serve` ships: 0.5 s worker poll, woken on enqueue):")
        for name, values in results.items():
            label = "webhook → " + ("frame, " + name if "ack" not in name else name)
            print(line(label, values))
            if values:
                print(
                    f"  {'':<46} ratio to raw Redis round trip: {statistics.median(values) / baseline:7.1f}×"
                )
    print(
        f"targets: p50 ≤ 20 ms, p99 ≤ 100 ms; redis keys removed: {removed}; run took {time.monotonic() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
