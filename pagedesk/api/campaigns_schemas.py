"""API shapes for campaigns and everything configured per campaign.

Numbers are bounded here as well as by the model: PositiveIntegerField columns are 32-bit on
PostgreSQL and SQLite refuses integers beyond 64 bits, so an unbounded number must never reach the
database. Optional fields default to None: an omitted field is "not given" (PATCH leaves it
unchanged), while an explicit null is refused with a 422 (OptionalFieldsSchema).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import ConfigDict, field_validator
from pydantic.config import JsonDict

from pagedesk.api.schemas import InputSchema, ObjectId, OptionalFieldsSchema
from pagedesk.campaigns import schedule as sched
from pagedesk.campaigns.models import Campaign
from pagedesk.campaigns.selectors import campaign_bot_state, campaign_is_open, integration_get
from pagedesk.campaigns.services import CAMPAIGN_FIELDS, TEXT_LIMITS, CannedSpec, HolidaySpec, MemberSpec

INT_MAX = 2_147_483_647  # PostgreSQL integer
SMALL_MAX = 32_767  # PostgreSQL smallint
WEEKDAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
StrategyName = Literal["ringall", "rrmemory", "linear", "wrandom", "leastrecent", "fewest"]
MAX_LIST = 500

# Shared by the examples below: the "Acme Support" campaign as the docs show it.
WEEKDAYS: JsonDict = {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00", "to": "18:00"}
SATURDAY: JsonDict = {"weekdays": ["sat"], "from": "10:00", "to": "14:00"}
CHRISTMAS: JsonDict = {"date": "2026-12-25", "name": "Christmas Day"}
NEW_YEAR: JsonDict = {"date": "2027-01-01", "name": "New Year's Day"}
GREETING_TEXT = "Hi {customer_first_name}, this is {agent_first_name} from Acme Support. How can I help?"
GREETING: JsonDict = {"title": "Greeting", "text": GREETING_TEXT}
AFTER_HOURS = "Thanks for writing to Acme Support! We are open Mon–Fri 9:00–18:00 and will answer then."
SETTINGS: JsonDict = {
    "name": "Acme Support",
    "page_name": "Acme Support",
    "enabled": True,
    "strategy": "rrmemory",
    "timezone": "Europe/Madrid",
    "service_level_target": 80,
    "sl_threshold_seconds": 60,
    "dropout_threshold_seconds": 600,
    "chat_time_threshold_seconds": 900,
    "acd_threshold": 5,
    "max_interactions_per_agent": 3,
    "wrap_up_seconds": 30,
    "after_hours_message": AFTER_HOURS,
    "human_agent_enabled": True,
    "close_queue_at_schedule_end": False,
    "transfer_timeout_seconds": 120,
}


# --- Schedule --------------------------------------------------------------------------------------


START_PATTERN = r"^\s*([01]?[0-9]|2[0-3]):[0-5]?[0-9]\s*$"
END_PATTERN = r"^\s*(([01]?[0-9]|2[0-3]):[0-5]?[0-9]|24:00?)\s*$"


class RangeSchema(InputSchema):
    """Open hours on some weekdays, local time in the campaign's time zone; "to" may be "24:00"."""

    weekdays: list[Weekday] = Field(
        min_length=1,
        max_length=7,
        examples=[["mon", "tue", "wed", "thu", "fri"]],
        # Documents what weekdays_once enforces.
        json_schema_extra={"uniqueItems": True},
    )
    # The patterns document the format for clients; the validators below keep their readable messages.
    start: str = Field(
        alias="from", max_length=5, examples=["09:00"], json_schema_extra={"pattern": START_PATTERN}
    )
    end: str = Field(alias="to", max_length=5, examples=["18:00"], json_schema_extra={"pattern": END_PATTERN})

    json_examples = [WEEKDAYS, SATURDAY]

    @field_validator("weekdays")
    @classmethod
    def weekdays_once(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(_("A weekday is listed twice."))
        return value

    @field_validator("start")
    @classmethod
    def start_is_hhmm(cls, value: str) -> str:
        sched.parse_hhmm(value, allow_24=False)
        return value

    @field_validator("end")
    @classmethod
    def end_is_hhmm(cls, value: str) -> str:
        sched.parse_hhmm(value, allow_24=True)
        return value

    def to_range(self) -> sched.Range:
        bits = 0
        for day in self.weekdays:
            bits |= 1 << WEEKDAY_CODES.index(day)
        return sched.Range(
            bits,
            sched.parse_hhmm(self.start, allow_24=False),
            sched.parse_hhmm(self.end, allow_24=True),
        )

    @staticmethod
    def dump(weekdays: int, start_minute: int, end_minute: int) -> dict[str, Any]:
        return {
            "weekdays": [code for day, code in enumerate(WEEKDAY_CODES) if weekdays & (1 << day)],
            "from": sched.format_minute(start_minute),
            "to": sched.format_minute(end_minute),
        }


class ScheduleIn(InputSchema):
    ranges: list[RangeSchema] = Field(max_length=50)

    json_examples = [
        {"ranges": [WEEKDAYS, SATURDAY]},
        {
            "ranges": [
                {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00", "to": "14:00"},
                {"weekdays": ["mon", "tue", "wed", "thu"], "from": "16:00", "to": "24:00"},
            ]
        },
    ]

    def to_ranges(self) -> list[sched.Range]:
        return [r.to_range() for r in self.ranges]


class ScheduleOut(Schema):
    timezone: str
    ranges: list[RangeSchema]
    is_open_now: bool
    next_change: dt.datetime | None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "timezone": "Europe/Madrid",
                    "ranges": [WEEKDAYS, SATURDAY],
                    "is_open_now": True,
                    "next_change": "2026-12-07T18:00:00+01:00",
                }
            ]
        }
    )


