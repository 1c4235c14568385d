"""Outbound webhooks (issue 15 §2, "Done when"): delivery throughput, and the Messenger path with 5
endpoints registered.

1. Throughput: N deliveries (message.status_changed events of 20 conversations, so 20 ordering
   keys) are written to the outbox of a real pagedesk database (SQLite, as embedded mode ships) and
   delivered by the webhook worker threads as `pagedesk serve` runs them (settings.ISOLATED_QUEUES),
   to a local receiver (uvicorn, a bare ASGI app answering 200) → deliveries/s from the first
   drain request to the last row recorded delivered (building the bodies' data after commit included).
   Baseline, same run, same receiver: a raw loop
   of httpx POSTs of the same bodies over one keep-alive client. Target: ≥ 50 % of the raw loop.
2. Inbound → agent (bench/inbound_to_agent.py's server and measurement): the routed p50 at the
   assigned agent's socket with no endpoint, then with 5 endpoints subscribed to every event (3 at the
   fast receiver, one slow: it answers after 3 s; one down: a closed port). Target: p50 within ± 2 ms.
   The two runs alternate (none, five, none, five) and the medians of each kind are compared.

Everything binds to 127.0.0.1. Usage: .venv/bin/python bench/webhook_delivery.py [--deliveries 2000]
[--agents 50] [--samples 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import inbound_to_agent as inbound

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SLOW_SECONDS = 3.0


# --- the receiver: a bare ASGI app under uvicorn, in its own process ----------------------------------


def receive(port: int, slow: float) -> None:
    import uvicorn

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        if slow:
            await asyncio.sleep(slow)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


@contextlib.contextmanager
def receiver(slow: float = 0.0):
    port = inbound.free_port()
    args = [PYTHON, __file__, "--receive", "--port", str(port), "--slow", str(slow)]
    with inbound.listening(args, port=port, what="the receiver"):
        yield f"http://127.0.0.1:{port}/hook"


def environment(workdir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "PAGEDESK_DATA_DIR": str(workdir),
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "PAGEDESK_SECRET_KEY": "bench-secret-key-" + "x" * 40,
        "FACEBOOK_APP_SECRET": inbound.SECRET,
        "FACEBOOK_APP_ID": "1",
        "FACEBOOK_GRAPH_URL": "http://127.0.0.1:9",
        "PAGEDESK_ALLOWED_HOSTS": "127.0.0.1",
        "PAGEDESK_LOG_LEVEL": "WARNING",
        "PAGEDESK_WEBHOOKS_ALLOW_PRIVATE": "true",
        "DJANGO_SETTINGS_MODULE": "pagedesk.config.settings",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("REDIS_URL", None)
    return env


# --- 1. throughput (subprocess: a fresh database) -----------------------------------------------------


def throughput(url: str, deliveries: int, result_file: str) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    call_command("migrate", verbosity=0)
    from pagedesk.accounts.models import User
    from pagedesk.campaigns import schedule
    from pagedesk.campaigns.services import campaign_create
    from pagedesk.conversations.models import Contact, Conversation, Message
    from pagedesk.core.worker import EmbeddedWorkers
    from pagedesk.platform import delivery as delivery_module
    from pagedesk.platform.models import DeliveryState, WebhookDelivery
    from pagedesk.platform.services import EndpointSpec, webhook_endpoint_create
    from pagedesk.platform.subscriptions import cache_clear
    from pagedesk.realtime.events import MessageStatusChanged
    from pagedesk.realtime.publish import publish

    admin = User.objects.create(username="ada", role="admin")
    campaign = campaign_create(
        fields={"name": "Bench", "page_name": "Bench"},
        ranges=[schedule.Range(schedule.ALL_WEEKDAYS, 0, schedule.MINUTES_PER_DAY)],
    )
    endpoint, secret = webhook_endpoint_create(
        spec=EndpointSpec(url=url, event_types=["message.status_changed"], campaign_ids=[campaign.pk]),
        created_by=admin,
    )
    messages = []
    for index in range(20):
        contact = Contact.objects.create(page_id="p", psid=f"psid-{index}")
        conversation = Conversation.objects.create(campaign=campaign, contact=contact, state="queued")
        messages.append(
            Message.objects.create(
                conversation=conversation,
                direction="out",
                sender_type="agent",
                author=admin,
                status="sent",
                text="Your order ships today.",
                page_id="p",
            )
        )
    cache_clear()
    # The outbox first, with no worker running: what is timed is delivery alone.
    for start in range(0, deliveries, 100):
        with transaction.atomic():
            for index in range(start, min(deliveries, start + 100)):
                message = messages[index % len(messages)]
                publish(
                    MessageStatusChanged(
                        message_id=message.pk, conversation_id=message.conversation_id, status="sent"
                    ),
                    to=[],
                )
    rows = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert rows.count() == deliveries, rows.count()
    workers = EmbeddedWorkers(0, main=False)  # the webhook threads alone, as `serve` runs them
    began = time.perf_counter()
    workers.start(listen=False)
    from pagedesk.platform.tasks import drain_ensure

    drain_ensure(endpoint_id=endpoint.pk)
    while rows.filter(state=DeliveryState.DELIVERED).count() < deliveries:
        if time.perf_counter() - began > 120:
            break
        time.sleep(0.02)
    elapsed = time.perf_counter() - began
    delivered = rows.filter(state=DeliveryState.DELIVERED).count()
    workers.stop()
    # After delivery: the bodies' data is built after commit, by the drains timed above.
    bodies = [delivery_module.body_of(d) for d in rows.select_related("event")[:500]]
    Path(result_file).write_text(
        json.dumps(
            {
                "delivered": delivered,
                "seconds": elapsed,
                "bodies": [b.decode() for b in bodies],
                "secret": secret,
            }
        )
    )


def raw_loop(url: str, bodies: list[bytes], count: int) -> float:
    import httpx

    with httpx.Client(timeout=10) as client:
        began = time.perf_counter()
        for index in range(count):
            body = bodies[index % len(bodies)]
            response = client.post(url, content=body, headers={"Content-Type": "application/json"})
            assert response.status_code == 200
        return count / (time.perf_counter() - began)


def run_throughput(url: str, deliveries: int) -> tuple[float, float]:
    workdir = Path(tempfile.mkdtemp(prefix="pagedesk-bench-hooks-"))
    result = workdir / "result.json"
    try:
        subprocess.run(
            [
                PYTHON,
                __file__,
                "--throughput",
                "--url",
                url,
                "--deliveries",
                str(deliveries),
                "--result",
                str(result),
            ],
            cwd=ROOT,
            env=environment(workdir),
            check=True,
        )
        data = json.loads(result.read_text())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    app = data["delivered"] / data["seconds"]
    raw = raw_loop(url, [b.encode() for b in data["bodies"]], deliveries)
    if data["delivered"] < deliveries:
        print(f"  only {data['delivered']} of {deliveries} delivered in {data['seconds']:.1f} s")
    return app, raw


# --- 2. inbound → agent with 5 endpoints (inbound_to_agent's server, plus endpoints) -----------------


def serve_with_endpoints(port: int, agents: int, ready_file: str, urls: list[str]) -> None:
    def register() -> None:
        from pagedesk.accounts.models import User
        from pagedesk.platform.models import EVENT_TYPES
        from pagedesk.platform.services import EndpointSpec, webhook_endpoint_create

        admin = User.objects.create(username="bench-admin", role="admin")
        for url in urls:
            webhook_endpoint_create(
                spec=EndpointSpec(
                    url=url, event_types=list(EVENT_TYPES), campaign_ids=[], all_campaigns=True
                ),
                created_by=admin,
            )

    inbound.serve(port, agents, "", ready_file, before_ready=register if urls else None)


def run_inbound(agents: int, samples: int, urls: list[str]) -> list[float]:
    workdir = Path(tempfile.mkdtemp(prefix="pagedesk-bench-hooks-inbound-"))
    port = inbound.free_port()
    ready = workdir / "ready.json"
    server = subprocess.Popen(
        [
            PYTHON,
            __file__,
            "--serve",
            "--port",
            str(port),
            "--agents",
            str(agents),
            "--ready-file",
            str(ready),
            "--urls",
            json.dumps(urls),
        ],
        cwd=ROOT,
        env=environment(workdir),
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the pagedesk server did not start")
            time.sleep(0.05)
        info = json.loads(ready.read_text())
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.05)
        results = asyncio.run(inbound.measure_server(port, info["sessions"], info["cookie"], samples))
        return results["routed, at the assigned agent"]
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(10)
        if server.poll() is None:
            server.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--receive", action="store_true")
    parser.add_argument("--slow", type=float, default=0.0)
    parser.add_argument("--throughput", action="store_true")
    parser.add_argument("--serve", action="store_true")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--url", default="")
    parser.add_argument("--urls", default="[]")
    parser.add_argument("--result", default="")
    parser.add_argument("--ready-file", default="")
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--inbound-only", action="store_true", help="skip the throughput part")
    args = parser.parse_args()
    if args.receive:
        receive(args.port, args.slow)
        return
    if args.throughput:
        throughput(args.url, args.deliveries, args.result)
        return
    if args.serve:
        serve_with_endpoints(args.port, args.agents, args.ready_file, json.loads(args.urls))
        return

    started = time.monotonic()
    print(
        f"webhook delivery: {args.deliveries} deliveries; inbound → agent with {args.agents} agents",
        flush=True,
    )
    with receiver() as fast, receiver(slow=SLOW_SECONDS) as slow:
        if not args.inbound_only:
            app, raw = run_throughput(fast, args.deliveries)
            print(f"  deliveries/s (webhook worker threads, SQLite)   {app:8.0f}")
            print(f"  raw httpx POST loop, same receiver              {raw:8.0f}")
            print(f"  ratio {app / raw:6.2f}   target ≥ 0.50")
        down = f"http://127.0.0.1:{inbound.free_port()}/hook"  # nothing listens there
        five = [fast, fast, fast, slow, down]
        none_runs: list[float] = []
        five_runs: list[float] = []
        for round_ in range(args.rounds):
            none_runs += run_inbound(args.agents, args.samples, [])
            five_runs += run_inbound(args.agents, args.samples, five)
            print(f"  inbound round {round_ + 1} done ({time.monotonic() - started:.0f} s)", flush=True)
    if not none_runs:
        return
    print(inbound.line("inbound → agent, no endpoint", none_runs))
    print(inbound.line("inbound → agent, 5 endpoints (1 slow, 1 down)", five_runs))
    difference = statistics.median(five_runs) - statistics.median(none_runs)
    print(
        f"  p50 difference {difference:+.2f} ms   target within ± 2 ms; run took {time.monotonic() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
