"""Routing burst benchmark (issue 5, "Done when"): assignments/s and decision p99 on PostgreSQL.

Scenario: one rrmemory campaign with 200 Available agents, max 3 each, 70 % of all slots already taken
(420 open conversations); then a burst of 100 customers lands in the queue at once and is routed.

- app: `routing.services.queue_dispatch` drains the queue, one transaction per assignment: campaign
  row lock, queue head lock, members read with their loads (one query), policy pick, the picked
  agent's row lock, assignment conditional on re-counting that agent's load under the lock, the
  rrmemory pointer, an `Assignment` row and an `assigned` event row, then `ConversationAssigned`
  published on commit (docs/decisions/routing-locks.md). Decision latency = one such transaction,
  publish included.
- raw: in the same process and database, a bare psycopg loop per conversation: lock the queue head
  and the first agent with a free slot with `FOR UPDATE SKIP LOCKED`, UPDATE, COMMIT.

The raw loop does less than the app must, and is kept that way on purpose as the floor of "assign a
queued conversation to a free agent": it writes no `Assignment` row (fewest, the audit trail) and no
event row, does not update `last_assigned_at` (leastrecent) or the rrmemory pointer, applies no
strategy (lowest agent id), does not serialise on the campaign row (strict FIFO between concurrent
dispatchers) and publishes nothing. Its capacity count is in the same statement as the SKIP LOCKED
agent lock, i.e. in a snapshot taken before the lock: correct for this single loop, not a re-count
under the lock if several loops ran at once.

Each round resets the burst; the figures are medians over ROUNDS. It prints both figures, their ratio
and `violations: N` (agents above capacity after the app's rounds; the target is 0), with the load
average before and after (the machine is shared). Targets: decision p99 ≤ 50 ms, app assignments/s
≥ 30 % of the raw loop. Runs in well under two minutes; the database is created here and dropped at
the end.

Publishing is measured the way a server process does it: routing runs in worker threads of `pagedesk
serve`, whose socket-serving loop is registered, so publish hands each event to it (with Redis, to one
long-lived loop) without waiting. This process has no sockets, so the bench registers a loop of its
own. `--no-serving-loop` shows the fallback that only a socket-less process with the in-memory layer
takes (tests driving the layer by hand): one `async_to_sync` hop (a new thread and loop) per event,
≈ 1.4 ms wall and 0.5 ms CPU per assignment that no server pays. Until 2026-11-25 evening that
fallback was the default and `--serving-loop` the option; the figures below name the mode.

Findings (2026-11-25, shared 2-vCPU box; the raw loop swings between ≈ 250/s and ≈ 900/s with the
other sessions' load, so compare figures from the same run):
- no serving loop (then the default), load 2.9–3.2: app 249/s, p50 3.8 ms, p99 12 ms vs raw 911/s → ratio 0.27; at load 2.3–3
  (raw slowed to 260/s) 168/s → 0.64. Violations 0.
- serving loop (now the default), same minutes: app 427/s, p50 2.2 ms, p99 9 ms vs raw 894/s → 0.48; 280 vs 706/s
  → 0.40. Violations 0.
- the ORM dispatch before (74504ee), no serving loop, runs alternated at load ≈ 4: 41–66/s, p50 12–23 ms,
  ratio 0.08–0.29 (0.16 on an idle box: 143 vs 889/s). Client CPU per assignment 5.3 ms → 1.2 ms.
What changed and what is left: docs/decisions/routing-locks.md.

Usage: .venv/bin/python bench/routing_burst.py [--rounds N] [--no-serving-loop]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
AGENTS, MAX_LOAD, PREFILL, BURST = 200, 3, 0.70, 100
ROUNDS = 5

OVER_CAPACITY_SQL = """
    SELECT agent_id, COUNT(*) FROM conversations_conversation
    WHERE state = 'assigned' AND agent_id IS NOT NULL
    GROUP BY agent_id HAVING COUNT(*) > %s
"""
RAW_HEAD_SQL = """
    SELECT id FROM conversations_conversation
    WHERE campaign_id = %s AND state = 'queued'
    ORDER BY queue_order, id LIMIT 1 FOR UPDATE SKIP LOCKED
"""
RAW_AGENT_SQL = """
    SELECT u.id FROM accounts_user u
    JOIN campaigns_membership m ON m.agent_id = u.id AND m.campaign_id = %s
    WHERE u.presence = 'available'
      AND (SELECT COUNT(*) FROM conversations_conversation c WHERE c.agent_id = u.id AND c.state = 'assigned') < %s
    ORDER BY u.id LIMIT 1 FOR UPDATE OF u SKIP LOCKED
