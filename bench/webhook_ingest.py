"""Webhook ingest benchmark (issue 4, "Done when"): acks/s and latency of signed POST /webhooks/messenger.

For SQLite and PostgreSQL, in one run, against baselines measured in the same run:
- single-event POSTs, closed loop (max sustained acks/s) — vs a Django view doing one INSERT through
  the same middleware, a bare ASGI endpoint, and a raw driver INSERT+COMMIT loop;
- single-event POSTs paced at 85/s (open loop) — ack p50/p99 against the 5 ms / 25 ms targets;
- 100-event batched POSTs — events/s vs a raw batched INSERT (100 rows) + COMMIT loop;
- a 1,000-event body — ack time against the 1 s target.

Everything runs on 127.0.0.1: uvicorn (one process, as `pagedesk serve`) in a subprocess, the load
generator here (a minimal keep-alive HTTP/1.1 client on asyncio, so the client costs little). No task
worker runs: only the ack path is measured. Loops are bounded by time; each closed-loop figure is the
median of REPEATS runs. PostgreSQL gets its own database (created and dropped here).

Usage: .venv/bin/python bench/webhook_ingest.py [--only sqlite|postgres] [--quick]
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
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SECRET = "bench-app-secret"
PAGE_ID = "900000000000001"
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
CONCURRENCY = 4
REPEATS = 3
RUN_SECONDS = 1.5
PACED_RATE = 85
PACED_SECONDS = 5.0


# =====================================================================================================
# Server side (subprocess): the pagedesk ASGI app plus a bench-only URL for the one-INSERT view.
# =====================================================================================================


def insert_view(request):
    """Baseline: a Django view doing exactly one INSERT (autocommit) through the same middleware."""
    from django.http import HttpResponse

    from pagedesk.messenger.models import InboundEvent

    InboundEvent.objects.create(
        page_id="bench-insert", psid="p", kind="bench", dedup_key=uuid.uuid4().hex, payload={"raw": True}
    )
    return HttpResponse("EVENT_RECEIVED", content_type="text/plain")


def noop_view(request):
    """Floor: the same middleware stack and thread hop, no database work at all."""
    from django.http import HttpResponse

    request.read()
    return HttpResponse("EVENT_RECEIVED", content_type="text/plain")


def _bench_urlpatterns() -> list[object]:
    from django.urls import include, path
    from django.views.decorators.csrf import csrf_exempt

    return [
        path("bench/insert", csrf_exempt(insert_view)),
        path("bench/noop", csrf_exempt(noop_view)),
        path("", include("pagedesk.config.urls")),
    ]


urlpatterns: list[object] = []


def serve(port: int) -> None:
    import django
    import uvicorn

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pagedesk.config.settings")
    django.setup()
    from django.conf import settings
    from django.core.asgi import get_asgi_application

    from pagedesk.campaigns.models import Campaign
    from pagedesk.messenger.models import PageConnection

    global urlpatterns
    urlpatterns = _bench_urlpatterns()
    settings.ROOT_URLCONF = "__main__"
    campaign, _ = Campaign.objects.get_or_create(name="Bench", defaults={"page_name": "Bench"})
    PageConnection.objects.update_or_create(
        campaign=campaign, defaults={"page_id": PAGE_ID, "page_name": "Bench"}
    )
    app = get_asgi_application()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", access_log=False)


async def bare_app(scope, receive, send):
    """Baseline: the cheapest possible ASGI endpoint (reads the body, answers 200)."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"14")],
        }
    )
    await send({"type": "http.response.body", "body": b"EVENT_RECEIVED"})


