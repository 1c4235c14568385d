"""REST for the board's numbers (mounted at /api/v1/campaigns): the same selectors as the board page,
so the API and the board cannot disagree. Role rules as in the UI: supervisors for the campaigns they
supervise, admins for all; agents 403."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import ConfigDict, Field
from pydantic.config import JsonDict

from pagedesk.api.conversations_schemas import local_day
from pagedesk.api.permissions import request_user
from pagedesk.api.schemas import READ_REFUSALS, ObjectId, refusals
from pagedesk.core import clock
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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "campaign_id": 1,
                    "timezone": "Europe/Madrid",
                    "from": "2026-12-07",
                    "to": "2026-12-07",
                    "period_start": "2026-12-07T00:00:00+01:00",
                    "period_end": "2026-12-08T00:00:00+01:00",
                    "inbound": 42,
                    "answered": 37,
                    "answered_within_sl": 31,
                    "abandoned": 3,
                    "abandoned_within_sl": 1,
                    "abandon_pct": 7.1,
                    "service_level_pct": 77.5,
                    "service_level_with_abandoned_pct": 80.0,
                    "average_wait_seconds": 41.6,
                    "average_handle_seconds": 412.3,
                    "queued_now": 2,
                    "with_bot_now": 1,
                    "longest_wait_seconds": 75,
                    "sl_threshold_seconds": 60,
                    "service_level_target": 80,
                }
            ]
        }
    )


CARLA_CHAT: JsonDict = {
    "conversation_id": 381,
    "customer": "Carla Gómez",
    "assigned_at": "2026-12-07T10:12:03+01:00",
    "seconds_active": 412,
    "chat_time_alarm": False,
}


class ConversationRefOut(Schema):
    conversation_id: int
    customer: str
    assigned_at: dt.datetime | None
    seconds_active: int
    chat_time_alarm: bool

    model_config = ConfigDict(json_schema_extra={"examples": [CARLA_CHAT]})


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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "agent_id": 3,
                    "name": "Alice Martin",
                    "username": "alice",
                    "presence": "available",
                    "status": "free",
                    "break_reason": None,
                    "has_open_interaction": True,
                    "completed_today": 14,
                    "active_now": 1,
                    "max_load": 3,
                    "status_since": "2026-12-07T09:02:11+01:00",
                    "seconds_in_status": 4432,
                    "chat_time_alarm": False,
                    "conversations": [CARLA_CHAT],
                },
                {
                    "agent_id": 4,
                    "name": "Bobby",
                    "username": "bob",
                    "presence": "break",
                    "status": "break",
                    "break_reason": "Lunch",
                    "has_open_interaction": False,
                    "completed_today": 9,
                    "active_now": 0,
                    "max_load": 3,
                    "status_since": "2026-12-07T13:05:40+01:00",
                    "seconds_in_status": 754,
                    "chat_time_alarm": False,
                    "conversations": [],
                },
            ]
        }
    )


class QueueOut(Schema):
    conversation_id: int
    customer: str
    psid: str
    queued_at: dt.datetime
    seconds_on_hold: int
    position: int
    sl_breach: bool

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "conversation_id": 402,
                    "customer": "Messenger user …5612",
                    "psid": "6584102938475612",
                    "queued_at": "2026-12-07T10:18:55+01:00",
                    "seconds_on_hold": 75,
                    "position": 1,
                    "sl_breach": True,
                }
            ]
        }
    )


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
    # local_day answers None only for an absent date: an empty `?to=` is a malformed date (422), not "the default".
    first = local_day(query.date_from, "from") or local_today(campaign=campaign, now=now)
    last = local_day(query.date_to, "to") or first
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
