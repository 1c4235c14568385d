"""Shared set-up for bench/search.py and bench/board.py: a throw-away database (SQLite file or a fresh
PostgreSQL database) filled with generated traffic by tests/fixtures/traffic.py, and a timing helper
that runs the same SQL through the raw driver.

Each engine runs in its own subprocess (Django reads DATABASE_URL once, at start-up).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
DAYS = 20
FIRST_DAY = dt.date(2026, 3, 1)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@contextlib.contextmanager
def database(engine: str, keep: str = "") -> Iterator[dict[str, str]]:
    """Environment for a child process using a fresh database, dropped afterwards; or, with `keep`, a
    named one (PostgreSQL database / SQLite file under the temp dir) that is built once and kept, so
    iterating on a query does not rebuild 1 M messages each run. Drop it yourself when done."""
    if keep:
        data_dir = str(Path(tempfile.gettempdir()) / f"pagedesk-bench-{keep}")
        os.makedirs(data_dir, exist_ok=True)
        env = {**os.environ, "PAGEDESK_DATA_DIR": data_dir, "PAGEDESK_LOG_LEVEL": "WARNING"}
        if engine == "postgres":
            import psycopg

            with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
                if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [keep]).fetchone():
                    admin.execute(f'CREATE DATABASE "{keep}"')
            env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{keep}"
        else:
            env["DATABASE_URL"] = f"sqlite:///{data_dir}/bench.sqlite3"
        yield env
        return
    data_dir = tempfile.mkdtemp(prefix="pagedesk-bench-")
    env = {**os.environ, "PAGEDESK_DATA_DIR": data_dir, "PAGEDESK_LOG_LEVEL": "WARNING"}
    name = ""
    if engine == "postgres":
        import psycopg

        name = f"pagedesk_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{data_dir}/bench.sqlite3"
    try:
        yield env
    finally:
        if name:
            import psycopg

            with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        subprocess.run(["rm", "-rf", data_dir], check=False)


def run_child(script: Path, engine: str, args: list[str], keep: str = "") -> int:
    with database(engine, keep) as env:
        return subprocess.call([sys.executable, str(script), "--child", engine, *args], env=env, cwd=ROOT)


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pagedesk.config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def build(target_messages: int) -> dict[str, object]:
    """Two campaigns, four agents, DAYS days of traffic until about `target_messages` messages exist.

    Older days' still-open conversations are settled (a real floor does not leave yesterday's customers
    queued), so "now" — the last day's evening — has a live queue of realistic size.
    """
    from django.db.models import F

    from pagedesk.accounts.services import user_create
    from pagedesk.campaigns import schedule
    from pagedesk.campaigns.services import (
        MemberSpec,
        campaign_create,
        campaign_set_supervisors,
        membership_set,
    )
    from pagedesk.conversations.models import Conversation, ConversationState, Message
    from tests.fixtures.traffic import build_traffic

    last_day = FIRST_DAY + dt.timedelta(days=DAYS - 1)
    if Message.objects.exists():  # a kept database (--keep): already built
        from pagedesk.accounts.models import User
        from pagedesk.campaigns.models import Campaign

        return {
            "admin": User.objects.get(username="ada"),
            "sam": User.objects.get(username="sam"),
            "campaigns": list(Campaign.objects.order_by("pk")),
            "messages": Message.objects.count(),
            "conversations": Conversation.objects.count(),
            "build_seconds": 0.0,
            "last_day": last_day,
        }
    admin = user_create(username="ada", role="admin", password=None)
    sam = user_create(username="sam", role="supervisor", password=None)
    agents = [user_create(username=f"agent{i}", role="agent", password=None) for i in range(8)]
    campaigns = []
    for index, tz in enumerate(["Europe/Madrid", "America/New_York"]):
        campaign = campaign_create(
            fields={"name": f"Bench {index}", "page_name": f"Bench {index}", "timezone": tz},
            ranges=[schedule.Range(schedule.ALL_WEEKDAYS, 0, schedule.MINUTES_PER_DAY)],
        )
        members = agents[index * 4 : index * 4 + 4]
        membership_set(campaign=campaign, members=[MemberSpec(agent_id=a.pk) for a in members])
        campaign_set_supervisors(campaign=campaign, supervisor_ids=[sam.pk])
        campaigns.append((campaign, members))
    messages_per_conversation = 10
    # Measured mix ≈ 7 messages per conversation at messages_per_conversation=10.
    per_day = max(20, round(target_messages / 7.0 / DAYS / len(campaigns)))
    started = time.perf_counter()
    for offset in range(DAYS):
        day = FIRST_DAY + dt.timedelta(days=offset)
        for campaign, members in campaigns:
            now = dt.datetime.combine(day, dt.time(20), tzinfo=campaign.tzinfo).astimezone(dt.UTC)
            build_traffic(
                campaign=campaign,
                agents=members,
                day=day,
                seed=offset * 10 + campaign.pk,
                conversations=per_day,
                messages_per_conversation=messages_per_conversation,
                now=now,
            )
        if day < last_day:
            cutoff = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
            Conversation.objects.filter(state=ConversationState.QUEUED, queued_at__lt=cutoff).update(
                state=ConversationState.ABANDONED, abandoned_at=F("queued_at") + dt.timedelta(seconds=700)
            )
            Conversation.objects.filter(state=ConversationState.ASSIGNED, assigned_at__lt=cutoff).update(
                state=ConversationState.CLOSED, closed_at=F("assigned_at") + dt.timedelta(seconds=600)
            )
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
            cursor.execute("INSERT INTO recordings_message_fts(recordings_message_fts) VALUES ('optimize')")
    return {
        "admin": admin,
        "sam": sam,
        "campaigns": [c for c, _m in campaigns],
        "messages": Message.objects.count(),
        "conversations": Conversation.objects.count(),
        "build_seconds": time.perf_counter() - started,
        "last_day": last_day,
    }


def capture_sql(operation: Callable[[], object]) -> list[str]:
    """The exact SQL statements (parameters inlined by the driver's own quoting) an operation runs."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        operation()
    return [q["sql"] for q in captured.captured_queries]


def raw_runner(statements: list[str]) -> Callable[[], None]:
    """The same statements through the raw driver (sqlite3 / psycopg), fetching every row."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        import sqlite3

        from django.db.backends.sqlite3._functions import register

        conn = sqlite3.connect(db["NAME"])
        # Django's SQL calls its own SQL functions (django_timestamp_diff, …); give the raw driver the same.
        register(conn)

        def run_sqlite() -> None:
            for sql in statements:
                conn.execute(sql).fetchall()

        return run_sqlite
    import psycopg

    pg = psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname=db["NAME"],
        autocommit=True,
    )

    def run_pg() -> None:
        for sql in statements:
            with pg.cursor() as cursor:
                cursor.execute(sql.encode())
                cursor.fetchall()

    return run_pg


def timed(operation: Callable[[], object], repeats: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        operation()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        operation()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def report(label: str, app: list[float], raw: list[float]) -> str:
    a95, r95 = pct(app, 95), pct(raw, 95)
    return (
        f"  {label:<34} app p50 {statistics.median(app):8.2f} ms  p95 {a95:8.2f} ms   "
        f"raw p50 {statistics.median(raw):8.2f} ms  p95 {r95:8.2f} ms   ratio p95 {a95 / r95 if r95 else float('nan'):5.2f}"
    )
