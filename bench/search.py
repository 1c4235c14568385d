"""Recordings search benchmark (issue 7): p95 of the recordings list query for a rare term, a common
term, and term + date + campaign filters, on PostgreSQL and SQLite, beside the same SQL run through the
raw driver in the same process.

"The query" is what the recordings page runs for its first page: the total (counted up to 10,000, then
shown as "more than 10,000") and the 50 newest matching conversations (with campaign, contact, agent, disposition joined). Data: tests/fixtures/
traffic.py over 20 days × 2 campaigns. The issue's target size is 1 M messages; on a 2-vCPU machine
building that takes a long time, so the size is a flag (default 200,000) and the run prints which size
it used.

Usage: .venv/bin/python bench/search.py [--messages 1000000] [--only sqlite|postgres] [--repeats 40]
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
    scenarios = {
        f"rare term ({RARE_WORD})": RecordingFilters(text=RARE_WORD),
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
