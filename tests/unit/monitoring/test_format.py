"""The board's number formatting: durations, percentages, and "—" for "no data"."""

from __future__ import annotations

import pytest

from pagedesk.monitoring.selectors import CampaignStats
from pagedesk.monitoring.templatetags.pagedesk_monitoring import duration, pct


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "—"), (0, "0:00"), (59.6, "1:00"), (63, "1:03"), (3725, "1:02:05"), (-5, "0:00")],
)
def test_duration(seconds, text):
    assert duration(seconds) == text


@pytest.mark.parametrize(
    ("value", "text"), [(None, "—"), (0.0, "0.0 %"), (100.0, "100.0 %"), (66.666, "66.7 %")]
)
def test_pct(value, text):
    assert pct(value) == text


def test_stats_rates_and_division_by_zero():
    empty = CampaignStats()
    assert (
        empty.service_level_pct is None and empty.abandon_pct is None and empty.average_wait_seconds is None
    )
    stats = CampaignStats(
        inbound=10,
        answered=6,
        answered_within_sl=3,
        abandoned=2,
        abandoned_within_sl=1,
        wait_count=6,
        wait_total_seconds=120,
        handle_count=4,
        handle_total_seconds=400,
    )
    assert stats.service_level_pct == 37.5
    assert stats.service_level_with_abandoned_pct == 50.0
    assert stats.abandon_pct == 20.0
    assert (stats.average_wait_seconds, stats.average_handle_seconds) == (20.0, 100.0)


def test_adding_campaigns_keeps_rates_exact():
    a = CampaignStats(
        inbound=1,
        answered=1,
        answered_within_sl=1,
        wait_count=1,
        wait_total_seconds=10,
        longest_wait_seconds=5,
    )
    b = CampaignStats(
        inbound=3, answered=1, abandoned=2, wait_count=1, wait_total_seconds=30, longest_wait_seconds=None
    )
    total = a + b
    assert total.inbound == 4 and total.service_level_pct == 25.0 and total.average_wait_seconds == 20.0
    assert total.longest_wait_seconds == 5
