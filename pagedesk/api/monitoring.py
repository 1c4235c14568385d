"""REST for the board's numbers (mounted at /api/v1/campaigns): the same selectors as the board page,
so the API and the board cannot disagree. Role rules as in the UI: supervisors for the campaigns they
supervise, admins for all; agents 403."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from pagedesk.api.permissions import request_user
from pagedesk.api.schemas import READ_REFUSALS, ObjectId, refusals
from pagedesk.core import clock
from pagedesk.core.errors import ApplicationError
from pagedesk.monitoring.selectors import (
    board_campaign_get_for_user,
    board_snapshot,
    campaign_stats,
    local_today,
    period_for_days,
)

router = Router(tags=["monitoring"])


DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


class StatsQuery(Schema):
    # Strings checked by _day (for its message); the schema tells clients the format.
    date_from: str | None = Field(
        None,
        alias="from",
        description="First local day, YYYY-MM-DD (default today)",
        json_schema_extra={"format": "date", "pattern": DATE_PATTERN},
    )
    date_to: str | None = Field(
        None,
        alias="to",
        description="Last local day, YYYY-MM-DD (default = from)",
        json_schema_extra={"format": "date", "pattern": DATE_PATTERN},
    )


class StatsOut(Schema):
    campaign_id: int
    timezone: str
    date_from: dt.date = Field(serialization_alias="from")
    date_to: dt.date = Field(serialization_alias="to")
    period_start: dt.datetime
    period_end: dt.datetime
    inbound: int
    answered: int
    answered_within_sl: int
    abandoned: int
    abandoned_within_sl: int
    abandon_pct: float | None = Field(description="null when nothing was queued (shown as —)")
    service_level_pct: float | None = Field(description="null when nothing was answered or abandoned")
    service_level_with_abandoned_pct: float | None
    average_wait_seconds: float | None
    average_handle_seconds: float | None
    queued_now: int
    longest_wait_seconds: int | None
    with_bot_now: int = Field(
        description="Conversations with the campaign's bot now: open, not queued, in no queue figure."
    )
    sl_threshold_seconds: int
    service_level_target: int


class ConversationRefOut(Schema):
    conversation_id: int
    customer: str
    assigned_at: dt.datetime | None
    seconds_active: int
    chat_time_alarm: bool


class AgentOut(Schema):
    agent_id: int
    name: str
    username: str
    presence: str
    status: str
    break_reason: str | None
    has_open_interaction: bool
    completed_today: int
    active_now: int
    max_load: int
    status_since: dt.datetime
    seconds_in_status: int
    chat_time_alarm: bool
    conversations: list[ConversationRefOut]


class QueueOut(Schema):
    conversation_id: int
    customer: str
    psid: str
    queued_at: dt.datetime
    seconds_on_hold: int
    position: int
    sl_breach: bool


def _day(value: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ApplicationError(
            "invalid_date",
            _("“%(value)s” is not a date; use YYYY-MM-DD (a day in the campaign's time zone).")
            % {"value": value},
            status=422,
            field=field,
        ) from None


@router.get(
    "/{campaign_id}/stats",
    # 400: a range that is inverted or too long.
    response={200: StatsOut, **READ_REFUSALS, **refusals(400)},
    by_alias=True,
    summary="KPIs for local days",
)
def campaign_stats_api(
    request: HttpRequest, campaign_id: ObjectId, query: Query[StatsQuery]
) -> dict[str, object]:
    """The board's KPI strip for whole days `from`..`to` in the campaign's time zone (docs/metrics.md)."""
    campaign = board_campaign_get_for_user(user=request_user(request), campaign_id=campaign_id)
    now = clock.now()
    # `is not None`: an empty `?to=` is a malformed date, not "the default".
    first = (
        _day(query.date_from, "from")
        if query.date_from is not None
        else local_today(campaign=campaign, now=now)
    )
    last = _day(query.date_to, "to") if query.date_to is not None else first
    period = period_for_days(campaign=campaign, first_day=first, last_day=last)
    stats = campaign_stats(campaign=campaign, start=period.start, end=period.end, now=now)
    return {
        "campaign_id": campaign.pk,
        "timezone": campaign.timezone,
        "date_from": first,
        "date_to": last,
        "period_start": period.start,
        "period_end": period.end,
        **stats.as_dict(),
        "sl_threshold_seconds": campaign.sl_threshold_seconds,
        "service_level_target": campaign.service_level_target,
    }


@router.get(
    "/{campaign_id}/agents", response={200: list[AgentOut], **READ_REFUSALS}, summary="The board's agent rows"
)
def campaign_agents_api(request: HttpRequest, campaign_id: ObjectId) -> list[dict[str, object]]:
    campaign = board_campaign_get_for_user(user=request_user(request), campaign_id=campaign_id)
    snapshot = board_snapshot(campaign=campaign, now=clock.now())
    return [
        {
            **{k: v for k, v in vars(row).items() if k != "conversations" and k != "status_label"},
            "chat_time_alarm": row.chat_time_alarm,
            "conversations": [vars(c) for c in row.conversations],
        }
        for row in snapshot.agents
    ]


@router.get(
    "/{campaign_id}/queue",
    response={200: list[QueueOut], **READ_REFUSALS},
    summary="The campaign's queue, FIFO",
)
def campaign_queue_api(request: HttpRequest, campaign_id: ObjectId) -> list[dict[str, object]]:
    campaign = board_campaign_get_for_user(user=request_user(request), campaign_id=campaign_id)
    return [vars(row) for row in board_snapshot(campaign=campaign, now=clock.now()).queue]