class HolidaySchema(InputSchema):
    date: dt.date
    name: str = Field("", max_length=TEXT_LIMITS["holiday_name"])

    json_examples = [CHRISTMAS]

    @field_validator("date", mode="before")
    @classmethod
    def date_is_text(cls, value: Any) -> Any:
        # pydantic reads a number as seconds since 1970 (0 was stored as 1970-01-01); the schema
        # promises a YYYY-MM-DD string.
        if isinstance(value, int | float):
            raise ValueError(_("Enter the date as YYYY-MM-DD."))
        return value

    def to_spec(self) -> HolidaySpec:
        return HolidaySpec(date=self.date, name=self.name)


class HolidaysIn(InputSchema):
    holidays: list[HolidaySchema] = Field(max_length=MAX_LIST)

    json_examples = [{"holidays": [CHRISTMAS, NEW_YEAR]}, {"holidays": []}]

    def to_specs(self) -> list[HolidaySpec]:
        return [h.to_spec() for h in self.holidays]


class HolidaysOut(Schema):
    holidays: list[HolidaySchema]

    model_config = ConfigDict(json_schema_extra={"examples": [{"holidays": [CHRISTMAS, NEW_YEAR]}]})


# --- Canned responses ------------------------------------------------------------------------------


class CannedIn(InputSchema):
    title: str = Field(min_length=1, max_length=TEXT_LIMITS["canned_title"])
    text: str = Field(
        min_length=1,
        max_length=TEXT_LIMITS["canned_text"],
        description="May use {customer_first_name} and {agent_first_name}.",
    )

    json_examples = [GREETING]

    def to_spec(self) -> CannedSpec:
        return CannedSpec(title=self.title, text=self.text)


class CannedPatch(OptionalFieldsSchema):
    title: str | None = Field(None, min_length=1, max_length=TEXT_LIMITS["canned_title"])
    text: str | None = Field(None, min_length=1, max_length=TEXT_LIMITS["canned_text"])

    json_examples = [{"text": "Hello {customer_first_name}! {agent_first_name} here. What can I do for you?"}]


class CannedOut(Schema):
    id: int
    title: str
    text: str
    position: int

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": 7, "position": 0, **GREETING},
                {
                    "id": 8,
                    "position": 1,
                    "title": "Goodbye",
                    "text": "Thanks for contacting Acme Support, {customer_first_name}. Have a nice day!",
                },
            ]
        }
    )


