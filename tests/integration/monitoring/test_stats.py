"""The KPI selectors against an independent recomputation in raw SQL (docs/metrics.md)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from pagedesk.campaigns.models import Campaign
from pagedesk.conversations.models import Contact, Conversation, ConversationState
from pagedesk.monitoring.selectors import (
    campaign_stats,
    campaign_stats_for_days,
    campaign_stats_today,
    period_for_days,
)
from tests.fixtures.traffic import build_traffic

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 2)
# Europe/Madrid is UTC+1 on 2 March 2026: the local day is 2026-03-01 23:00Z .. 2026-03-02 23:00Z.
UTC_START = dt.datetime(2026, 3, 1, 23, 0, tzinfo=dt.UTC)
UTC_END = dt.datetime(2026, 3, 2, 23, 0, tzinfo=dt.UTC)


def _secs(later: str, earlier: str) -> str:
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"
    return f"ROUND((julianday({later}) - julianday({earlier})) * 86400)"


def _param(at: dt.datetime) -> object:
    # SQLite stores Django datetimes as naive UTC text; PostgreSQL takes the aware value.
    if connection.vendor == "postgresql":
        return at
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def raw_stats(campaign: Campaign, start: dt.datetime, end: dt.datetime) -> dict[str, float | int | None]:
    """The §5 definitions written straight in SQL, sharing no code with the selector."""
    sl = campaign.sl_threshold_seconds
    sql = f"""
        SELECT
          COUNT(*),
          SUM(CASE WHEN first_response_at IS NOT NULL THEN 1 ELSE 0 END),
          SUM(CASE WHEN first_response_at IS NOT NULL AND {_secs("first_response_at", "queued_at")} <= %s
                   THEN 1 ELSE 0 END),
          SUM(CASE WHEN state = 'abandoned' THEN 1 ELSE 0 END),
          SUM(CASE WHEN state = 'abandoned' AND abandoned_at IS NOT NULL
                        AND {_secs("abandoned_at", "queued_at")} <= %s THEN 1 ELSE 0 END),
          AVG(CASE WHEN assigned_at IS NOT NULL THEN {_secs("assigned_at", "queued_at")} END),
          AVG(CASE WHEN state = 'closed' AND assigned_at IS NOT NULL AND closed_at IS NOT NULL
                   THEN {_secs("closed_at", "assigned_at")} END)
        FROM conversations_conversation
        WHERE campaign_id = %s AND queued_at >= %s AND queued_at < %s
          AND state NOT IN ('after_hours', 'blocked')
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [sl, sl, campaign.pk, _param(start), _param(end)])
        inbound, answered, answered_sl, abandoned, abandoned_sl, avg_wait, avg_handle = cursor.fetchone()
        cursor.execute(
            "SELECT MIN(queued_at) FROM conversations_conversation WHERE campaign_id = %s AND state = 'queued'",
            [campaign.pk],
        )
        (oldest,) = cursor.fetchone()
    answered, answered_sl, abandoned, abandoned_sl = (
        int(v or 0) for v in (answered, answered_sl, abandoned, abandoned_sl)
    )
    denominator = answered + abandoned
    return {
        "inbound": inbound,
        "answered": answered,
        "answered_within_sl": answered_sl,
        "abandoned": abandoned,
        "abandoned_within_sl": abandoned_sl,
        "service_level_pct": 100.0 * answered_sl / denominator if denominator else None,
        "service_level_with_abandoned_pct": 100.0 * (answered_sl + abandoned_sl) / denominator
        if denominator
        else None,
        "abandon_pct": 100.0 * abandoned / inbound if inbound else None,
        "average_wait_seconds": float(avg_wait) if avg_wait is not None else None,
        "average_handle_seconds": float(avg_handle) if avg_handle is not None else None,
        "oldest_queued": oldest,
    }


def assert_matches(stats, expected) -> None:
    for key in (
        "inbound",
        "answered",
        "answered_within_sl",
        "abandoned",
        "abandoned_within_sl",
    ):
        assert getattr(stats, key) == expected[key], key
    for key in (
        "service_level_pct",
        "service_level_with_abandoned_pct",
        "abandon_pct",
        "average_wait_seconds",
        "average_handle_seconds",
    ):
        if expected[key] is None:
            assert getattr(stats, key) is None, key
        else:
            assert getattr(stats, key) == pytest.approx(expected[key], abs=1e-6), key


