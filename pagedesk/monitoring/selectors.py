"""The supervisor's numbers: KPI definitions (docs/metrics.md, docs/architecture.md §5) and the board snapshot.

One selector per KPI set; the board, the REST API and the tests all call these, so they cannot
disagree. Every figure is computed by SQL aggregates (a fixed number of queries whatever the traffic),
never by looping over conversation rows in Python.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.lookups import LessThanOrEqual
from django.utils.translation import gettext as _
from django_tasks_db.models import DBTaskResult, get_date_max

from pagedesk.accounts.models import DisplayStatus, Presence, User
from pagedesk.accounts.selectors import display_status
from pagedesk.campaigns.models import Campaign, Membership
from pagedesk.campaigns.selectors import campaign_get_for_user
from pagedesk.conversations.models import Contact, Conversation, ConversationState
from pagedesk.core import clock
from pagedesk.core.errors import ApplicationError, PermissionDenied
from pagedesk.messenger.models import InboundEvent, InboundEventStatus, PageConnection

# A stats range longer than this is refused (the API's 422): it would scan years of history per request.
MAX_RANGE_DAYS = 366

EXCLUDED_STATES = (ConversationState.AFTER_HOURS, ConversationState.BLOCKED)


def _duration(end: str, start: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


def _seconds(value: dt.timedelta | None) -> float:
    return value.total_seconds() if value is not None else 0.0


def _pct(numerator: int, denominator: int) -> float | None:
    """A percentage, or None ("—") when there is nothing to divide by: no traffic is not 0 %."""
    if denominator <= 0:
        return None
    return numerator * 100.0 / denominator


# --- Periods ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC covering whole local days first_day..last_day in the campaign's time zone."""

    start: dt.datetime
    end: dt.datetime
    first_day: dt.date
    last_day: dt.date


def period_for_days(*, campaign: Campaign, first_day: dt.date, last_day: dt.date) -> Period:
    """Local midnight of first_day to local midnight after last_day, in the campaign's time zone.

    A day is not always 24 h (DST), so the bounds are computed from wall-clock midnights, not by adding
    hours. Raises ApplicationError (400: a rule across both days, not a malformed one) when the range is
    inverted or too long.
    """
    if last_day < first_day:
        raise ApplicationError(
            "invalid_range",
            _("The end date %(to)s is before the start date %(from)s.") % {"to": last_day, "from": first_day},
            status=400,
            field="to",
        )
    if (last_day - first_day).days + 1 > MAX_RANGE_DAYS:
        raise ApplicationError(
            "range_too_long",
            _("Ask for at most %(days)s days at a time.") % {"days": MAX_RANGE_DAYS},
            status=400,
            field="to",
        )
    tz = campaign.tzinfo
    start = dt.datetime.combine(first_day, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), tzinfo=tz).astimezone(dt.UTC)
    return Period(start=start, end=end, first_day=first_day, last_day=last_day)


def local_today(*, campaign: Campaign, now: dt.datetime) -> dt.date:
    return now.astimezone(campaign.tzinfo).date()


def period_today(*, campaign: Campaign, now: dt.datetime) -> Period:
    today = local_today(campaign=campaign, now=now)
    return period_for_days(campaign=campaign, first_day=today, last_day=today)