class OrderIn(InputSchema):
    ids: list[ObjectId] = Field(
        max_length=MAX_LIST, description="Every canned response id once, in the new order."
    )

    json_examples = [{"ids": [8, 7, 9]}]


# --- Campaigns -------------------------------------------------------------------------------------


class CampaignFields(OptionalFieldsSchema):
    """The scalar settings (services.CAMPAIGN_FIELDS); omitted = model default on create, unchanged on PATCH."""

    name: str | None = Field(None, min_length=1, max_length=100)
    page_name: str | None = Field(None, min_length=1, max_length=150)
    enabled: bool | None = Field(None, description="false disables the campaign and keeps all its data.")
    strategy: StrategyName | None = Field(None)
    timezone: str | None = Field(None, max_length=64, examples=["Europe/Madrid"])
    service_level_target: int | None = Field(None, ge=0, le=100, description="Service level target, %.")
    sl_threshold_seconds: int | None = Field(None, ge=0, le=INT_MAX)
    dropout_threshold_seconds: int | None = Field(None, ge=0, le=INT_MAX)
    chat_time_threshold_seconds: int | None = Field(None, ge=0, le=INT_MAX)
    acd_threshold: int | None = Field(
        None, ge=1, le=INT_MAX, description="Customers waiting that raise the alarm."
    )
    max_interactions_per_agent: int | None = Field(None, ge=1, le=50)
    wrap_up_seconds: int | None = Field(None, ge=0, le=3600)
    after_hours_message: str | None = Field(None, max_length=2000)
    human_agent_enabled: bool | None = Field(None)
    close_queue_at_schedule_end: bool | None = Field(None)
    transfer_timeout_seconds: int | None = Field(None, ge=0, le=INT_MAX)
    bot_integration_id: ObjectId | None = Field(
        None,
        description=(
            "Bot first: the integration whose bot answers new conversations before the queue (it must "
            "have this campaign among its campaigns); null = no bot, customers go straight to the queue."
        ),
        examples=[3, None],
    )
    bot_timeout_seconds: int | None = Field(
        None, ge=10, le=86400, description="A customer the bot leaves unanswered this long goes to the queue."
    )
    handoff_keywords: str | None = Field(
        None,
        max_length=500,
        description=(
            "Comma-separated; a customer message that is one of them (case, accents and punctuation "
            "aside) goes to the queue at once."
        ),
        examples=["agent, human, talk to a person"],
    )

    nullable = frozenset({"bot_integration_id"})

    json_examples = [
        {"enabled": False},
        {"strategy": "leastrecent", "max_interactions_per_agent": 2, "wrap_up_seconds": 60},
    ]


class CampaignIn(CampaignFields):
    """Create (POST) or replace (PUT). Lists given replace the stored ones; on create, no schedule
    means the default Mon–Fri 09:00–18:00."""

    name: str = Field(min_length=1, max_length=100)
    page_name: str = Field(min_length=1, max_length=150)
    schedule: list[RangeSchema] | None = Field(None, max_length=50)
    holidays: list[HolidaySchema] | None = Field(None, max_length=MAX_LIST)
    canned_responses: list[CannedIn] | None = Field(None, max_length=MAX_LIST)

    json_examples = [
        {
            **SETTINGS,
            "schedule": [WEEKDAYS, SATURDAY],
            "holidays": [CHRISTMAS, NEW_YEAR],
            "canned_responses": [GREETING],
        },
        {"name": "Acme Billing", "page_name": "Acme Billing", "timezone": "America/New_York"},
    ]

    def scalar_fields(self, *, replace: bool = False) -> dict[str, object]:
        """The settings given; with replace=True (PUT) every omitted one goes back to its default."""
        given = with_bot(self.dict(exclude_unset=True, exclude={"schedule", "holidays", "canned_responses"}))
        if not replace:
            return given
        defaults = {name: Campaign._meta.get_field(name).get_default() for name in CAMPAIGN_FIELDS}  # type: ignore[union-attr]
        return {**defaults, **given}

    def ranges(self) -> list[sched.Range] | None:
        return None if self.schedule is None else [r.to_range() for r in self.schedule]

    def holiday_specs(self) -> list[HolidaySpec] | None:
        return None if self.holidays is None else [h.to_spec() for h in self.holidays]

    def canned_specs(self) -> list[CannedSpec] | None:
        return None if self.canned_responses is None else [c.to_spec() for c in self.canned_responses]


