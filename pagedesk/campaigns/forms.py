"""Forms for the campaign administration pages.

The campaign form posts its repeating rows (schedule ranges, holidays, canned responses) as plain indexed
fields — `range-0-start`, `holiday-2-date`, `canned-1-title` — numbered in page order by app.js, so moving
a canned response up or down simply renumbers it. `CampaignEditor` parses all of it at once, keeps what
the admin typed for re-display, and hands the service one complete, validated set of arguments.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pagedesk.accounts.models import User
from pagedesk.campaigns import schedule
from pagedesk.campaigns.models import WEEKDAYS, Campaign, Integration, Strategy
from pagedesk.campaigns.selectors import bot_choices, campaign_ranges
from pagedesk.campaigns.services import CAMPAIGN_FIELDS, TEXT_LIMITS, CannedSpec, HolidaySpec, MemberSpec
from pagedesk.core.errors import ApplicationError
from pagedesk.core.forms import apply_error

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as StrOrPromise

# PositiveIntegerField's PostgreSQL range; larger numbers would fail in the database, not in the form.
INT_MAX = 2_147_483_647
# Far more rows than any real schedule needs; stops a crafted POST from building huge lists.
MAX_ROWS = 200

SECTIONS = ("schedule", "holidays", "canned_responses")


@cache
def timezone_names() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def _seconds(label: StrOrPromise, *, help_text: StrOrPromise = "", min_value: int = 0) -> forms.IntegerField:
    return forms.IntegerField(
        label=label, min_value=min_value, max_value=INT_MAX, help_text=help_text, widget=forms.NumberInput()
    )


BOT_TIMEOUT_DEFAULT = 300


class CampaignForm(forms.Form):
    """The scalar campaign fields (services.CAMPAIGN_FIELDS); the service re-checks them all."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    page_name = forms.CharField(
        label=gettext_lazy("Page name"),
        max_length=150,
        help_text=gettext_lazy("The Facebook Page's name as customers see it."),
    )
    enabled = forms.BooleanField(
        label=gettext_lazy("Enabled"),
        required=False,
        help_text=gettext_lazy(
            "A disabled campaign receives no conversations; its settings, members and history are kept."
        ),
    )
    strategy = forms.ChoiceField(label=gettext_lazy("Routing strategy"), choices=Strategy.choices)
    max_interactions_per_agent = forms.IntegerField(
        label=gettext_lazy("Max interactions per agent"),
        min_value=1,
        max_value=50,
        help_text=gettext_lazy("How many conversations an agent handles at the same time (1–50)."),
    )
    wrap_up_seconds = forms.IntegerField(
        label=gettext_lazy("Wrap-up (seconds)"),
        min_value=0,
        max_value=3600,
        help_text=gettext_lazy("Time after closing a conversation before the agent gets a new one (0–3600)."),
    )
    transfer_timeout_seconds = _seconds(
        gettext_lazy("Transfer timeout (seconds)"),
        help_text=gettext_lazy("0 = a transfer waits until someone takes it."),
    )
    service_level_target = forms.IntegerField(
        label=gettext_lazy("Service level target (%)"), min_value=0, max_value=100
    )
    sl_threshold_seconds = _seconds(
        gettext_lazy("Service level threshold (s)"),
        help_text=gettext_lazy(
            "A conversation answered within this many seconds counts as within service level."
        ),
    )
    dropout_threshold_seconds = _seconds(
        gettext_lazy("Dropout threshold (s)"),
        help_text=gettext_lazy("A queued customer silent this long is counted as abandoned. 0 = never."),
    )
    chat_time_threshold_seconds = _seconds(
        gettext_lazy("Chat time threshold (s)"),
        help_text=gettext_lazy("The board raises an alarm for conversations assigned longer than this."),
    )
    acd_threshold = forms.IntegerField(
        label=gettext_lazy("ACD max waiting"),
        min_value=1,
        max_value=INT_MAX,
        help_text=gettext_lazy("Customers waiting in the queue at which the board raises an alarm."),
    )
    timezone = forms.CharField(
        label=gettext_lazy("Time zone"),
        max_length=64,
        help_text=gettext_lazy(
            "Type to search, e.g. “Madrid” or “America/”. Open hours are local times here."
        ),
        widget=forms.TextInput(
            attrs={"list": "timezone-names", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    after_hours_message = forms.CharField(
        label=gettext_lazy("After-hours message"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Sent automatically to customers who write outside the schedule."),
    )
    human_agent_enabled = forms.BooleanField(
        label=gettext_lazy("Allow replies up to 7 days after the customer's last message (HUMAN_AGENT tag)"),
        required=False,
        help_text=gettext_lazy("Needs the Human Agent permission approved for your Facebook app."),
    )
    close_queue_at_schedule_end = forms.BooleanField(
        label=gettext_lazy("Close the queue at schedule end"),
        required=False,
        help_text=gettext_lazy("Customers still waiting when the schedule ends get the after-hours message."),
    )

    bot_integration = forms.ModelChoiceField(
        label=gettext_lazy("Bot"),
        queryset=Integration.objects.none(),
        required=False,
        empty_label=gettext_lazy("No bot: customers go straight to the queue"),
        help_text=gettext_lazy(
            "Bot first: new conversations start with this integration's bot, out of the queue, and reach "
            "the queue when the bot hands them off. Lists the integrations given this campaign."
        ),
    )
    bot_timeout_seconds = forms.IntegerField(
        label=gettext_lazy("Bot timeout (s)"),
        min_value=10,
        max_value=86400,
        required=False,
        help_text=gettext_lazy(
            "A customer the bot leaves unanswered this long goes to the queue (10–86400; empty = 300)."
        ),
    )
    handoff_keywords = forms.CharField(
        label=gettext_lazy("Hand-off keywords"),
        max_length=500,
        required=False,
        help_text=gettext_lazy(
            "Comma-separated, e.g. “agent, human, talk to a person”: a customer message that is one of them "
            "(case, accents and punctuation aside) goes to the queue at once."
        ),
    )

    def clean_name(self) -> str:
        return self.cleaned_data["name"].strip()

    def clean_bot_timeout_seconds(self) -> int:
        value = self.cleaned_data.get("bot_timeout_seconds")
        return BOT_TIMEOUT_DEFAULT if value is None else int(value)

    def clean_page_name(self) -> str:
        return self.cleaned_data["page_name"].strip()

    def clean_timezone(self) -> str:
        value = self.cleaned_data["timezone"].strip()
        if value not in timezone_names():
            raise forms.ValidationError(
                _("“%(tz)s” is not a known time zone. Pick one from the list, e.g. Europe/Madrid.")
                % {"tz": value}
            )
        return value


@dataclass
class RangeRow:
    days: list[int]
    start: str
    end: str


@dataclass
class HolidayRow:
    date: str
    name: str


@dataclass
class CannedRow:
    title: str
    text: str


_ROW_KEY = re.compile(r"^(range|holiday|canned)-(\d{1,4})-")


def _row_indices(data: Mapping[str, Any], prefix: str) -> list[int]:
    found: set[int] = set()
    for key in data:
        match = _ROW_KEY.match(key)
        if match and match.group(1) == prefix:
            found.add(int(match.group(2)))
    return sorted(found)[:MAX_ROWS]


def _campaign_initial(campaign: Campaign | None) -> dict[str, object]:
    if campaign is None:
        defaults = {name: Campaign._meta.get_field(name).get_default() for name in CAMPAIGN_FIELDS}  # type: ignore[union-attr]
        return {**defaults, "name": "", "page_name": ""}
    return {name: getattr(campaign, name) for name in CAMPAIGN_FIELDS}


class CampaignEditor:
    """The whole campaign form: scalar fields plus the schedule, holiday and canned-response rows."""

    def __init__(self, data: Mapping[str, Any] | None = None, *, campaign: Campaign | None = None) -> None:
        self.campaign = campaign
        self.bound = data is not None
        self.form = CampaignForm(data, initial=_campaign_initial(campaign))
        # The integrations given this campaign, and the bot set now even when revoked since, so that
        # saving the page never drops it silently (the page says it is not answering).
        bot_field = self.form.fields["bot_integration"]
        assert isinstance(bot_field, forms.ModelChoiceField)
        bot_field.queryset = bot_choices(campaign=campaign)
        self.section_errors: dict[str, list[str]] = {name: [] for name in SECTIONS}
        self.ranges: list[schedule.Range] = []
        self.holidays: list[HolidaySpec] = []
        self.canned: list[CannedSpec] = []
        if data is not None:
            self.range_rows = [
                RangeRow(
                    days=[
                        int(d)
                        for d in _getlist(data, f"range-{i}-day")
                        if d in {"0", "1", "2", "3", "4", "5", "6"}
                    ],
                    start=str(data.get(f"range-{i}-start", "")).strip(),
                    end=str(data.get(f"range-{i}-end", "")).strip(),
                )
                for i in _row_indices(data, "range")
            ]
            self.holiday_rows = [
                HolidayRow(
                    date=str(data.get(f"holiday-{i}-date", "")).strip(),
                    name=str(data.get(f"holiday-{i}-name", "")),
                )
                for i in _row_indices(data, "holiday")
            ]
            self.canned_rows = [
                CannedRow(
                    title=str(data.get(f"canned-{i}-title", "")), text=str(data.get(f"canned-{i}-text", ""))
                )
                for i in _row_indices(data, "canned")
            ]
        elif campaign is not None:
            self.range_rows = [
                RangeRow(
                    days=[d for d in range(7) if r.weekdays & (1 << d)],
                    start=schedule.format_minute(r.start_minute),
                    end=schedule.format_minute(r.end_minute),
                )
                for r in campaign_ranges(campaign=campaign)
            ]
            self.holiday_rows = [
                HolidayRow(date=h.date.isoformat(), name=h.name) for h in campaign.holidays.all()
            ]
            self.canned_rows = [
                CannedRow(title=c.title, text=c.text) for c in campaign.canned_responses.all()
            ]
        else:
            self.range_rows = [
                RangeRow(
                    days=[d for d in range(7) if schedule.DEFAULT_WEEKDAYS & (1 << d)],
                    start=schedule.format_minute(schedule.DEFAULT_START),
                    end=schedule.format_minute(schedule.DEFAULT_END),
                )
            ]
            self.holiday_rows = []
            self.canned_rows = []

    # --- validation ---------------------------------------------------------------------------------
    def is_valid(self) -> bool:
        form_ok = self.form.is_valid()
        self._parse_ranges()
        self._parse_holidays()
        self._parse_canned()
        return form_ok and not any(self.section_errors.values())

    def _parse_ranges(self) -> None:
        errors = self.section_errors["schedule"]
        # A row left completely empty (added by mistake) is ignored rather than refused.
        self.range_rows = [r for r in self.range_rows if r.days or r.start or r.end]
        for number, row in enumerate(self.range_rows, start=1):
            try:
                start = schedule.parse_hhmm(row.start, allow_24=False)
                end = schedule.parse_hhmm(row.end, allow_24=True)
            except ValueError as exc:
                errors.append(_("Range %(n)d: %(problem)s") % {"n": number, "problem": exc})
                continue
            weekdays = sum(1 << d for d in set(row.days))
            self.ranges.append(schedule.Range(weekdays, start, end))
        if not errors:
            errors.extend(schedule.validate_ranges(self.ranges))

    def _parse_holidays(self) -> None:
        errors = self.section_errors["holidays"]
        self.holiday_rows = [h for h in self.holiday_rows if h.date or h.name.strip()]
        seen: set[dt.date] = set()
        for number, row in enumerate(self.holiday_rows, start=1):
            try:
                day = dt.date.fromisoformat(row.date)
            except ValueError:
                errors.append(
                    _("Closed date %(n)d: “%(value)s” is not a date (YYYY-MM-DD).")
                    % {"n": number, "value": row.date}
                )
                continue
            if day in seen:
                errors.append(_("%(date)s is listed twice as a closed date.") % {"date": day.isoformat()})
            seen.add(day)
            if len(row.name.strip()) > TEXT_LIMITS["holiday_name"]:
                errors.append(
                    _("Closed date %(n)d: the name is limited to %(max)d characters.")
                    % {"n": number, "max": TEXT_LIMITS["holiday_name"]}
                )
            self.holidays.append(HolidaySpec(date=day, name=row.name.strip()))

    def _parse_canned(self) -> None:
        errors = self.section_errors["canned_responses"]
        self.canned_rows = [c for c in self.canned_rows if c.title.strip() or c.text.strip()]
        for number, row in enumerate(self.canned_rows, start=1):
            title, text = row.title.strip(), row.text.strip()
            if not title or not text:
                errors.append(_("Response %(n)d: give it both a title and a text.") % {"n": number})
            if len(title) > TEXT_LIMITS["canned_title"]:
                errors.append(
                    _("Response %(n)d: the title is limited to %(max)d characters.")
                    % {"n": number, "max": TEXT_LIMITS["canned_title"]}
                )
            if len(text) > TEXT_LIMITS["canned_text"]:
                errors.append(
                    _("Response %(n)d: the text is limited to %(max)s characters.")
                    % {"n": number, "max": f"{TEXT_LIMITS['canned_text']:,}"}
                )
            self.canned.append(CannedSpec(title=title, text=text))

    # --- hand-over to the service -------------------------------------------------------------------
    def service_kwargs(self) -> dict[str, Any]:
        """Arguments for campaign_create / campaign_update; only after is_valid() returned True."""
        return {
            "fields": {name: self.form.cleaned_data[name] for name in CAMPAIGN_FIELDS},
            "ranges": self.ranges,
            "holidays": self.holidays,
            "canned_responses": self.canned,
        }

    def apply_error(self, exc: ApplicationError) -> None:
        """Show a service refusal beside its field, in its section, or at the top of the form."""
        rest: dict[str, list[str]] = {}
        for name, messages in (exc.fields or {}).items():
            if name in self.section_errors:
                self.section_errors[name].extend(messages)
            else:
                rest[name] = messages
        if exc.fields and not rest:
            return
        apply_error(self.form, ApplicationError(exc.code, exc.message, fields=rest) if rest else exc)

    @property
    def has_errors(self) -> bool:
        return bool(self.form.errors) or any(self.section_errors.values())


def _getlist(data: Mapping[str, Any], key: str) -> list[str]:
    getlist = getattr(data, "getlist", None)
    if getlist is not None:
        return list(getlist(key))
    value = data.get(key)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


# --- Members ----------------------------------------------------------------------------------------


@dataclass
class MemberRow:
    agent: User
    penalty: str


@dataclass
class MembersEditor:
    """The member list as posted: `member` ids in page order, `penalty-<agent id>` for each."""

    rows: list[MemberRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    specs: list[MemberSpec] = field(default_factory=list)

    @classmethod
    def from_post(cls, data: Mapping[str, Any], *, agents: Mapping[int, User]) -> MembersEditor:
        editor = cls()
        seen: set[int] = set()
        for raw in _getlist(data, "member")[:MAX_ROWS]:
            try:
                agent_id = int(raw)
            except ValueError:
                editor.errors.append(_("“%(value)s” is not a user id.") % {"value": raw})
                continue
            if agent_id in seen:
                continue
            seen.add(agent_id)
            agent = agents.get(agent_id)
            penalty_raw = str(data.get(f"penalty-{agent_id}", "0")).strip() or "0"
            if agent is None:
                # Unknown ids and non-agents are refused by the service with a message naming them.
                editor.specs.append(MemberSpec(agent_id=agent_id, penalty=0))
                continue
            editor.rows.append(MemberRow(agent=agent, penalty=penalty_raw))
            try:
                penalty = int(penalty_raw)
            except ValueError:
                editor.errors.append(
                    _("Penalty for %(name)s: “%(value)s” is not a whole number.")
                    % {"name": agent.name, "value": penalty_raw}
                )
                continue
            if not 0 <= penalty <= 100:
                editor.errors.append(
                    _("Penalty for %(name)s must be between 0 and 100.") % {"name": agent.name}
                )
                continue
            editor.specs.append(MemberSpec(agent_id=agent_id, penalty=penalty))
        return editor


class SupervisorsForm(forms.Form):
    supervisors = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Supervisors"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Supervisors see this campaign in their table and on the board."),
    )

    def __init__(self, *args: Any, supervisors: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["supervisors"].choices = [(u.pk, u.name) for u in supervisors]  # type: ignore[attr-defined]


# --- Dispositions and blocked contacts ----------------------------------------------------------------


class DispositionForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)


class DispositionRenameForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("New name"), max_length=100)


class BlockedContactForm(forms.Form):
    psid = forms.CharField(
        label=gettext_lazy("PSID"),
        max_length=TEXT_LIMITS["psid"],
        help_text=gettext_lazy("The customer's page-scoped id (digits), shown on the conversation."),
    )
    note = forms.CharField(label=gettext_lazy("Note"), max_length=TEXT_LIMITS["note"], required=False)


def weekday_choices() -> list[tuple[int, str]]:
    return [(day, str(label)) for day, label in WEEKDAYS]
