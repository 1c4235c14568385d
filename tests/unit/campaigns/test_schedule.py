"""Schedule evaluation at its edges: time zones, DST, holidays, ranges touching midnight."""

from __future__ import annotations

import datetime as dt

import pytest

from pagedesk.campaigns import schedule
from pagedesk.campaigns.schedule import Range

MON_FRI = 0b0011111
MON = 1 << 0
TUE = 1 << 1
SAT = 1 << 5
SUN = 1 << 6
OFFICE = [Range(MON_FRI, 9 * 60, 18 * 60)]


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def is_open(at: dt.datetime, ranges=OFFICE, tz="UTC", holidays=()) -> bool:
    return schedule.is_open(ranges=ranges, holidays=holidays, timezone=tz, at=at)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (utc(2026, 3, 2, 8, 59, 59), False),  # Monday just before opening
        (utc(2026, 3, 2, 9, 0, 0), True),  # opening instant is inside
        (utc(2026, 3, 2, 17, 59, 59), True),
        (utc(2026, 3, 2, 18, 0, 0), False),  # closing instant is outside (half-open)
        (utc(2026, 3, 6, 12, 0), True),  # Friday
        (utc(2026, 3, 7, 12, 0), False),  # Saturday
        (utc(2026, 3, 8, 12, 0), False),  # Sunday
    ],
)
def test_weekly_office_hours_in_utc(at, expected):
    assert is_open(at) is expected


def test_hours_are_local_to_the_campaign_timezone():
    # 09:30 in Madrid (CET, UTC+1 in winter) is 08:30 UTC.
    assert is_open(utc(2026, 1, 12, 8, 30), tz="Europe/Madrid") is True
    assert is_open(utc(2026, 1, 12, 7, 59), tz="Europe/Madrid") is False
    # Buenos Aires is UTC-3: 20:00 UTC is 17:00 local, still open; 21:00 UTC is 18:00 local, closed.
    assert is_open(utc(2026, 1, 12, 20, 0), tz="America/Argentina/Buenos_Aires") is True
    assert is_open(utc(2026, 1, 12, 21, 0), tz="America/Argentina/Buenos_Aires") is False


def test_local_weekday_differs_from_utc_weekday():
    # Monday 01:00 in Tokyo is Sunday 16:00 UTC: open on Monday's local hours only.
    night = [Range(MON, 0, 3 * 60)]
    assert is_open(utc(2026, 3, 1, 16, 0), ranges=night, tz="Asia/Tokyo") is True
    assert is_open(utc(2026, 3, 1, 16, 0), ranges=night, tz="UTC") is False


def test_dst_spring_forward_keeps_local_wall_clock():
    # Europe/Madrid jumps from 02:00 to 03:00 on 2026-03-29 (a Sunday). Opening at 09:00 local is
    # 07:00 UTC after the change, 08:00 UTC the week before.
    sunday = [Range(SUN, 9 * 60, 10 * 60)]
    assert is_open(utc(2026, 3, 22, 8, 0), ranges=sunday, tz="Europe/Madrid") is True
    assert is_open(utc(2026, 3, 29, 7, 0), ranges=sunday, tz="Europe/Madrid") is True
    assert is_open(utc(2026, 3, 29, 8, 0), ranges=sunday, tz="Europe/Madrid") is False


def test_dst_fall_back_repeated_hour_is_open_both_times():
    # On 2026-10-25 Madrid repeats 02:00–03:00: both 00:30 UTC and 01:30 UTC are 02:30 local.
    early = [Range(SUN, 2 * 60, 3 * 60)]
    assert is_open(utc(2026, 10, 25, 0, 30), ranges=early, tz="Europe/Madrid") is True
    assert is_open(utc(2026, 10, 25, 1, 30), ranges=early, tz="Europe/Madrid") is True
    assert is_open(utc(2026, 10, 25, 2, 30), ranges=early, tz="Europe/Madrid") is False


def test_holiday_closes_the_whole_local_day():
    holiday = [dt.date(2026, 3, 3)]
    assert is_open(utc(2026, 3, 3, 12, 0), holidays=holiday) is False
    assert is_open(utc(2026, 3, 4, 12, 0), holidays=holiday) is True