class CampaignPatch(CampaignFields):
    """Any subset of the scalar settings; lists have their own endpoints."""

    json_examples = CampaignFields.json_examples

    def scalar_fields(self) -> dict[str, object]:
        return with_bot(self.dict(exclude_unset=True))


def with_bot(fields: dict[str, Any]) -> dict[str, object]:
    """The API names the bot by id; the service takes the integration (an unknown id is a 404)."""
    if "bot_integration_id" not in fields:
        return fields
    fields = dict(fields)
    bot_id = fields.pop("bot_integration_id")
    fields["bot_integration"] = (
        None if bot_id is None else integration_get(integration_id=bot_id, field="bot_integration_id")
    )
    return fields


class CampaignOut(Schema):
    id: int
    name: str
    page_name: str
    enabled: bool
    strategy: str
    timezone: str
    service_level_target: int
    sl_threshold_seconds: int
    dropout_threshold_seconds: int
    chat_time_threshold_seconds: int
    acd_threshold: int
    max_interactions_per_agent: int
    wrap_up_seconds: int
    after_hours_message: str
    human_agent_enabled: bool
    close_queue_at_schedule_end: bool
    transfer_timeout_seconds: int
    bot_integration_id: int | None = Field(description="The bot (an integration's id), or null: no bot.")
    bot_state: Literal["none", "active", "revoked", "out_of_scope"] = Field(
        description=(
            "none: no bot; active: new conversations start with the bot; revoked / out_of_scope: the bot "
            "set was revoked or is no longer given this campaign, so new conversations queue as without one."
        )
    )
    bot_timeout_seconds: int
    handoff_keywords: str
    schedule: list[RangeSchema]
    holidays: list[HolidaySchema]
    members_count: int
    token_status: str = Field(description="active | invalid | unknown (never activated).")
    page_id: str
    is_open_now: bool
    created_at: dt.datetime
    updated_at: dt.datetime

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    **SETTINGS,
                    "schedule": [WEEKDAYS, SATURDAY],
                    "holidays": [CHRISTMAS, NEW_YEAR],
                    "bot_integration_id": None,
                    "bot_state": "none",
                    "bot_timeout_seconds": 300,
                    "handoff_keywords": "agent, human, talk to a person",
                    "members_count": 2,
                    "token_status": "active",
                    "page_id": "104857600123456",
                    "is_open_now": True,
                    "created_at": "2026-11-02T10:31:07+01:00",
                    "updated_at": "2026-12-07T08:45:19+01:00",
                }
            ]
        }
    )

    @staticmethod
    def resolve_schedule(obj: Any) -> list[dict[str, Any]]:
        return [RangeSchema.dump(r.weekdays, r.start_minute, r.end_minute) for r in obj.schedule_ranges.all()]

    @staticmethod
    def resolve_holidays(obj: Any) -> list[dict[str, Any]]:
        return [{"date": h.date, "name": h.name} for h in obj.holidays.all()]

    @staticmethod
    def resolve_members_count(obj: Any) -> int:
        count = getattr(obj, "members_count", None)
        return int(count) if count is not None else obj.memberships.count()

    @staticmethod
    def resolve_token_status(obj: Any) -> str:
        try:
            return str(obj.page_connection.token_status)
        except ObjectDoesNotExist:
            return "unknown"

    @staticmethod
    def resolve_page_id(obj: Any) -> str:
        try:
            return str(obj.page_connection.page_id)
        except ObjectDoesNotExist:
            return ""

    @staticmethod
    def resolve_is_open_now(obj: Any) -> bool:
        return campaign_is_open(campaign=obj)

    @staticmethod
    def resolve_bot_state(obj: Any) -> str:
        return campaign_bot_state(campaign=obj)


# --- Members and supervisors -----------------------------------------------------------------------