# --- Campaign KPIs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignStats:
    """The counted facts of a period; the rates and means are derived properties (docs/metrics.md)."""

    inbound: int = 0
    answered: int = 0
    answered_within_sl: int = 0
    abandoned: int = 0
    abandoned_within_sl: int = 0
    wait_count: int = 0
    wait_total_seconds: float = 0.0
    handle_count: int = 0
    handle_total_seconds: float = 0.0
    # "Now" figures, independent of the period: the live queue.
    queued_now: int = 0
    longest_wait_seconds: int | None = None
    # With the campaign's bot now (state `bot`): open, but not queued and in no queue figure.
    with_bot_now: int = 0

    @property
    def service_level_pct(self) -> float | None:
        return _pct(self.answered_within_sl, self.answered + self.abandoned)

    @property
    def service_level_with_abandoned_pct(self) -> float | None:
        return _pct(self.answered_within_sl + self.abandoned_within_sl, self.answered + self.abandoned)

    @property
    def abandon_pct(self) -> float | None:
        return _pct(self.abandoned, self.inbound)

    @property
    def average_wait_seconds(self) -> float | None:
        return self.wait_total_seconds / self.wait_count if self.wait_count else None

    @property
    def average_handle_seconds(self) -> float | None:
        return self.handle_total_seconds / self.handle_count if self.handle_count else None

    def __add__(self, other: CampaignStats) -> CampaignStats:
        """Several campaigns together: counts and totals add, so rates and means stay exact."""
        waits = [w for w in (self.longest_wait_seconds, other.longest_wait_seconds) if w is not None]
        return CampaignStats(
            inbound=self.inbound + other.inbound,
            answered=self.answered + other.answered,
            answered_within_sl=self.answered_within_sl + other.answered_within_sl,
            abandoned=self.abandoned + other.abandoned,
            abandoned_within_sl=self.abandoned_within_sl + other.abandoned_within_sl,
            wait_count=self.wait_count + other.wait_count,
            wait_total_seconds=self.wait_total_seconds + other.wait_total_seconds,
            handle_count=self.handle_count + other.handle_count,
            handle_total_seconds=self.handle_total_seconds + other.handle_total_seconds,
            queued_now=self.queued_now + other.queued_now,
            longest_wait_seconds=max(waits) if waits else None,
            with_bot_now=self.with_bot_now + other.with_bot_now,
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "inbound": self.inbound,
            "answered": self.answered,
            "answered_within_sl": self.answered_within_sl,
            "abandoned": self.abandoned,
            "abandoned_within_sl": self.abandoned_within_sl,
            "abandon_pct": self.abandon_pct,
            "service_level_pct": self.service_level_pct,
            "service_level_with_abandoned_pct": self.service_level_with_abandoned_pct,
            "average_wait_seconds": self.average_wait_seconds,
            "average_handle_seconds": self.average_handle_seconds,
            "queued_now": self.queued_now,
            "longest_wait_seconds": self.longest_wait_seconds,
            "with_bot_now": self.with_bot_now,
        }


def campaign_stats_many(
    *, periods: Sequence[tuple[Campaign, dt.datetime, dt.datetime]], now: dt.datetime | None = None
) -> dict[int, CampaignStats]:
    """KPIs for several (campaign, start, end) at once: ONE grouped aggregate query.

    Each campaign brings its own period and its own SL threshold, expressed as per-campaign conditions
    inside the conditional aggregates, so campaigns in different time zones are still one query.
    """
    if not periods:
        return {}
    now = now or clock.now()
    in_period = Q()
    within_sl_answer = Q()
    within_sl_abandon = Q()
    for campaign, start, end in periods:
        sl = dt.timedelta(seconds=campaign.sl_threshold_seconds)
        in_period |= Q(campaign_id=campaign.pk, queued_at__gte=start, queued_at__lt=end)
        within_sl_answer |= Q(
            LessThanOrEqual(_duration("first_response_at", "queued_at"), Value(sl)), campaign_id=campaign.pk
        )
        within_sl_abandon |= Q(
            LessThanOrEqual(_duration("abandoned_at", "queued_at"), Value(sl)), campaign_id=campaign.pk
        )
    counted = in_period & ~Q(state__in=EXCLUDED_STATES)
    answered = counted & Q(first_response_at__isnull=False)
    abandoned = counted & Q(state=ConversationState.ABANDONED)
    waited = counted & Q(assigned_at__isnull=False)
    handled = counted & Q(state=ConversationState.CLOSED, assigned_at__isnull=False, closed_at__isnull=False)
    queued_now = Q(state=ConversationState.QUEUED)
    # A bot conversation has no queued_at (it is not in any period's figures) until its hand-off.
    with_bot_now = Q(state=ConversationState.BOT)

    rows = (
        Conversation.objects.filter(campaign_id__in=[c.pk for c, _s, _e in periods])
        .filter(in_period | queued_now | with_bot_now)
        .values("campaign_id")
        .annotate(
            inbound=Count("pk", filter=counted),
            answered=Count("pk", filter=answered),
            answered_within_sl=Count("pk", filter=answered & within_sl_answer),
            abandoned=Count("pk", filter=abandoned),
            abandoned_within_sl=Count(
                "pk", filter=abandoned & Q(abandoned_at__isnull=False) & within_sl_abandon
            ),
            wait_count=Count("pk", filter=waited),
            wait_total=Sum(_duration("assigned_at", "queued_at"), filter=waited),
            handle_count=Count("pk", filter=handled),
            handle_total=Sum(_duration("closed_at", "assigned_at"), filter=handled),
            queued_now=Count("pk", filter=queued_now),
            oldest_queued=Min("queued_at", filter=queued_now),
            with_bot_now=Count("pk", filter=with_bot_now),
        )
        .order_by("campaign_id")
    )
    result = {campaign.pk: CampaignStats() for campaign, _s, _e in periods}
    for row in rows:
        oldest = row["oldest_queued"]
        result[row["campaign_id"]] = CampaignStats(
            inbound=row["inbound"],
            answered=row["answered"],
            answered_within_sl=row["answered_within_sl"],
            abandoned=row["abandoned"],
            abandoned_within_sl=row["abandoned_within_sl"],
            wait_count=row["wait_count"],
            wait_total_seconds=_seconds(row["wait_total"]),
            handle_count=row["handle_count"],
            handle_total_seconds=_seconds(row["handle_total"]),
            queued_now=row["queued_now"],
            longest_wait_seconds=max(0, int((now - oldest).total_seconds())) if oldest else None,
            with_bot_now=row["with_bot_now"],
        )
    return result