def test_holiday_uses_the_local_date_not_the_utc_date():
    # 2026-03-03 23:30 UTC is already 2026-03-04 in Madrid.
    night_shift = [Range(0b1111111, 0, 24 * 60)]
    assert (
        is_open(
            utc(2026, 3, 3, 23, 30), ranges=night_shift, tz="Europe/Madrid", holidays=[dt.date(2026, 3, 4)]
        )
        is False
    )
    assert (
        is_open(
            utc(2026, 3, 3, 22, 30), ranges=night_shift, tz="Europe/Madrid", holidays=[dt.date(2026, 3, 4)]
        )
        is True
    )


def test_ranges_touching_midnight_have_no_gap():
    late = [Range(MON, 22 * 60, 24 * 60), Range(TUE, 0, 2 * 60)]
    assert is_open(utc(2026, 3, 2, 23, 59, 59), ranges=late) is True
    assert is_open(utc(2026, 3, 3, 0, 0, 0), ranges=late) is True
    assert is_open(utc(2026, 3, 3, 1, 59), ranges=late) is True
    assert is_open(utc(2026, 3, 3, 2, 0), ranges=late) is False
    assert is_open(utc(2026, 3, 2, 21, 59), ranges=late) is False


def test_naive_datetime_is_refused():
    with pytest.raises(ValueError):
        schedule.is_open(ranges=OFFICE, holidays=[], timezone="UTC", at=dt.datetime(2026, 3, 2, 10))


@pytest.mark.parametrize(
    ("ranges", "fragment"),
    [
        ([Range(MON, 9 * 60, 12 * 60), Range(MON_FRI, 11 * 60, 13 * 60)], "overlap on Mon"),
        ([Range(MON, 18 * 60, 9 * 60)], "must be later"),
        ([Range(MON, 9 * 60, 9 * 60)], "must be later"),
        ([Range(0, 9 * 60, 10 * 60)], "at least one weekday"),
        ([Range(MON, 9 * 60, 24 * 60 + 1)], "between 00:00 and 24:00"),
    ],
)
def test_invalid_schedules_are_explained(ranges, fragment):
    errors = schedule.validate_ranges(ranges)
    assert errors and fragment in " ".join(errors)


def test_touching_and_disjoint_ranges_are_valid():
    assert schedule.validate_ranges([Range(MON_FRI, 9 * 60, 13 * 60), Range(MON_FRI, 13 * 60, 18 * 60)]) == []
    assert schedule.validate_ranges([Range(MON, 9 * 60, 18 * 60), Range(SAT, 9 * 60, 18 * 60)]) == []


@pytest.mark.parametrize(
    ("text", "allow_24", "minutes"),
    [("09:00", False, 540), ("9:05", False, 545), ("24:00", True, 1440), ("00:00", False, 0)],
)
def test_parse_hhmm_accepts_24h_times(text, allow_24, minutes):
    assert schedule.parse_hhmm(text, allow_24=allow_24) == minutes


@pytest.mark.parametrize("text", ["24:00", "25:00", "12:60", "9", "9am", "12:5x", "", "-1:00"])
def test_parse_hhmm_rejects_non_times(text):
    with pytest.raises(ValueError):
        schedule.parse_hhmm(text, allow_24=False)


def test_next_change_finds_closing_then_opening():
    at = utc(2026, 3, 6, 17, 0)  # Friday 17:00, open
    closing = schedule.next_change(ranges=OFFICE, holidays=[], timezone="UTC", at=at)
    assert closing == utc(2026, 3, 6, 18, 0)
    opening = schedule.next_change(ranges=OFFICE, holidays=[], timezone="UTC", at=closing)
    assert opening == utc(2026, 3, 9, 9, 0)  # Monday


def test_next_change_skips_holidays_and_follows_dst():
    at = utc(2026, 3, 27, 19, 0)  # Friday evening in Madrid, closed
    opening = schedule.next_change(
        ranges=OFFICE, holidays=[dt.date(2026, 3, 30)], timezone="Europe/Madrid", at=at
    )
    # Monday 30th is a holiday; Tuesday 09:00 CEST (UTC+2) is 07:00 UTC.
    assert opening == utc(2026, 3, 31, 7, 0)


def test_next_change_is_none_for_always_open():
    always = [Range(0b1111111, 0, 24 * 60)]
    assert (
        schedule.next_change(ranges=always, holidays=[], timezone="UTC", at=utc(2026, 3, 2), horizon_days=10)
        is None
    )
