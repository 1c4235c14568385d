"""Display helpers for KPI values: durations as h:mm:ss, percentages, and "—" for "no data"."""

from __future__ import annotations

from django import template

register = template.Library()

DASH = "—"


@register.filter
def duration(seconds: float | int | None) -> str:
    """63 → "1:03", 3725 → "1:02:05"; None (nothing to average) → "—"."""
    if seconds is None:
        return DASH
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


@register.filter
def pct(value: float | None) -> str:
    """A percentage with one decimal, or "—" when there was nothing to divide by."""
    if value is None:
        return DASH
    return f"{value:.1f} %"


@register.filter
def seconds_after(later: object, earlier: object) -> float | None:
    """Seconds from `earlier` to `later` (both datetimes), for the duration filter."""
    import datetime as dt

    if isinstance(later, dt.datetime) and isinstance(earlier, dt.datetime):
        return (later - earlier).total_seconds()
    return None