def serve_bare(port: int) -> None:
    import uvicorn

    uvicorn.run(bare_app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", access_log=False)


# =====================================================================================================
# Client side: a minimal keep-alive HTTP/1.1 client and the load loops.
# =====================================================================================================


class Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        assert self.reader is not None and self.writer is not None
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        head += (
            f"Content-Length: {len(body)}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        )
        self.writer.write(head.encode() + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        fields = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
        }
        if "content-length" in fields:
            await self.reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding") == "chunked":
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        return status

    def close(self) -> None:
        if self.writer:
            self.writer.close()


def item(mid: str, ts: int, psid: str) -> dict[str, object]:
    return {
        "sender": {"id": psid},
        "recipient": {"id": PAGE_ID},
        "timestamp": ts,
        "message": {"mid": mid, "text": f"Hello, I need help with my order {mid}"},
    }


_counter = 0


def webhook_body(events: int) -> tuple[bytes, dict[str, str]]:
    global _counter
    items = []
    for _ in range(events):
        _counter += 1
        items.append(
            item(f"m_bench_{os.getpid()}_{_counter}", 1764070000000 + _counter, f"PSID{_counter % 500}")
        )
    entries = [
        {"id": PAGE_ID, "time": 1764070000000, "messaging": items[i : i + 100]} for i in range(0, events, 100)
    ]
    raw = json.dumps({"object": "page", "entry": entries}).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"X-Hub-Signature-256": signature}


Request = Callable[[], tuple[str, bytes, dict[str, str]]]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


async def closed_loop(
    port: int, make: Request, seconds: float, concurrency: int = CONCURRENCY
) -> dict[str, float]:
    """As fast as possible with `concurrency` connections for `seconds`: requests/s and latency."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        conn = Connection(port)
        await conn.open()
        try:
            while time.perf_counter() < deadline:
                path, body, headers = make()
                started = time.perf_counter()
                status = await conn.post(path, body, headers)
                latencies.append(time.perf_counter() - started)
                errors += status != 200
        finally:
            conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "rps": len(latencies) / elapsed,
        "p50": pct(latencies, 50) * 1000,
        "p99": pct(latencies, 99) * 1000,
        "n": len(latencies),
        "errors": errors,
    }


async def paced(port: int, make: Request, rate: float, seconds: float) -> dict[str, float]:
    """Open loop: start a request every 1/rate s regardless of answers (a pool of connections)."""
    latencies: list[float] = []
    errors = 0
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(16):
        conn = Connection(port)
        await conn.open()
        pool.put_nowait(conn)

    async def one(path: str, body: bytes, headers: dict[str, str], scheduled: float) -> None:
        nonlocal errors
        conn = await pool.get()
        status = await conn.post(path, body, headers)
        # Latency from the scheduled send time, so queueing behind a slow answer counts.
        latencies.append(time.perf_counter() - scheduled)
        errors += status != 200
        pool.put_nowait(conn)

    tasks = []
    start = time.perf_counter()
    total = int(rate * seconds)
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        path, body, headers = make()
        tasks.append(asyncio.create_task(one(path, body, headers, scheduled)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait().close()
    return {
        "rps": len(latencies) / elapsed,
        "p50": pct(latencies, 50) * 1000,
        "p99": pct(latencies, 99) * 1000,
        "n": len(latencies),
        "errors": errors,
    }


async def median_of(port: int, make: Request, repeats: int, seconds: float) -> dict[str, float]:
    await closed_loop(port, make, 0.3)  # warm-up: connections, pools, code paths
    runs = [await closed_loop(port, make, seconds) for _ in range(repeats)]
    runs.sort(key=lambda r: r["rps"])
    result = dict(runs[len(runs) // 2])
    result["errors"] = sum(r["errors"] for r in runs)
    return result


# --- raw driver baselines --------------------------------------------------------------------------


def raw_sqlite(path: Path, rows_per_commit: int, seconds: float) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute(
        "CREATE TABLE IF NOT EXISTS raw (id INTEGER PRIMARY KEY, page_id TEXT, dedup_key TEXT UNIQUE, payload TEXT)"
    )
    payload = json.dumps(item("m_raw", 1, "PSID"))
    rows = 0
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            "INSERT INTO raw (page_id, dedup_key, payload) VALUES (?, ?, ?)",
            [(PAGE_ID, uuid.uuid4().hex, payload) for _ in range(rows_per_commit)],
        )
        db.execute("COMMIT")
        rows += rows_per_commit
    elapsed = time.perf_counter() - started
    db.close()
    return rows / elapsed


def raw_postgres(url: str, rows_per_commit: int, seconds: float) -> float:
    import psycopg

    with psycopg.connect(url) as db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS raw (id BIGSERIAL PRIMARY KEY, page_id TEXT, dedup_key TEXT UNIQUE, payload JSONB)"
        )
        db.commit()
        payload = json.dumps(item("m_raw", 1, "PSID"))
        rows = 0
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()
        with db.cursor() as cur:
            while time.perf_counter() < deadline:
                cur.executemany(
                    "INSERT INTO raw (page_id, dedup_key, payload) VALUES (%s, %s, %s)",
                    [(PAGE_ID, uuid.uuid4().hex, payload) for _ in range(rows_per_commit)],
                )
                db.commit()
                rows += rows_per_commit
        elapsed = time.perf_counter() - started
    return rows / elapsed


def raw_median(fn: Callable[[], float], repeats: int) -> float:
    return statistics.median(fn() for _ in range(repeats))


# --- orchestration ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.1)
    raise RuntimeError("server did not start")


@contextlib.contextmanager
def server(mode: str, env: dict[str, str]):
    port = free_port()
    proc = subprocess.Popen([PYTHON, __file__, mode, "--port", str(port)], env=env, cwd=ROOT)
    try:
        wait_port(port, proc)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def single_request() -> tuple[str, bytes, dict[str, str]]:
    body, headers = webhook_body(1)
    return "/webhooks/messenger", body, headers


def batch_request() -> tuple[str, bytes, dict[str, str]]:
    body, headers = webhook_body(100)
    return "/webhooks/messenger", body, headers


def insert_request() -> tuple[str, bytes, dict[str, str]]:
    return "/bench/insert", b"{}", {}


def noop_request() -> tuple[str, bytes, dict[str, str]]:
    return "/bench/noop", b"{}", {}


def fmt(result: dict[str, float], unit: str = "acks/s") -> str:
    return f"{result['rps']:8.0f} {unit}  p50 {result['p50']:6.2f} ms  p99 {result['p99']:6.2f} ms  (n={result['n']:.0f}, errors={result['errors']:.0f})"


def run_database(name: str, database_url: str, data_dir: Path, quick: bool) -> dict[str, object]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PAGEDESK_DATA_DIR": str(data_dir),
        "FACEBOOK_APP_SECRET": SECRET,
        "PAGEDESK_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "pagedesk.config.settings",
    }
    subprocess.run(
        [PYTHON, "-m", "pagedesk", "migrate", "--no-input", "-v", "0"], env=env, cwd=ROOT, check=True
    )
    repeats = 1 if quick else REPEATS
    seconds = 0.7 if quick else RUN_SECONDS
    out: dict[str, object] = {}
    with server("serve", env) as port:
        run = asyncio.run
        out["insert_view"] = run(median_of(port, insert_request, repeats, seconds))
        out["single"] = run(median_of(port, single_request, repeats, seconds))
        out["paced"] = run(paced(port, single_request, PACED_RATE, 2.0 if quick else PACED_SECONDS))
        # One connection, one request at a time: the latency floor of each path.
        out["seq_noop"] = run(closed_loop(port, noop_request, seconds, concurrency=1))
        out["seq_insert"] = run(closed_loop(port, insert_request, seconds, concurrency=1))
        out["seq_single"] = run(closed_loop(port, single_request, seconds, concurrency=1))
        batch = run(median_of(port, batch_request, repeats, seconds))
        batch["events_per_s"] = batch["rps"] * 100
        out["batch100"] = batch
        big = []
        for _ in range(3 if quick else 5):
            body, headers = webhook_body(1000)

            async def one(body: bytes = body, headers: dict[str, str] = headers) -> tuple[float, int]:
                conn = Connection(port)
                await conn.open()
                started = time.perf_counter()
                status = await conn.post("/webhooks/messenger", body, headers)
                conn.close()
                return time.perf_counter() - started, status

            elapsed, status = run(one())
            assert status == 200, status
            big.append(elapsed * 1000)
        out["batch1000_ms"] = big
    raw_seconds = 0.7 if quick else RUN_SECONDS
    if name == "sqlite":
        raw_path = data_dir / "raw.sqlite3"
        out["raw_single"] = raw_median(lambda: raw_sqlite(raw_path, 1, raw_seconds), repeats)
        out["raw_batch"] = raw_median(lambda: raw_sqlite(raw_path, 100, raw_seconds), repeats)
    else:
        out["raw_single"] = raw_median(lambda: raw_postgres(database_url, 1, raw_seconds), repeats)
        out["raw_batch"] = raw_median(lambda: raw_postgres(database_url, 100, raw_seconds), repeats)
    return out


def report(name: str, r: dict[str, object], bare: dict[str, float]) -> None:
    single, insert, paced_r, batch = (r[k] for k in ("single", "insert_view", "paced", "batch100"))
    assert (
        isinstance(single, dict)
        and isinstance(insert, dict)
        and isinstance(paced_r, dict)
        and isinstance(batch, dict)
    )
    raw_single, raw_batch = r["raw_single"], r["raw_batch"]
    assert isinstance(raw_single, float) and isinstance(raw_batch, float)
    big = r["batch1000_ms"]
    assert isinstance(big, list)
    print(f"\n=== {name} (concurrency {CONCURRENCY}, median of {REPEATS} runs)")
    print(f"  webhook, 1 event/POST      {fmt(single)}")
    print(f"  baseline Django 1 INSERT   {fmt(insert)}")
    print(f"  baseline bare ASGI         {fmt(bare)}")
    print(f"  baseline raw INSERT+COMMIT {raw_single:8.0f} rows/s (1 connection)")
    ratio = single["rps"] / insert["rps"]
    print(
        f"  ratio webhook / Django INSERT view = {ratio:.2f} (target >= 0.60: {'OK' if ratio >= 0.6 else 'MISSED'});"
        f" / bare ASGI = {single['rps'] / bare['rps']:.2f}; / raw INSERT+COMMIT = {single['rps'] / raw_single:.2f}"
    )
    ok = paced_r["p50"] <= 5 and paced_r["p99"] <= 25
    print(
        f"  webhook paced at {PACED_RATE}/s     {fmt(paced_r)}  (target p50 <= 5, p99 <= 25: {'OK' if ok else 'MISSED'})"
    )
    seq = {key: r[key] for key in ("seq_noop", "seq_insert", "seq_single")}
    noop, one_insert, one_webhook = (seq[key] for key in ("seq_noop", "seq_insert", "seq_single"))
    assert isinstance(noop, dict) and isinstance(one_insert, dict) and isinstance(one_webhook, dict)
    print(
        "  one request at a time, p50/p99 ms: "
        f"Django view without DB {noop['p50']:.2f}/{noop['p99']:.2f} (the stack's floor here), "
        f"Django 1 INSERT {one_insert['p50']:.2f}/{one_insert['p99']:.2f}, "
        f"webhook {one_webhook['p50']:.2f}/{one_webhook['p99']:.2f}"
    )
    print(
        f"  webhook, 100 events/POST   {batch['events_per_s']:8.0f} events/s  p50 {batch['p50']:6.2f} ms  p99 {batch['p99']:6.2f} ms per POST"
    )
    print(f"  baseline raw 100-row INSERT+COMMIT {raw_batch:8.0f} rows/s")
    bratio = batch["events_per_s"] / raw_batch
    target = " (target >= 0.40: " + ("OK" if bratio >= 0.4 else "MISSED") + ")" if name == "postgres" else ""
    print(f"  ratio batched webhook / raw batched INSERT = {bratio:.2f}{target}")
    worst = max(big)
    print(
        f"  1,000-event body acked in   median {statistics.median(big):.0f} ms, worst {worst:.0f} ms"
        f" (target <= 1000 ms: {'OK' if worst <= 1000 else 'MISSED'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "serve", "bare"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--quick", action="store_true", help="shorter runs (smoke test)")
    args = parser.parse_args()
    if args.mode == "serve":
        serve(args.port)
        return
    if args.mode == "bare":
        serve_bare(args.port)
        return

    started = time.perf_counter()
    (ROOT / "var").mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-webhook-", dir=ROOT / "var"))
    results: dict[str, dict[str, object]] = {}
    try:
        with server("bare", dict(os.environ)) as port:
            bare = asyncio.run(
                median_of(
                    port, single_request, 1 if args.quick else REPEATS, 0.7 if args.quick else RUN_SECONDS
                )
            )
        if args.only in (None, "sqlite"):
            data = work / "sqlite"
            data.mkdir()
            results["sqlite"] = run_database(
                "sqlite", f"sqlite:///{data / 'bench.sqlite3'}", data, args.quick
            )
        if args.only in (None, "postgres"):
            import psycopg

            name = f"pagedesk_bench_{os.getpid()}"
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f"CREATE DATABASE {name}")
            try:
                data = work / "postgres"
                data.mkdir()
                results["postgres"] = run_database(
                    "postgres", f"postgres://postgres@127.0.0.1:5432/{name}", data, args.quick
                )
            finally:
                with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\nWebhook ingest benchmark (signed POST /webhooks/messenger → stored + enqueued → 200)")
    for name, result in results.items():
        report(name, result, bare)
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