class MemberIn(InputSchema):
    agent_id: ObjectId
    penalty: int = Field(0, ge=0, le=100, description="0–100; wrandom picks a higher penalty less often.")

    json_examples = [{"agent_id": 4, "penalty": 20}, {"agent_id": 3}]

    def to_spec(self) -> MemberSpec:
        return MemberSpec(agent_id=self.agent_id, penalty=self.penalty)


class MembersIn(InputSchema):
    members: list[MemberIn] = Field(max_length=MAX_LIST, description="The whole list, in routing order.")

    json_examples = [{"members": [{"agent_id": 3, "penalty": 0}, {"agent_id": 4, "penalty": 20}]}]

    def to_specs(self) -> list[MemberSpec]:
        return [m.to_spec() for m in self.members]


class MemberPatch(OptionalFieldsSchema):
    penalty: int | None = Field(None, ge=0, le=100)
    position: int | None = Field(None, ge=0, le=SMALL_MAX, description="0-based place in the member order.")

    json_examples = [{"penalty": 50}, {"position": 0}]


class MemberOut(Schema):
    agent_id: int
    username: str
    name: str
    position: int
    penalty: int
    presence: str

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "agent_id": 3,
                    "username": "alice",
                    "name": "Alice Martin",
                    "position": 0,
                    "penalty": 0,
                    "presence": "available",
                },
                {
                    "agent_id": 4,
                    "username": "bob",
                    "name": "Bobby",
                    "position": 1,
                    "penalty": 20,
                    "presence": "break",
                },
            ]
        }
    )

    @staticmethod
    def resolve_username(obj: Any) -> str:
        return str(obj.agent.username)

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return str(obj.agent.name)

    @staticmethod
    def resolve_presence(obj: Any) -> str:
        return str(obj.agent.presence)


class SupervisorsIn(InputSchema):
    supervisor_ids: list[ObjectId] = Field(max_length=MAX_LIST)

    json_examples = [{"supervisor_ids": [2]}, {"supervisor_ids": []}]


class SupervisorOut(Schema):
    id: int
    username: str
    name: str

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": 2, "username": "sam", "name": "Sam Ortiz"}]}
    )


# --- Dispositions and blocked contacts -------------------------------------------------------------


class DispositionIn(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    parent_id: ObjectId | None = Field(None, description="A top-level disposition of this campaign, or null.")

    json_examples = [{"name": "Sale"}, {"name": "Upgrade", "parent_id": 12}]


class DispositionRename(InputSchema):
    name: str = Field(min_length=1, max_length=100)

    json_examples = [{"name": "Sale closed"}]


UPGRADE: JsonDict = {"id": 13, "name": "Upgrade", "position": 0, "parent_id": 12}


class DispositionChildOut(Schema):
    id: int
    name: str
    position: int
    parent_id: int | None

    model_config = ConfigDict(json_schema_extra={"examples": [UPGRADE]})


class DispositionOut(DispositionChildOut):
    children: list[DispositionChildOut]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": 12, "name": "Sale", "position": 0, "parent_id": None, "children": [UPGRADE]},
                {"id": 14, "name": "Complaint", "position": 1, "parent_id": None, "children": []},
            ]
        }
    )

    @staticmethod
    def resolve_children(obj: Any) -> list[Any]:
        # Only the tree selector prefetches children; a fresh row (create/rename) reads them.
        return list(obj.children.all()) if obj.parent_id is None else []


class BlockedIn(InputSchema):
    psid: str = Field(min_length=1, max_length=TEXT_LIMITS["psid"])
    note: str = Field("", max_length=TEXT_LIMITS["note"])

    json_examples = [{"psid": "6584102938475612", "note": "Abusive messages, reported on 2026-12-01"}]


class BlockedOut(Schema):
    id: int
    psid: str
    note: str
    created_at: dt.datetime
    created_by_id: int | None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 5,
                    "psid": "6584102938475612",
                    "note": "Abusive messages, reported on 2026-12-01",
                    "created_at": "2026-12-01T16:20:44+01:00",
                    "created_by_id": 1,
                }
            ]
        }
    )