"""
RAW_ASSIGN_SQL = """
    UPDATE conversations_conversation
    SET state = 'assigned', agent_id = %s, assigned_at = now(), version = version + 1
    WHERE id = %s
"""


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def setup(campaign_name: str) -> int:
    """200 agents, all Available, 420 open conversations spread over them; returns the campaign id."""
    from pagedesk.accounts.models import Presence, User
    from pagedesk.campaigns import schedule
    from pagedesk.campaigns.models import Membership
    from pagedesk.campaigns.services import campaign_create
    from pagedesk.conversations.models import Contact, Conversation, ConversationState
    from pagedesk.core import clock

    campaign = campaign_create(
        fields={
            "name": campaign_name,
            "page_name": campaign_name,
            "strategy": "rrmemory",
            "max_interactions_per_agent": MAX_LOAD,
            "dropout_threshold_seconds": 0,
        },
        ranges=[schedule.Range(schedule.ALL_WEEKDAYS, 0, schedule.MINUTES_PER_DAY)],
    )
    agents = User.objects.bulk_create(
        User(username=f"bench{i:03d}", role="agent", password="!", presence=Presence.AVAILABLE)
        for i in range(AGENTS)
    )
    Membership.objects.bulk_create(
        Membership(campaign=campaign, agent=agent, position=i) for i, agent in enumerate(agents)
    )
    prefill = int(AGENTS * MAX_LOAD * PREFILL)
    contacts = Contact.objects.bulk_create(Contact(page_id="bench", psid=f"pre{i}") for i in range(prefill))
    now = clock.now()
    Conversation.objects.bulk_create(
        Conversation(
            campaign=campaign,
            contact=contact,
            state=ConversationState.ASSIGNED,
            agent=agents[i % AGENTS],
            queued_at=now,
            queue_order=now,
            assigned_at=now,
        )
        for i, contact in enumerate(contacts)
    )
    return campaign.pk


def reset_burst(campaign_id: int, round_no: int, label: str) -> None:
    """Remove the previous burst and queue a fresh one of BURST customers (no routing yet)."""
    import datetime as dt

    from django.db import transaction

    from pagedesk.campaigns.models import Campaign
    from pagedesk.conversations.models import Contact, Conversation, ConversationEvent, ConversationState
    from pagedesk.core import clock
    from pagedesk.routing.models import Assignment

    with transaction.atomic():
        burst = Conversation.objects.filter(contact__psid__startswith="burst")
        Assignment.objects.filter(conversation__in=burst).delete()
        ConversationEvent.objects.filter(conversation__in=burst).delete()
        burst.delete()
        Contact.objects.filter(psid__startswith="burst").delete()
        campaign = Campaign.objects.get(pk=campaign_id)
        contacts = Contact.objects.bulk_create(
            Contact(page_id="bench", psid=f"burst-{label}-{round_no}-{i}") for i in range(BURST)
        )
        start = clock.now()
        Conversation.objects.bulk_create(
            Conversation(
                campaign=campaign,
                contact=contact,
                state=ConversationState.QUEUED,
                queued_at=start + dt.timedelta(microseconds=i),
                queue_order=start + dt.timedelta(microseconds=i),
                last_customer_message_at=start,
            )
            for i, contact in enumerate(contacts)
        )


def run_app(campaign_id: int) -> tuple[float, list[float], int]:
    from pagedesk.campaigns.models import Campaign
    from pagedesk.routing.services import dispatch

    decisions: list[float] = []
    original = dispatch._assign_next

    def timed(*, campaign_id: int):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return original(campaign_id=campaign_id)
        finally:
            decisions.append(time.perf_counter() - started)

    dispatch._assign_next = timed  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        assigned = dispatch.queue_dispatch(campaign=Campaign(pk=campaign_id))
        elapsed = time.perf_counter() - started
    finally:
        dispatch._assign_next = original  # type: ignore[assignment]
    return len(assigned) / elapsed, decisions[: len(assigned)], len(assigned)


def run_raw(conn, campaign_id: int) -> tuple[float, list[float], int]:  # type: ignore[no-untyped-def]
    decisions: list[float] = []
    assigned = 0
    started = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        with conn.transaction():
            head = conn.execute(RAW_HEAD_SQL, [campaign_id]).fetchone()
            if head is None:
                break
            agent = conn.execute(RAW_AGENT_SQL, [campaign_id, MAX_LOAD]).fetchone()
            if agent is None:
                break
            conn.execute(RAW_ASSIGN_SQL, [agent[0], head[0]])
        decisions.append(time.perf_counter() - t0)
        assigned += 1
    elapsed = time.perf_counter() - started
    return assigned / elapsed, decisions, assigned


def start_serving_loop() -> None:
    """Stand in for `pagedesk serve`'s socket-serving loop: publish then hands each event to this loop
    (group_send runs there, in this process) instead of one async_to_sync hop per event, which is
    what a process without sockets does."""
    import asyncio
    import threading

    from pagedesk.realtime import publish

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="bench-serving-loop", daemon=True).start()

    async def register() -> None:
        publish.serving_loop_register()

    asyncio.run_coroutine_threadsafe(register(), loop).result(timeout=5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument(
        "--no-serving-loop",
        dest="serving_loop",
        action="store_false",
        help="publish through the no-socket fallback (one async_to_sync hop per event), which no server takes",
    )
    args = parser.parse_args()
    load_before = os.getloadavg()

    import psycopg

    try:
        admin = psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL unreachable at {PG_SERVER}: {exc}")
        return 1
    name = f"pagedesk_bench_routing_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    data_dir = tempfile.mkdtemp(prefix="pagedesk-bench-")
    os.environ.update(
        {
            "DATABASE_URL": f"{PG_SERVER}/{name}",
            "PAGEDESK_DATA_DIR": data_dir,
            "DJANGO_SETTINGS_MODULE": "pagedesk.config.settings",
            "PAGEDESK_LOG_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, str(ROOT))
    try:
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0, interactive=False)
        if args.serving_loop:
            start_serving_loop()
        campaign_id = setup("Bench burst")
        raw_conn = psycopg.connect(f"{PG_SERVER}/{name}", autocommit=True)

        app_rates, app_decisions, raw_rates, raw_decisions = [], [], [], []
        violations = raw_violations = 0
        unassigned = 0
        for round_no in range(args.rounds):
            reset_burst(campaign_id, round_no, "app")
            rate, decisions, count = run_app(campaign_id)
            unassigned += BURST - count
            app_rates.append(rate)
            app_decisions += decisions
            violations += len(raw_conn.execute(OVER_CAPACITY_SQL, [MAX_LOAD]).fetchall())

            reset_burst(campaign_id, round_no, "raw")
            rate, decisions, count = run_raw(raw_conn, campaign_id)
            raw_rates.append(rate)
            raw_decisions += decisions
            raw_violations += len(raw_conn.execute(OVER_CAPACITY_SQL, [MAX_LOAD]).fetchall())
        raw_conn.close()

        app_rate, raw_rate = statistics.median(app_rates), statistics.median(raw_rates)
        print(
            f"scenario: burst of {BURST} on {AGENTS} agents, cap {MAX_LOAD}, {PREFILL:.0%} pre-filled, {args.rounds} rounds (medians)"
        )
        print(
            "publish: "
            + (
                "to a registered serving loop (as in a server process)"
                if args.serving_loop
                else "async_to_sync per event (no serving loop)"
            )
        )
        print(
            f"app  assignments/s: {app_rate:8.1f}   decision p50 {statistics.median(app_decisions) * 1000:6.2f} ms  p99 {p99(app_decisions) * 1000:6.2f} ms"
        )
        print(
            f"raw  assignments/s: {raw_rate:8.1f}   decision p50 {statistics.median(raw_decisions) * 1000:6.2f} ms  p99 {p99(raw_decisions) * 1000:6.2f} ms  (FOR UPDATE SKIP LOCKED loop)"
        )
        print(f"ratio app/raw: {app_rate / raw_rate:.2f}  (target ≥ 0.30)")
        print(f"decision p99 target ≤ 50 ms: {'met' if p99(app_decisions) <= 0.050 else 'MISSED'}")
        print(f"unassigned after the burst: {unassigned}")
        print(f"raw loop violations: {raw_violations}")
        load_after = os.getloadavg()
        print(f"load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f} (1 min)")
        print(f"violations: {violations}")
        return 0 if violations == 0 and unassigned == 0 else 1
    finally:
        from django.db import connections

        connections.close_all()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


if __name__ == "__main__":
    sys.exit(main())
