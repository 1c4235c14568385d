"""Schedule evaluation: is a campaign open at an instant, and when does that next change?

Pure functions over plain values so they can be tested at every edge (time zones, DST, holidays,
ranges touching midnight) without a database. Times in the database are UTC; open hours are local
wall-clock times in the campaign's time zone, so conversion happens here and only here.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _

MINUTES_PER_DAY = 24 * 60
ALL_WEEKDAYS = 0b1111111
DEFAULT_WEEKDAYS = 0b0011111  # Mon–Fri
DEFAULT_START = 9 * 60
DEFAULT_END = 18 * 60


@dataclass(frozen=True)
class Range:
    weekdays: int  # bit 0 = Monday … bit 6 = Sunday
    start_minute: int  # inclusive, 0..1439
    end_minute: int  # exclusive, 1..1440 (1440 = "24:00")

    def covers(self, weekday: int, minute_of_day: float) -> bool:
        return bool(self.weekdays & (1 << weekday)) and self.start_minute <= minute_of_day < self.end_minute


def format_minute(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_hhmm(value: str, *, allow_24: bool) -> int:
    """ "09:30" → 570. Accepts 24:00 only as an end time. Raises ValueError with a readable message."""
    text = value.strip()
    parts = text.split(":")
    if len(parts) != 2 or not all(p.isdigit() and 1 <= len(p) <= 2 for p in parts):
        raise ValueError(_("“%(value)s” is not a time in 24-hour HH:MM format.") % {"value": value})
    hours, minutes = int(parts[0]), int(parts[1])
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not allow_24)):
        raise ValueError(_("“%(value)s” is not a time in 24-hour HH:MM format.") % {"value": value})
    return hours * 60 + minutes


def weekday_names(weekdays: int) -> str:
    names = [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]
    return ", ".join(name for day, name in enumerate(names) if weekdays & (1 << day))


def validate_ranges(ranges: Sequence[Range]) -> list[str]:
    """Every problem with a weekly schedule, as messages an admin can act on; empty when valid."""
    errors: list[str] = []
    for index, rng in enumerate(ranges, start=1):
        if not 0 < rng.weekdays <= ALL_WEEKDAYS:
            errors.append(_("Range %(n)d: choose at least one weekday.") % {"n": index})
        if not 0 <= rng.start_minute < MINUTES_PER_DAY or not 0 < rng.end_minute <= MINUTES_PER_DAY:
            errors.append(_("Range %(n)d: times must be between 00:00 and 24:00.") % {"n": index})
        elif rng.end_minute <= rng.start_minute:
            errors.append(
                _("Range %(n)d: “To” (%(end)s) must be later than “From” (%(start)s).")
                % {"n": index, "start": format_minute(rng.start_minute), "end": format_minute(rng.end_minute)}
            )
    if errors:
        return errors
    for i, first in enumerate(ranges):
        for j in range(i + 1, len(ranges)):
            second = ranges[j]
            shared = first.weekdays & second.weekdays
            # Half-open intervals: 09:00–12:00 and 12:00–18:00 touch but do not overlap.
            if shared and first.start_minute < second.end_minute and second.start_minute < first.end_minute:
                errors.append(
                    _("Ranges %(a)d and %(b)d overlap on %(days)s.")
                    % {"a": i + 1, "b": j + 1, "days": weekday_names(shared)}
                )
    return errors


def is_open(*, ranges: Iterable[Range], holidays: Iterable[dt.date], timezone: str, at: dt.datetime) -> bool:
    if at.tzinfo is None:
        raise ValueError("is_open() needs an aware datetime")
    local = at.astimezone(zoneinfo.ZoneInfo(timezone))
    if local.date() in set(holidays):
        return False
    minute = local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 60_000_000
    weekday = local.weekday()
    return any(rng.covers(weekday, minute) for rng in ranges)


def next_change(
    *,
    ranges: Sequence[Range],
    holidays: Iterable[dt.date],
    timezone: str,
    at: dt.datetime,
    horizon_days: int = 400,
) -> dt.datetime | None:
    """The first instant after `at` when is_open() flips, in UTC; None if it never does in the horizon.

    Candidates are the local boundaries (range starts/ends and midnights, which matter for holidays);
    each candidate is converted to UTC with fold=0, which handles DST gaps and repeats: a boundary that
    falls in a skipped hour happens at the first instant after the gap.
    """
    tz = zoneinfo.ZoneInfo(timezone)
    holiday_set = set(holidays)
    state = is_open(ranges=ranges, holidays=holiday_set, timezone=timezone, at=at)
    start_local = at.astimezone(tz)
    boundary_minutes = sorted(
        {0} | {r.start_minute for r in ranges} | {r.end_minute % MINUTES_PER_DAY for r in ranges}
    )
    for day_offset in range(horizon_days + 1):
        day = start_local.date() + dt.timedelta(days=day_offset)
        for minute in boundary_minutes:
            naive = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
            candidate = naive.replace(tzinfo=tz).astimezone(dt.UTC)
            if candidate <= at:
                continue
            if is_open(ranges=ranges, holidays=holiday_set, timezone=timezone, at=candidate) != state:
                return candidate
    return None
