"""Recordings search benchmark (issue 7): p95 of the recordings list query for a rare term, a common
term, and term + date + campaign filters, on PostgreSQL and SQLite, beside the same SQL run through the
raw driver in the same process.

"The query" is what the recordings page runs for its first page: the plan choice (the word's estimated
share of messages), the total (counted up to 10,000, then shown as "more than 10,000") with the page's
ids, and the 50 newest matching conversations (with campaign, contact, agent, disposition joined).
Data: tests/fixtures/traffic.py over 20 days × 2 campaigns. The issue's target size is 1 M messages
(about 3.5 min to build on a 2-vCPU machine), so the size is a flag (default 200,000) and the run
prints which size it used. --keep NAME builds once into a named database and reuses it.

Findings at 1,003,839 messages / 142,840 conversations (2026-11-25, 2 vCPUs shared with five other
jobs; p95 of 40 runs (SQLite 20), app / raw driver, ms; the second PostgreSQL figure is a run at load
average ~4.5, the first at ~2.7):

                                   PostgreSQL 15                SQLite 3.40 (load ~2.9)
    rare term (1,480 hits)         10 / 6     (32 / 23)         15 / 9
    common term (10,000+)          45 / 36    (106 / 77)        284 / 457 (raw p50 242)
    term + 3 days + campaign       27 / 29    (82 / 49)         183 / 179

  Before (same data, same machine): rare 64 / 50, common 635 / 542, filtered 562 / 467 (PostgreSQL).
  What changed and why:
  - The raw figures were as slow as the app: the plans were the problem. A common word's matches
    (280,000 messages for "order") were all hashed, then every conversation scanned to probe them.
    Now a word whose estimated share of messages (PostgreSQL: the planner's statistics through
    EXPLAIN, no rows read; SQLite: FTS5's vocabulary counts) is at least 3 % walks conversations
    newest first with EXISTS over each one's messages, stopping at the page or at 10,001 for the count.
    A rarer word keeps the index: PostgreSQL collects the GIN matches into an array and looks the
    conversations up by primary key (`id IN (...)` had the planner seq-scan all conversations).
  - The walk's probe recomputed to_tsvector for every message it touched (~5x the cost); PostgreSQL
    now stores the vector in a generated column (conversations_message.text_search).
  - Count and page are one statement when the matches fit under the cap (the usual rare-word case);
    past the cap the page comes from the ordered walk, which stops after 50.
  - SQLite, same data, same changes (its walk probes each message id in FTS5; the plan choice reads
    FTS5's vocabulary counts): common term best-of-3 raw 300 → 255 ms (the page alone 187 → 1 ms; the
    count of 10,001 is most of it), filtered 170-240 either plan, rare 14 → 13. No target is set for
    SQLite; its p95 swings most with the machine's load (see the table).

Usage: .venv/bin/python bench/search.py [--messages 1000000] [--only sqlite|postgres] [--repeats 40]
       [--keep NAME] [--explain]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _recordings_data import build, capture_sql, django_setup, raw_runner, report, run_child, timed


def child(engine: str, messages: int, repeats: int, explain: bool = False) -> None:
    django_setup()
    from django.db import connection

    from pagedesk.recordings.selectors import RecordingFilters, recording_list, recording_page
    from tests.fixtures.traffic import RARE_WORD

    data = build(messages)
    print(
        f"[{engine}] {connection.vendor}: {data['messages']:,} messages in {data['conversations']:,} conversations "
        f"(asked for {messages:,}); built in {data['build_seconds']:.0f} s",
        flush=True,
    )
    admin = data["admin"]
    campaign = data["campaigns"][0]  # type: ignore[index]
    last_day: dt.date = data["last_day"]  # type: ignore[assignment]
    from pagedesk.accounts.models import User

    # The agent filter finds every conversation the agent took part in (assigned, handed on, wrote in):
    # EXISTS over routing's assignments and the agent's messages, each through an (agent, conversation)
    # index.
    agent = User.objects.get(username="agent0")
    scenarios = {
        f"rare term ({RARE_WORD})": RecordingFilters(text=RARE_WORD),
        "agent (agent0)": RecordingFilters(agent_id=agent.pk),
        "agent + common term (agent0, order)": RecordingFilters(agent_id=agent.pk, text="order"),
        "common term (order)": RecordingFilters(text="order"),
        "term + 3 days + campaign (refund)": RecordingFilters(
            text="refund",
            campaign_id=campaign.pk,
            date_from=last_day - dt.timedelta(days=2),
            date_to=last_day,
        ),
    }
    for label, filters in scenarios.items():

        def page(filters: RecordingFilters = filters) -> tuple[int, bool]:
            conversations = recording_list(user=admin, filters=filters)  # type: ignore[arg-type]
            first = recording_page(conversations=conversations, number=1)
            return first.total, first.total_capped

        total, capped = page()
        statements = capture_sql(page)
        if explain:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(
                        ("EXPLAIN ANALYZE " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN ")
                        + sql
                    )
                    print("\n".join("      " + " ".join(str(c) for c in row) for row in cursor.fetchall()))
        app = timed(page, repeats)
        raw = timed(raw_runner(statements), repeats)
        print(report(f"{label} [{total:,}{'+' if capped else ''} hits]", app, raw), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--messages", type=int, default=200_000, help="messages to generate (issue target: 1,000,000)"
    )
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--explain", action="store_true", help="print each statement's plan")
    parser.add_argument(
        "--keep",
        default="",
        metavar="NAME",
        help="build into database NAME once and keep it for later runs (drop it yourself when done)",
    )
    parser.add_argument("--child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.messages, args.repeats, args.explain)
        return
    print(f"bench/search.py — {args.messages:,} messages (use --messages 1000000 for the issue's full size)")
    for engine in ["postgres", "sqlite"]:
        if args.only and engine != args.only:
            continue
        code = run_child(
            Path(__file__).resolve(),
            engine,
            [
                "--messages",
                str(args.messages),
                "--repeats",
                str(args.repeats),
                *(["--explain"] if args.explain else []),
            ],
            keep=args.keep,
        )
        if code:
            sys.exit(code)


if __name__ == "__main__":
    main()