def campaign_stats(
    *, campaign: Campaign, start: dt.datetime, end: dt.datetime, now: dt.datetime | None = None
) -> CampaignStats:
    """KPIs of conversations queued in [start, end) (docs/metrics.md); one SQL query."""
    return campaign_stats_many(periods=[(campaign, start, end)], now=now)[campaign.pk]


def campaign_stats_for_days(
    *, campaign: Campaign, first_day: dt.date, last_day: dt.date, now: dt.datetime | None = None
) -> CampaignStats:
    period = period_for_days(campaign=campaign, first_day=first_day, last_day=last_day)
    return campaign_stats(campaign=campaign, start=period.start, end=period.end, now=now)


def campaign_stats_today(*, campaign: Campaign, now: dt.datetime) -> CampaignStats:
    """Today's KPIs, "today" being the local day at `now` in the campaign's time zone."""
    period = period_today(campaign=campaign, now=now)
    return campaign_stats(campaign=campaign, start=period.start, end=period.end, now=now)


# --- Board snapshot ---------------------------------------------------------------------------------


@dataclass
class ActiveConversation:
    conversation_id: int
    campaign_id: int
    customer: str
    assigned_at: dt.datetime | None
    seconds_active: int
    chat_time_alarm: bool
    # The customer wrote last and nobody has answered since: when (for the board's "waiting" badge).
    unanswered_since: dt.datetime | None = None
    # Set only while the agent is on a Break: she keeps her chats, and this customer waits for her.
    waiting_since: dt.datetime | None = None
    seconds_waiting: int = 0


@dataclass
class AgentRow:
    agent_id: int
    name: str
    username: str
    presence: str
    status: str  # DisplayStatus value
    status_label: str
    break_reason: str | None
    has_open_interaction: bool
    completed_today: int
    active_now: int
    max_load: int
    status_since: dt.datetime
    seconds_in_status: int
    conversations: list[ActiveConversation] = field(default_factory=list)

    @property
    def chat_time_alarm(self) -> bool:
        return any(c.chat_time_alarm for c in self.conversations)


@dataclass
class QueueRow:
    conversation_id: int
    campaign_id: int
    campaign_name: str
    customer: str
    psid: str
    queued_at: dt.datetime
    seconds_on_hold: int
    position: int
    sl_breach: bool


@dataclass
class KpiStrip:
    stats: CampaignStats
    queue_length: int
    acd_threshold: int
    acd_alarm: bool
    service_level_target: int
    sl_below_target: bool
    sl_threshold_seconds: int
    longest_wait_alarm: bool
    oldest_queued_at: dt.datetime | None
    chat_time_threshold_seconds: int
    chat_time_alarms: int
    sl_breaches: int
    with_bot: int = 0  # conversations with the campaigns' bots now (not queued)
    with_bot_by_campaign: list[tuple[str, int]] = field(default_factory=list)  # (campaign name, count) > 0
    bot_first: bool = False  # one of the campaigns has a bot set: the board shows "With the bot", even 0


@dataclass
class BoardSnapshot:
    campaigns: list[Campaign]
    now: dt.datetime
    agents: list[AgentRow]
    queue: list[QueueRow]
    kpis: KpiStrip
    per_campaign: dict[int, CampaignStats]


