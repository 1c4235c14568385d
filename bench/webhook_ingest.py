"""Webhook ingest benchmark (issue 4, "Done when"): acks/s and latency of signed POST /webhooks/messenger.

For SQLite and PostgreSQL, in one run, against baselines measured in the same run:
- single-event POSTs, closed loop (max sustained acks/s) — vs a Django view doing one INSERT through
  the full middleware stack, a bare ASGI endpoint, and a raw driver INSERT+COMMIT loop;
- single-event POSTs paced at 85/s (open loop) — ack p50/p99 against the 5 ms / 25 ms targets, beside
  the raw driver doing one INSERT+COMMIT at the same pace (the database's own share of that latency);
- 100-event batched POSTs — events/s vs a raw batched INSERT (100 rows) + COMMIT loop, app and raw runs
  alternating so load from elsewhere hits both sides of the ratio;
- a 1,000-event body — ack time against the 1 s target.

The raw loops do the same logical work as the ack: the same rows (all columns, the item's JSON, the
"mid:" dedup keys) into the same table and indexes, ON CONFLICT DO NOTHING, one COMMIT per batch; on
PostgreSQL on 1 and on CONCURRENCY connections, the better of the two being the batch target's baseline.
The earlier narrow 3-column table is still printed for reference.

Everything runs on 127.0.0.1: uvicorn serving `pagedesk.config.asgi.application` (one process, as
`pagedesk serve`; the webhook path on its lean ASGI door) in a subprocess, the load generator here (a
minimal keep-alive HTTP/1.1 client on asyncio, so the client costs little). No task worker runs: only
the ack path is measured. Loops are bounded by time; each closed-loop figure is the median of REPEATS
runs. PostgreSQL gets its own database (created and dropped here).

Usage: .venv/bin/python bench/webhook_ingest.py [--only sqlite|postgres] [--quick]

Findings (2026-11-25, 2 vCPU shared with five other sessions; load average with each run)
- Before (Django view behind the whole middleware stack, load 0.2 → 3.2 during the run): paced at 85/s
  p50 7.45 ms SQLite, 10.84 ms PostgreSQL (both MISSED); one request at a time the webhook took
  8.2 / 6.8 ms where a Django view with no database took 3.3 / 1.8 ms. Batched PostgreSQL 5,679
  events/s = 0.24 of the old narrow-table raw loop.
- Where the time went: the middleware stack and Django's per-request thread (the no-DB view's
  3.3 ms floor); reopening the SQLite connection per request (CONN_MAX_AGE = 0: ≈1 ms); the ORM query
  for the known pages (0.5 ms to compile; 0.03 ms as SQL); on PostgreSQL, quoting a 1,100-parameter
  VALUES list client-side (2.0 ms CPU per 100 events, never prepared). Not the group commit: on a quiet
  path it costs nothing measurable (store p50 0.66 ms with it, 0.65 ms without, SQLite, load 4.0). The
  fsync is the floor: SQLite COMMIT p50 0.25–0.75 ms, PostgreSQL 1–3.3 ms per commit depending on what
  else the disk does. The task enqueue (the second INSERT, plus the worker wake-up's NOTIFY on
  PostgreSQL) is ≈0.25 ms on SQLite and ≈1 ms CPU per 100-stream task on PostgreSQL.
- After (lean ASGI path with a fixed thread pool, SQL page lookup, unnest() of binary arrays on
  PostgreSQL), full run at load 4.0 → 4.9: SQLite paced p50 4.76 ms / p99 22.8 ms (OK), one at a time
  0.93 ms; 940 acks/s closed loop = 6.2 × the Django INSERT view; 100-event batches 12,137 events/s =
  0.91 of the raw loop; 1,000 events acked in 79 ms (worst 102). PostgreSQL paced p50 7.64 ms / p99 44.7
  (MISSED), with the raw INSERT+COMMIT paced beside it at p50 1.93 ms; one at a time 2.32 ms; 400
  acks/s = 1.4 × the Django INSERT view; batches 15,879 events/s = 0.64 of the best raw loop (24,782
  rows/s on 4 connections; 0.75 of the narrow table) (OK); 1,000 events in 52 ms. Quick runs at load
  3.0–5.9 put the PostgreSQL paced p50 at 4.24, 5.51 and 6.81 ms, the app's share (webhook minus raw
  paced) at 1.6–3.1 ms: the PostgreSQL latency target holds only while the database's own commit stays
  under ≈3 ms, which a shared disk does not guarantee.
- Inside the PostgreSQL ack at 85/s (server instrumented, load 3.7–4.1): lean app p50 3.7–5.4 ms, of
  which the database thread 3.3–4.8: known-pages SELECT 0.45–0.6 (the request's first query, so the
  pool checkout too), task enqueue 0.65–1.0 (its INSERT plus the worker wake-up's NOTIFY: two round
  trips), BEGIN + events INSERT ≈1, COMMIT ≈0.6; the hops to and from the thread 0.14 + 0.08. Each round
  trip costs 0.3–0.5 ms when the processes were idle (two wake-ups on a busy CPU). psycopg pipeline
  mode around the transaction was tried: the enqueue no longer waits, but the COMMIT then waits for all
  of it; no consistent gain over four alternating runs, so not kept.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
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

    from pagedesk.campaigns.models import Campaign
    from pagedesk.messenger.models import PageConnection

    global urlpatterns
    urlpatterns = _bench_urlpatterns()
    settings.ROOT_URLCONF = "__main__"
    campaign, _ = Campaign.objects.get_or_create(name="Bench", defaults={"page_name": "Bench"})
    PageConnection.objects.update_or_create(
        campaign=campaign, defaults={"page_id": PAGE_ID, "page_name": "Bench"}
    )
    # The application `pagedesk serve` runs (webhook path on its lean ASGI door, the rest through Django).
    from pagedesk.config.asgi import application

    uvicorn.run(
        application, host="127.0.0.1", port=port, log_level="warning", lifespan="off", access_log=False
    )


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
# The same logical work as the app's ack, done by the bare driver: the rows the app stores for these
# events (all 11 columns, the item's JSON as payload, "mid:<mid>" dedup keys), into the same table with
# the same indexes, skipping duplicates the same way, one COMMIT per batch. Only the HTTP request, the
# signature, the parse and the task row are missing: those are the app's overhead being measured.
# The narrow-table loop (3 columns, one index) is the earlier, table-independent reference.

INBOUND_TABLE = "messenger_inboundevent"
INBOUND_COLUMNS = "page_id, psid, kind, dedup_key, payload, event_time, received_at, status, error, processed_at, known_page"
_raw_counter = 0


def raw_rows(count: int, received_at: object) -> list[tuple[object, ...]]:
    """`count` fresh events as the app would store them (unique mids, 500 customers)."""
    global _raw_counter
    rows = []
    for _ in range(count):
        _raw_counter += 1
        mid = f"m_raw_{os.getpid()}_{_raw_counter}"
        psid = f"PSID{_raw_counter % 500}"
        stamp = 1764070000000 + _raw_counter
        payload = json.dumps(item(mid, stamp, psid))
        rows.append(
            (PAGE_ID, psid, "message", f"mid:{mid}", payload, stamp, received_at, "pending", "", None, True)
        )
    return rows


def raw_sqlite(path: Path, rows_per_commit: int, seconds: float) -> float:
    """One connection (SQLite has one writer), the app's pragmas, BEGIN IMMEDIATE … COMMIT per batch."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    sql = (
        f"INSERT INTO {INBOUND_TABLE} ({INBOUND_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (page_id, dedup_key) DO NOTHING"
    )
    rows = 0
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        # Django's SQLite text form of a UTC datetime.
        now = str(datetime.datetime.now(datetime.UTC).replace(tzinfo=None))
        batch = raw_rows(rows_per_commit, now)
        db.execute("BEGIN IMMEDIATE")
        db.executemany(sql, batch)
        db.execute("COMMIT")
        rows += rows_per_commit
    elapsed = time.perf_counter() - started
    db.close()
    return rows / elapsed


