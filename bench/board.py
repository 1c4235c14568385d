"""Board snapshot benchmark (issue 7): p95 of board_snapshot (one campaign, and all campaigns) at the
search benchmark's data size, beside the same SQL statements run through the raw driver, on
PostgreSQL and SQLite. The figure is the selector (all its queries plus building the rows), which is
what a board refresh costs the server before template rendering; the rendered fragment is timed too.

Findings at 1,003,839 messages (2026-11-25, 2 vCPUs shared with five other jobs; the evening of the
last day: 273 queued and 286 active in the first campaign, 569 and 562 across both; p95 of 60 runs,
app / raw driver, ms; the second PostgreSQL figure is a run at load average ~4.5, the first at ~2.6):

                                   PostgreSQL 15              SQLite 3.40 (load ~3.5)
    one campaign                   20 / 7    (40 / 19)        75 / 59
    all campaigns                  37 / 16   (65 / 31)        175 / 164

  Before: one campaign 67 / 13, all campaigns 103 / 33 (PostgreSQL). The 5× app/raw gap was not
  query compilation but rows: the active and queued lists loaded whole Conversation + Contact models
  (twenty columns and seven timestamps each, for ~560 rows); they now read the seven columns shown.
  For all campaigns PostgreSQL hashed the whole contact table to name 569 queued customers (11-30
  ms); names are now looked up per row by primary key (1-3 ms). What is left on PostgreSQL: the KPI
  aggregate (~7 ms to run, ~4 ms for Django to build, per-campaign OR branches in every FILTER) and
  the Python rows. SQLite reads every conversation of the agents (24 ms) and of the campaigns (31 ms)
  for "completed today" and the KPIs: it does not combine the per-campaign index ranges the way
  PostgreSQL's BitmapOr does (a top-level OR did not change its choice); no target is set for SQLite.
  The fragment render (not part of the target) adds ~40-60 ms: template work, not queries.

Usage: .venv/bin/python bench/board.py [--messages 1000000] [--only sqlite|postgres] [--repeats 60]
       [--keep NAME]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _recordings_data import build, capture_sql, django_setup, raw_runner, report, run_child, timed


def child(engine: str, messages: int, repeats: int) -> None:
    django_setup()
    from django.db import connection
    from django.template.loader import render_to_string

    from pagedesk.monitoring.selectors import board_snapshot, board_snapshot_for_campaigns

    data = build(messages)
    print(
        f"[{engine}] {connection.vendor}: {data['messages']:,} messages in {data['conversations']:,} conversations "
        f"(asked for {messages:,}); built in {data['build_seconds']:.0f} s",
        flush=True,
    )
    campaigns = data["campaigns"]
    campaign = campaigns[0]  # type: ignore[index]
    last_day: dt.date = data["last_day"]  # type: ignore[assignment]
    now = dt.datetime.combine(last_day, dt.time(19, 30), tzinfo=dt.UTC)

    def one() -> object:
        return board_snapshot(campaign=campaign, now=now)

    def every() -> object:
        return board_snapshot_for_campaigns(campaigns=campaigns, now=now)  # type: ignore[arg-type]

    snap = one()
    print(
        f"  one campaign: {len(snap.agents)} agents, {len(snap.queue)} queued, {snap.kpis.stats.inbound} inbound today"
    )  # type: ignore[attr-defined]
    for label, operation in [("board_snapshot (1 campaign)", one), ("board_snapshot (all campaigns)", every)]:
        statements = capture_sql(operation)
        app = timed(operation, repeats)
        raw = timed(raw_runner(statements), repeats)
        print(report(f"{label} [{len(statements)} queries]", app, raw), flush=True)

    def rendered() -> str:
        return render_to_string(
            "monitoring/_board.html",
            {"snapshot": one(), "campaign": campaign, "can_return": True, "request": None},
        )

    statements = capture_sql(rendered)
    print(
        report("snapshot + fragment render", timed(rendered, repeats), timed(raw_runner(statements), repeats))
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--messages", type=int, default=200_000, help="messages to generate (issue target: 1,000,000)"
    )
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument(
        "--keep",
        default="",
        metavar="NAME",
        help="build into database NAME once and keep it for later runs (drop it yourself when done)",
    )
    parser.add_argument("--child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.messages, args.repeats)
        return
    print(f"bench/board.py — {args.messages:,} messages (use --messages 1000000 for the issue's full size)")
    for engine in ["postgres", "sqlite"]:
        if args.only and engine != args.only:
            continue
        code = run_child(
            Path(__file__).resolve(),
            engine,
            ["--messages", str(args.messages), "--repeats", str(args.repeats)],
            keep=args.keep,
        )
        if code:
            sys.exit(code)


if __name__ == "__main__":
    main()