def _status_label(status: str) -> str:
    return str(DisplayStatus(status).label)


_CUSTOMER = ("customer_first_name", "customer_last_name", "customer_psid")


def _with_customer(conversations: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """The contact's name and PSID looked up per row by primary key, not joined: for a few hundred
    rows PostgreSQL's default costs (random_page_cost 4) prefer hashing the whole contact table, which
    at 140,000 contacts took 11-30 ms against ~1-3 ms for the lookups (bench/board.py, all campaigns)."""
    contact = Contact.objects.filter(pk=OuterRef("contact_id"))
    return conversations.annotate(
        customer_first_name=Subquery(contact.values("first_name")[:1]),
        customer_last_name=Subquery(contact.values("last_name")[:1]),
        customer_psid=Subquery(contact.values("psid")[:1]),
    )


def _customer_name(first_name: str, last_name: str, psid: str) -> str:
    """Contact.display_name from three columns; the unnamed fallback stays the model's own."""
    return f"{first_name} {last_name}".strip() or Contact(psid=psid).display_name


def board_snapshot_for_campaigns(*, campaigns: Iterable[Campaign], now: dt.datetime) -> BoardSnapshot:
    """The board for one or several campaigns, in a fixed number of queries (five, whatever the size).

    1. members with their agent rows, 2. per-agent open load (all campaigns) and completed today,
    3. open assigned conversations of these campaigns (chat-time alarms), 4. the queues,
    5. the KPI aggregate. An agent in several of the campaigns is one row; their capacity is the
    largest of those campaigns' maxima (they are Busy only when no campaign can route to them).
    """
    campaigns = list(campaigns)
    campaign_ids = [c.pk for c in campaigns]
    by_id = {c.pk: c for c in campaigns}
    periods = {c.pk: period_today(campaign=c, now=now) for c in campaigns}

    memberships = list(
        Membership.objects.filter(campaign_id__in=campaign_ids)
        .select_related("agent", "agent__break_reason")
        .order_by("position", "id")
    )
    agents: dict[int, User] = {}
    max_load: dict[int, int] = {}
    for membership in memberships:
        agents.setdefault(membership.agent_id, membership.agent)
        cap = by_id[membership.campaign_id].max_interactions_per_agent
        max_load[membership.agent_id] = max(max_load.get(membership.agent_id, 0), cap)

    completed_today = Q()
    for cid, period in periods.items():
        completed_today |= Q(campaign_id=cid, closed_at__gte=period.start, closed_at__lt=period.end)
    loads = (
        {
            row["agent_id"]: row
            for row in Conversation.objects.filter(agent_id__in=list(agents))
            .filter(
                Q(state=ConversationState.ASSIGNED) | (Q(state=ConversationState.CLOSED) & completed_today)
            )
            .values("agent_id")
            .annotate(
                open=Count("pk", filter=Q(state=ConversationState.ASSIGNED)),
                completed=Count("pk", filter=Q(state=ConversationState.CLOSED) & completed_today),
            )
            .order_by()
        }
        if agents
        else {}
    )

    # Only the columns the board shows: these lists run to hundreds of rows on a busy floor, and whole
    # Conversation + Contact models (twenty columns, seven timestamps each) cost several times the query.
    active: dict[int, list[ActiveConversation]] = {}
    chat_time_alarms = 0
    for (
        conv_id,
        campaign_id,
        agent_id,
        assigned_at,
        customer_at,
        last_at,
        first_name,
        last_name,
        psid,
    ) in (
        _with_customer(
            Conversation.objects.filter(campaign_id__in=campaign_ids, state=ConversationState.ASSIGNED)
        )
        .order_by("assigned_at", "pk")
        .values_list(
            "pk",
            "campaign_id",
            "agent_id",
            "assigned_at",
            "last_customer_message_at",
            "last_message_at",
            *_CUSTOMER,
        )
    ):
        seconds = int((now - assigned_at).total_seconds()) if assigned_at else 0
        alarm = seconds > by_id[campaign_id].chat_time_threshold_seconds
        chat_time_alarms += alarm
        active.setdefault(agent_id or 0, []).append(
            ActiveConversation(
                conversation_id=conv_id,
                campaign_id=campaign_id,
                customer=_customer_name(first_name, last_name, psid),
                assigned_at=assigned_at,
                seconds_active=max(0, seconds),
                chat_time_alarm=alarm,
                # Every message sets last_message_at; an answer (or any later message) moves it past.
                unanswered_since=customer_at
                if customer_at and customer_at >= (last_at or customer_at)
                else None,
            )
        )

    agent_rows: list[AgentRow] = []
    for agent_id, agent in agents.items():
        load = loads.get(agent_id, {})
        open_count = int(load.get("open", 0))
        status = display_status(presence=agent.presence, load=open_count, max_load=max_load[agent_id])
        held = active.get(agent_id, [])
        if agent.presence == Presence.BREAK:
            for conversation in held:
                since = conversation.waiting_since = conversation.unanswered_since
                if since is not None:
                    conversation.seconds_waiting = max(0, int((now - since).total_seconds()))
        agent_rows.append(
            AgentRow(
                agent_id=agent_id,
                name=agent.name,
                username=agent.username,
                presence=agent.presence,
                status=str(status),
                status_label=_status_label(status),
                break_reason=agent.break_reason.name if agent.break_reason else None,
                has_open_interaction=open_count > 0,
                completed_today=int(load.get("completed", 0)),
                active_now=open_count,
                max_load=max_load[agent_id],
                status_since=agent.presence_changed_at,
                seconds_in_status=max(0, int((now - agent.presence_changed_at).total_seconds())),
                conversations=held,
            )
        )

    queue_rows: list[QueueRow] = []
    positions: dict[int, int] = {}
    for conv_id, campaign_id, queued_at, created_at, first_name, last_name, psid in (
        _with_customer(
            Conversation.objects.filter(campaign_id__in=campaign_ids, state=ConversationState.QUEUED)
        )
        .order_by("queue_order", "queued_at", "pk")
        .values_list("pk", "campaign_id", "queued_at", "created_at", *_CUSTOMER)
    ):
        positions[campaign_id] = positions.get(campaign_id, 0) + 1
        queued_at = queued_at or created_at
        seconds = max(0, int((now - queued_at).total_seconds()))
        queue_rows.append(
            QueueRow(
                conversation_id=conv_id,
                campaign_id=campaign_id,
                campaign_name=by_id[campaign_id].name,
                customer=_customer_name(first_name, last_name, psid),
                psid=psid,
                queued_at=queued_at,
                seconds_on_hold=seconds,
                position=positions[campaign_id],
                sl_breach=seconds > by_id[campaign_id].sl_threshold_seconds,
            )
        )
    # Several campaigns: the longest waiting first, whatever the campaign; positions stay per campaign.
    if len(campaigns) > 1:
        queue_rows.sort(key=lambda row: (row.queued_at, row.conversation_id))

    per_campaign = campaign_stats_many(
        periods=[(c, periods[c.pk].start, periods[c.pk].end) for c in campaigns], now=now
    )
    total = CampaignStats()
    for stats in per_campaign.values():
        total = total + stats

    # Thresholds: one campaign's own; for several, an alarm fires when any campaign's would.
    queue_lengths = {cid: positions.get(cid, 0) for cid in campaign_ids}
    acd_alarm = any(queue_lengths[c.pk] >= c.acd_threshold for c in campaigns)
    sl_below = any(
        (s := per_campaign[c.pk].service_level_pct) is not None and s < c.service_level_target
        for c in campaigns
    )
    longest_alarm = any(
        (w := per_campaign[c.pk].longest_wait_seconds) is not None and w > c.sl_threshold_seconds
        for c in campaigns
    )
    first = campaigns[0] if campaigns else None
    kpis = KpiStrip(
        stats=total,
        queue_length=len(queue_rows),
        acd_threshold=first.acd_threshold if len(campaigns) == 1 and first else 0,
        acd_alarm=acd_alarm,
        service_level_target=first.service_level_target if len(campaigns) == 1 and first else 0,
        sl_below_target=sl_below,
        sl_threshold_seconds=first.sl_threshold_seconds if len(campaigns) == 1 and first else 0,
        longest_wait_alarm=longest_alarm,
        oldest_queued_at=min((row.queued_at for row in queue_rows), default=None),
        chat_time_threshold_seconds=first.chat_time_threshold_seconds if len(campaigns) == 1 and first else 0,
        chat_time_alarms=chat_time_alarms,
        sl_breaches=sum(1 for row in queue_rows if row.sl_breach),
        with_bot=total.with_bot_now,
        with_bot_by_campaign=[(c.name, n) for c in campaigns if (n := per_campaign[c.pk].with_bot_now)],
        bot_first=any(c.bot_integration_id for c in campaigns),
    )
    return BoardSnapshot(
        campaigns=campaigns,
        now=now,
        agents=agent_rows,
        queue=queue_rows,
        kpis=kpis,
        per_campaign=per_campaign,
    )


def board_snapshot(*, campaign: Campaign, now: dt.datetime) -> BoardSnapshot:
    """One campaign's board (agents, queue, today's KPI strip); see board_snapshot_for_campaigns."""
    return board_snapshot_for_campaigns(campaigns=[campaign], now=now)


def board_campaigns_for_user(*, user: User) -> list[Campaign]:
    """Campaigns whose board the user may watch: admins all, supervisors theirs, agents none."""
    if user.is_admin:
        return list(Campaign.objects.order_by("name"))
    if user.is_supervisor:
        return list(Campaign.objects.filter(supervisors=user).order_by("name"))
    return []


def board_snapshot_for_user(*, user: User, now: dt.datetime) -> BoardSnapshot:
    """ "All my campaigns": every campaign the user supervises (admins: all) on one board."""
    return board_snapshot_for_campaigns(campaigns=board_campaigns_for_user(user=user), now=now)


def board_campaign_get_for_user(*, user: User, campaign_id: int) -> Campaign:
    """A campaign whose board `user` may watch; 403 for agents and other supervisors' campaigns."""
    if not (user.is_admin or user.is_supervisor):
        raise PermissionDenied("forbidden", _("Only supervisors and administrators can watch the board."))
    return campaign_get_for_user(user=user, campaign_id=campaign_id)


# --- Operations: what /metrics reports about the whole deployment -------------------------------------


@dataclass(frozen=True)
class OperationsFigures:
    """Backlogs read from the database, the same whichever process is asked (docs/deploy.md, Monitoring).

    Ages are seconds at `now`, 0 when nothing waits."""

    inbound_pending: int
    inbound_oldest_pending_seconds: float
    tasks_ready: dict[str, int]  # per queue: READY and due
    tasks_oldest_ready_seconds: dict[str, float]
    tasks_running: int
    queued: dict[str, int]  # per campaign name: conversations waiting for an agent
    queued_oldest_seconds: dict[str, float]
    page_tokens: dict[str, int]  # per token status, over connected pages


def operations_figures(*, now: dt.datetime | None = None) -> OperationsFigures:
    """Five aggregate queries, each on an indexed status column."""
    # Wall clock, like django-tasks-db's and the webhook's stamps (a frozen test clock must not age them).
    now = now or dt.datetime.now(dt.UTC)

    def age(oldest: dt.datetime | None) -> float:
        return max(0.0, (now - oldest).total_seconds()) if oldest else 0.0

    inbound = InboundEvent.objects.filter(status=InboundEventStatus.PENDING, known_page=True).aggregate(
        n=Count("pk"), oldest=Min("received_at")
    )
    ready = (
        # django-tasks-db's own "due" (an undeferred task's run_after is a far-future sentinel).
        DBTaskResult.objects.ready()
        .values("queue_name")
        # Due since its run_after when deferred, since its enqueue otherwise.
        .annotate(
            n=Count("pk"),
            oldest=Min(Case(When(run_after=get_date_max(), then=F("enqueued_at")), default=F("run_after"))),
        )
        .order_by()
    )
    queued = (
        Conversation.objects.filter(state=ConversationState.QUEUED)
        .values("campaign__name")
        .annotate(n=Count("pk"), oldest=Min("queued_at"))
        .order_by()
    )
    tokens = (
        PageConnection.objects.exclude(page_id="").values("token_status").annotate(n=Count("pk")).order_by()
    )
    return OperationsFigures(
        inbound_pending=inbound["n"],
        inbound_oldest_pending_seconds=age(inbound["oldest"]),
        tasks_ready={row["queue_name"]: row["n"] for row in ready},
        tasks_oldest_ready_seconds={row["queue_name"]: age(row["oldest"]) for row in ready},
        tasks_running=DBTaskResult.objects.filter(status="RUNNING").count(),
        queued={row["campaign__name"]: row["n"] for row in queued},
        queued_oldest_seconds={row["campaign__name"]: age(row["oldest"]) for row in queued},
        page_tokens={row["token_status"]: row["n"] for row in tokens},
    )