def test_a_generated_day_matches_the_raw_sql_recomputation(campaign, alice, bob):
    traffic = build_traffic(campaign=campaign, agents=[alice, bob], day=DAY, conversations=600)
    # The mix really is mixed, and crosses both local midnights.
    assert {"closed", "abandoned", "after_hours", "blocked", "queued", "assigned"} <= set(traffic.by_state)
    before = Conversation.objects.filter(campaign=campaign, queued_at__lt=UTC_START).count()
    after = Conversation.objects.filter(campaign=campaign, queued_at__gte=UTC_END).count()
    assert before > 0 and after > 0

    stats = campaign_stats(campaign=campaign, start=UTC_START, end=UTC_END, now=traffic.now)
    expected = raw_stats(campaign, UTC_START, UTC_END)
    assert stats.inbound > 100
    assert 0 < stats.abandoned < stats.inbound
    assert_matches(stats, expected)

    # The same numbers through the campaign-timezone helpers the board and the API use.
    assert campaign_stats_for_days(campaign=campaign, first_day=DAY, last_day=DAY, now=traffic.now) == stats
    today = campaign_stats_today(campaign=campaign, now=dt.datetime(2026, 3, 2, 22, 59, tzinfo=dt.UTC))
    assert (today.inbound, today.answered, today.abandoned) == (
        stats.inbound,
        stats.answered,
        stats.abandoned,
    )

    # Longest current wait: now − the oldest queued conversation.
    oldest = expected["oldest_queued"]
    assert oldest is not None and stats.longest_wait_seconds is not None
    oldest_at = oldest if isinstance(oldest, dt.datetime) else dt.datetime.fromisoformat(oldest)
    if oldest_at.tzinfo is None:
        oldest_at = oldest_at.replace(tzinfo=dt.UTC)
    assert stats.longest_wait_seconds == int((traffic.now - oldest_at).total_seconds())


def test_a_two_day_range_matches_too(campaign, alice, bob):
    traffic = build_traffic(campaign=campaign, agents=[alice, bob], day=DAY, conversations=300, seed=11)
    stats = campaign_stats_for_days(
        campaign=campaign, first_day=DAY, last_day=DAY + dt.timedelta(days=1), now=traffic.now
    )
    assert_matches(stats, raw_stats(campaign, UTC_START, UTC_END + dt.timedelta(days=1)))


def test_no_traffic_shows_dashes_not_zero_percent(campaign):
    stats = campaign_stats_for_days(campaign=campaign, first_day=DAY, last_day=DAY)
    assert stats.inbound == 0
    assert stats.service_level_pct is None
    assert stats.service_level_with_abandoned_pct is None
    assert stats.abandon_pct is None
    assert stats.average_wait_seconds is None
    assert stats.average_handle_seconds is None
    assert stats.longest_wait_seconds is None


def _conversation(campaign: Campaign, index: int, **fields) -> Conversation:
    contact = Contact.objects.create(page_id="p", psid=f"psid-{index}")
    return Conversation.objects.create(campaign=campaign, contact=contact, **fields)


def test_all_abandoned(campaign):
    base = UTC_START + dt.timedelta(hours=10)
    sl = campaign.sl_threshold_seconds
    for index, delay in enumerate([sl - 1, sl, sl + 1, sl * 5]):
        _conversation(
            campaign,
            index,
            state=ConversationState.ABANDONED,
            queued_at=base,
            abandoned_at=base + dt.timedelta(seconds=delay),
        )
    stats = campaign_stats_for_days(campaign=campaign, first_day=DAY, last_day=DAY)
    assert (stats.inbound, stats.answered, stats.abandoned, stats.abandoned_within_sl) == (4, 0, 4, 2)
    assert stats.abandon_pct == 100.0
    assert stats.service_level_pct == 0.0
    assert stats.service_level_with_abandoned_pct == 50.0
    assert stats.average_wait_seconds is None  # nobody was assigned: no wait to average
    assert stats.average_handle_seconds is None


def test_the_campaign_timezone_day_boundary(campaign):
    # Local (Madrid) 23:59:59 the day before, 00:00:00, 23:59:59, and 00:00:00 the day after.
    for index, at in enumerate(
        [
            UTC_START - dt.timedelta(seconds=1),
            UTC_START,
            UTC_END - dt.timedelta(seconds=1),
            UTC_END,
        ]
    ):
        _conversation(campaign, index, state=ConversationState.ABANDONED, queued_at=at, abandoned_at=at)
    assert campaign_stats_for_days(campaign=campaign, first_day=DAY, last_day=DAY).inbound == 2
    # The same UTC instants counted in a UTC campaign fall on other days.
    campaign.timezone = "UTC"
    campaign.save()
    assert campaign_stats_for_days(campaign=campaign, first_day=DAY, last_day=DAY).inbound == 2
    previous = campaign_stats_for_days(
        campaign=campaign, first_day=DAY - dt.timedelta(days=1), last_day=DAY - dt.timedelta(days=1)
    )
    assert previous.inbound == 2


def test_after_hours_and_blocked_are_not_counted(campaign):
    at = UTC_START + dt.timedelta(hours=3)
    _conversation(campaign, 1, state=ConversationState.AFTER_HOURS, queued_at=at, closed_at=at)
    _conversation(campaign, 2, state=ConversationState.BLOCKED, queued_at=at, closed_at=at)
    assert campaign_stats_for_days(campaign=campaign, first_day=DAY, last_day=DAY).inbound == 0


def test_dst_day_is_23_hours(campaign):
    period = period_for_days(campaign=campaign, first_day=dt.date(2026, 3, 29), last_day=dt.date(2026, 3, 29))
    assert period.end - period.start == dt.timedelta(hours=23)


def test_stats_are_one_query(campaign, alice, bob, django_assert_num_queries):
    build_traffic(campaign=campaign, agents=[alice, bob], day=DAY, conversations=100)
    with django_assert_num_queries(1):
        campaign_stats(campaign=campaign, start=UTC_START, end=UTC_END)