def raw_postgres(url: str, rows_per_commit: int, seconds: float, connections: int = 1) -> float:
    """psycopg's own batching (executemany pipelines the rows in one round trip), COMMIT per batch, on
    `connections` connections at once (threads; the driver releases the GIL while it waits)."""
    import threading

    import psycopg

    sql = (
        f"INSERT INTO {INBOUND_TABLE} ({INBOUND_COLUMNS})"
        " VALUES (%s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (page_id, dedup_key) DO NOTHING"
    )
    counts = [0] * connections
    lock = threading.Lock()
    barrier = threading.Barrier(connections + 1)
    deadline = [0.0]

    def loop(index: int) -> None:
        with psycopg.connect(url) as db, db.cursor() as cur:
            barrier.wait()
            while time.perf_counter() < deadline[0]:
                with lock:  # raw_rows keeps a global counter
                    batch = raw_rows(rows_per_commit, datetime.datetime.now(datetime.UTC))
                cur.executemany(sql, batch)
                db.commit()
                counts[index] += rows_per_commit

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + seconds
    started = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - started)


def raw_paced(database_url: str, data_dir: Path, rate: float, seconds: float) -> dict[str, float]:
    """One event's INSERT+COMMIT started every 1/rate s on one connection: the database's own share of
    the paced ack latency (commit and fsync, waking idle processes), measured right beside it."""
    latencies: list[float] = []
    if database_url.startswith("sqlite"):
        db = sqlite3.connect(data_dir / "bench.sqlite3", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        placeholders = ", ".join(["?"] * 11)

        def one() -> None:
            row = raw_rows(1, str(datetime.datetime.now(datetime.UTC).replace(tzinfo=None)))[0]
            db.execute("BEGIN IMMEDIATE")
            db.execute(f"INSERT INTO {INBOUND_TABLE} ({INBOUND_COLUMNS}) VALUES ({placeholders})", row)
            db.execute("COMMIT")

        close = db.close
    else:
        import psycopg

        pg = psycopg.connect(database_url)
        placeholders = ", ".join(["%s"] * 11)

        def one() -> None:
            row = raw_rows(1, datetime.datetime.now(datetime.UTC))[0]
            pg.execute(f"INSERT INTO {INBOUND_TABLE} ({INBOUND_COLUMNS}) VALUES ({placeholders})", row)
            pg.commit()

        close = pg.close
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        one()
        latencies.append(time.perf_counter() - scheduled)
    close()
    return {"p50": pct(latencies, 50) * 1000, "p99": pct(latencies, 99) * 1000, "n": len(latencies)}


def raw_narrow(database_url: str, data_dir: Path, rows_per_commit: int, seconds: float) -> float:
    """The earlier baseline: a 3-column table with one unique index (not the app's table)."""
    payload = json.dumps(item("m_raw", 1, "PSID"))
    rows = 0
    if database_url.startswith("sqlite"):
        db = sqlite3.connect(data_dir / "raw.sqlite3", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS raw (id INTEGER PRIMARY KEY, page_id TEXT, dedup_key TEXT UNIQUE, payload TEXT)"
        )
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
        db.close()
        return rows / (time.perf_counter() - started)
    import psycopg

    with psycopg.connect(database_url) as pg:
        pg.execute(
            "CREATE TABLE IF NOT EXISTS raw (id BIGSERIAL PRIMARY KEY, page_id TEXT, dedup_key TEXT UNIQUE, payload JSONB)"
        )
        pg.commit()
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()
        with pg.cursor() as cur:
            while time.perf_counter() < deadline:
                cur.executemany(
                    "INSERT INTO raw (page_id, dedup_key, payload) VALUES (%s, %s, %s)",
                    [(PAGE_ID, uuid.uuid4().hex, payload) for _ in range(rows_per_commit)],
                )
                pg.commit()
                rows += rows_per_commit
        return rows / (time.perf_counter() - started)


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
        paced_seconds = 2.0 if quick else PACED_SECONDS
        out["paced"] = run(paced(port, single_request, PACED_RATE, paced_seconds))
        out["raw_paced"] = raw_paced(database_url, data_dir, PACED_RATE, paced_seconds)
        # One connection, one request at a time: the latency floor of each path.
        out["seq_noop"] = run(closed_loop(port, noop_request, seconds, concurrency=1))
        out["seq_insert"] = run(closed_loop(port, insert_request, seconds, concurrency=1))
        out["seq_single"] = run(closed_loop(port, single_request, seconds, concurrency=1))
        # Batches: app runs and raw loops alternate, so a burst of load from elsewhere on the machine
        # hits both sides of the ratio rather than one.
        run(closed_loop(port, batch_request, 0.3))
        batch_runs, raw_one, raw_many = [], [], []
        for _ in range(repeats):
            batch_runs.append(run(closed_loop(port, batch_request, seconds)))
            if name == "sqlite":
                raw_one.append(raw_sqlite(data_dir / "bench.sqlite3", 100, seconds))
            else:
                raw_one.append(raw_postgres(database_url, 100, seconds))
                raw_many.append(raw_postgres(database_url, 100, seconds, connections=CONCURRENCY))
        batch_runs.sort(key=lambda r: r["rps"])
        batch = dict(batch_runs[len(batch_runs) // 2])
        batch["errors"] = sum(r["errors"] for r in batch_runs)
        batch["events_per_s"] = batch["rps"] * 100
        out["batch100"] = batch
        out["raw_batch"] = statistics.median(raw_one)
        # SQLite has one writer: more connections only queue behind it.
        out["raw_batch_conc"] = statistics.median(raw_many) if raw_many else out["raw_batch"]
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
        db_path = data_dir / "bench.sqlite3"
        out["raw_single"] = raw_median(lambda: raw_sqlite(db_path, 1, raw_seconds), repeats)
    else:
        out["raw_single"] = raw_median(lambda: raw_postgres(database_url, 1, raw_seconds), repeats)
    out["raw_narrow_single"] = raw_median(lambda: raw_narrow(database_url, data_dir, 1, raw_seconds), repeats)
    out["raw_narrow_batch"] = raw_median(
        lambda: raw_narrow(database_url, data_dir, 100, raw_seconds), repeats
    )
    return out


def report(name: str, r: dict[str, object], bare: dict[str, float]) -> None:
    single, insert, paced_r, batch = (r[k] for k in ("single", "insert_view", "paced", "batch100"))
    assert (
        isinstance(single, dict)
        and isinstance(insert, dict)
        and isinstance(paced_r, dict)
        and isinstance(batch, dict)
    )
    raws = {
        key: r[key]
        for key in ("raw_single", "raw_batch", "raw_batch_conc", "raw_narrow_single", "raw_narrow_batch")
    }
    assert all(isinstance(value, float) for value in raws.values())
    raw_single, raw_batch, raw_batch_conc, narrow_single, narrow_batch = (float(v) for v in raws.values())  # type: ignore[arg-type]
    big = r["batch1000_ms"]
    assert isinstance(big, list)
    print(f"\n=== {name} (concurrency {CONCURRENCY}, median of {REPEATS} runs)")
    print(f"  webhook, 1 event/POST      {fmt(single)}")
    print(f"  baseline Django 1 INSERT   {fmt(insert)}")
    print(f"  baseline bare ASGI         {fmt(bare)}")
    print(
        f"  baseline raw INSERT+COMMIT {raw_single:8.0f} rows/s = {1000 / raw_single:.2f} ms per commit"
        f" (1 connection, same rows and table; narrow 3-column table: {narrow_single:.0f} rows/s)"
    )
    ratio = single["rps"] / insert["rps"]
    print(
        f"  ratio webhook / Django INSERT view = {ratio:.2f} (target >= 0.60: {'OK' if ratio >= 0.6 else 'MISSED'});"
        f" / bare ASGI = {single['rps'] / bare['rps']:.2f}; / raw INSERT+COMMIT = {single['rps'] / raw_single:.2f}"
    )
    ok = paced_r["p50"] <= 5 and paced_r["p99"] <= 25
    print(
        f"  webhook paced at {PACED_RATE}/s     {fmt(paced_r)}  (target p50 <= 5, p99 <= 25: {'OK' if ok else 'MISSED'})"
    )
    raw_p = r["raw_paced"]
    assert isinstance(raw_p, dict)
    print(
        f"  baseline raw INSERT+COMMIT paced at {PACED_RATE}/s: p50 {raw_p['p50']:.2f} ms  p99 {raw_p['p99']:.2f} ms"
        f"  (the database's share; webhook p50 minus this = {paced_r['p50'] - raw_p['p50']:.2f} ms)"
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
    conc = f", {raw_batch_conc:.0f} rows/s on {CONCURRENCY} connections" if name == "postgres" else ""
    print(
        f"  baseline raw 100-row INSERT+COMMIT {raw_batch:8.0f} rows/s on 1 connection{conc}"
        f" (same rows and table); narrow 3-column table {narrow_batch:.0f} rows/s"
    )
    # The target is judged against the better of the raw loops on the app's own table.
    best = max(raw_batch, raw_batch_conc)
    bratio = batch["events_per_s"] / best
    target = " (target >= 0.40: " + ("OK" if bratio >= 0.4 else "MISSED") + ")" if name == "postgres" else ""
    print(
        f"  ratio batched webhook / best raw batched INSERT = {bratio:.2f}{target};"
        f" / raw narrow table = {batch['events_per_s'] / narrow_batch:.2f}"
    )
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
