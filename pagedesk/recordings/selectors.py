"""Reads for recordings: who may see which conversation, the filtered list, full-text search, the
transcript, attachments and the CSV export rows."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, Exists, F, Func, OuterRef, Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.sql.compiler import SQLCompiler
from django.utils.translation import gettext as _

from pagedesk.accounts.models import User
from pagedesk.campaigns.models import Campaign, Disposition
from pagedesk.conversations.models import (
    Attachment,
    Conversation,
    ConversationEvent,
    ConversationState,
    Message,
)
from pagedesk.core import clock
from pagedesk.core.errors import ApplicationError, NotFound
from pagedesk.recordings.fts import (
    FTS_VOCAB_TABLE,
    PG_ESTIMATE_SQL,
    PG_MATCH_SQL,
    PG_MESSAGE_MATCHES_SQL,
    SQLITE_MATCH_SQL,
    SQLITE_MESSAGE_MATCHES_SQL,
    fts_query,
    search_terms,
)
from pagedesk.routing.selectors import conversation_get_for_user, conversation_scope_for_user, took_part

EXPORT_CHUNK = 2000


# --- Who sees what ----------------------------------------------------------------------------------


def campaigns_visible_to(*, user: User) -> QuerySet[Campaign]:
    if user.is_admin:
        return Campaign.objects.order_by("name")
    if user.is_supervisor:
        return Campaign.objects.filter(supervisors=user).order_by("name")
    return Campaign.objects.filter(memberships__agent=user).order_by("name")


# --- The list ---------------------------------------------------------------------------------------


RECORDING_STATES = [
    ConversationState.CLOSED,
    ConversationState.ABANDONED,
    ConversationState.AFTER_HOURS,
    ConversationState.BLOCKED,
    ConversationState.QUEUED,
    ConversationState.ASSIGNED,
    ConversationState.BOT,
]


LIST_RELATED = ("campaign", "contact", "agent", "disposition", "disposition__parent")


@dataclass(frozen=True)
class RecordingFilters:
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    campaign_id: int | None = None
    agent_id: int | None = None
    customer: str = ""
    state: str = ""
    disposition_id: int | None = None
    text: str = ""

    def is_empty(self) -> bool:
        return self == RecordingFilters()


def _day_bounds(campaign: Campaign, first: dt.date | None, last: dt.date | None) -> Q:
    """created_at within local days first..last in that campaign's time zone."""
    tz = campaign.tzinfo
    condition = Q(campaign_id=campaign.pk)
    if first:
        condition &= Q(created_at__gte=dt.datetime.combine(first, dt.time(), tzinfo=tz))
    if last:
        condition &= Q(created_at__lt=dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz))
    return condition


# Words matching at least this share of all messages are "common" on PostgreSQL: their conversations
# are found by walking conversations newest first and probing each one's few messages (EXISTS), which
# stops after a page (or, for the count, after COUNT_CAP + 1 matches). Below it, the GIN index lists the
# matching messages once and their conversations are looked up by id. Measured at 1 M messages
# (bench/search.py data; first page, count included): share 28 % ("order") GIN ~0.5 s, walk ~0.05 s;
# 8 % ("order refund") GIN 0.42-0.52 s, walk 0.07 s; 2.3 % ("order refund thanks") both ~0.2 s;
# 1.1 % ("closed") GIN 0.05 s, walk 0.3 s; a rare or absent word: GIN milliseconds, walk seconds
# (every conversation probed). Hence the line at 3 %, just above where the two cost the same.
COMMON_TERM_SHARE = 0.03


def _pg_term_share(text: str) -> float:
    """The planner's estimate of the share of messages matching `text`, from the full-text index's
    statistics (ANALYZE keeps its most common lexemes and their frequencies); reads no rows. 0 when the
    table was never analysed, which keeps the GIN path (never ruinous, only slower for common words)."""
    with connection.cursor() as cursor:
        cursor.execute(PG_ESTIMATE_SQL, [text])
        (plan,) = cursor.fetchone()
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'conversations_message'::regclass")
        (messages,) = cursor.fetchone()
    if isinstance(plan, str):
        plan = json.loads(plan)
    if not messages or messages <= 0:
        return 0.0
    return float(plan[0]["Plan"]["Plan Rows"]) / float(messages)


def _sqlite_term_share(text: str) -> float:
    """The share of messages matching every word of `text`, from FTS5's own per-word document counts
    (the fts5vocab table) over the highest message id; words taken as independent, like PostgreSQL's
    estimate. A word the vocabulary spells differently (diacritics) counts as absent: the index path."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT MAX(id) FROM conversations_message")
        (messages,) = cursor.fetchone()
        if not messages:
            return 0.0
        share = 1.0
        for term in search_terms(text):
            cursor.execute(f"SELECT doc FROM {FTS_VOCAB_TABLE} WHERE term = %s", [term.lower()])  # noqa: S608
            row = cursor.fetchone()
            share *= (row[0] if row else 0) / messages
    return share


class _AroundPk(Func):
    """Raw SQL with `{pk}` standing for the model's primary key column, compiled under whatever alias
    the query gives the table (the message table is U0 inside an EXISTS, for instance)."""

    output_field = BooleanField()

    def __init__(self, sql: str, params: list[object]) -> None:
        super().__init__(F("pk"))
        self.sql, self.params = sql, params

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> Any:
        pk_sql, pk_params = compiler.compile(self.source_expressions[0])
        return self.sql.format(pk=pk_sql), [*pk_params, *self.params]


def text_match_condition(text: str) -> Q | Exists | _AroundPk:
    """Conversations with a message matching every word of `text`, through the full-text index.

    Common words: EXISTS per conversation (the walk, see COMMON_TERM_SHARE); otherwise the index's
    matches first. Both plans find the same conversations (tests run each for every word).
    """
    if connection.vendor == "postgresql":
        if _pg_term_share(text) >= COMMON_TERM_SHARE:
            matches = RawSQL(PG_MESSAGE_MATCHES_SQL, [text], output_field=BooleanField())  # noqa: S611
            return Exists(Message.objects.filter(conversation_id=OuterRef("pk")).filter(matches))
        return _AroundPk("{pk} = ANY(ARRAY(" + PG_MATCH_SQL + "))", [text])
    if _sqlite_term_share(text) >= COMMON_TERM_SHARE:
        probe = _AroundPk(SQLITE_MESSAGE_MATCHES_SQL, [fts_query(text)])
        return Exists(Message.objects.filter(conversation_id=OuterRef("pk")).filter(probe))
    return Q(pk__in=RawSQL(SQLITE_MATCH_SQL, [fts_query(text)]))  # noqa: S611 - parameterised, fixed SQL


def recording_list(*, user: User, filters: RecordingFilters) -> QuerySet[Conversation]:
    """The conversations `user` may see that match `filters`, newest first.

    Dates are local days in each conversation's campaign time zone (on created_at). The text filter
    matches conversations with at least one message containing every word of the text (whole words,
    case-insensitive), on PostgreSQL and SQLite alike.
    """
    if filters.date_from and filters.date_to and filters.date_to < filters.date_from:
        raise ApplicationError(
            "invalid_range", _("The end date is before the start date."), status=422, field="date_to"
        )
    conversations = conversation_scope_for_user(user=user)
    if filters.campaign_id:
        conversations = conversations.filter(campaign_id=filters.campaign_id)
    if filters.date_from or filters.date_to:
        campaigns = campaigns_visible_to(user=user)
        if filters.campaign_id:
            campaigns = campaigns.filter(pk=filters.campaign_id)
        window = Q(pk__in=[])
        for campaign in campaigns:
            window |= _day_bounds(campaign, filters.date_from, filters.date_to)
        conversations = conversations.filter(window)
    if filters.agent_id:
        conversations = conversations.filter(took_part(agent_id=filters.agent_id))
    if filters.state:
        conversations = conversations.filter(state=filters.state)
    if filters.disposition_id:
        conversations = conversations.filter(
            Q(disposition_id=filters.disposition_id) | Q(disposition__parent_id=filters.disposition_id)
        )
    customer = filters.customer.strip()
    if customer:
        by_name = Q()
        for word in customer.split():
            by_name &= Q(contact__first_name__icontains=word) | Q(contact__last_name__icontains=word)
        conversations = conversations.filter(by_name | Q(contact__psid=customer))
    if search_terms(filters.text):
        conversations = conversations.filter(text_match_condition(filters.text))
    return conversations.select_related(*LIST_RELATED).order_by("-created_at", "-pk")


@dataclass
class RecordingPage:
    """One page of the list. The total is counted up to COUNT_CAP: past that the page says "10,000+"
    instead of counting a common word's every match (the count would cost more than the page)."""

    items: list[Conversation]
    number: int
    per_page: int
    total: int
    total_capped: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number * self.per_page < self.total

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


COUNT_CAP = 10_000


def recording_page(
    *, conversations: QuerySet[Conversation], number: int, per_page: int = 50
) -> RecordingPage:
    """The capped count and the page's ids in one query when the matches fit under the cap (the usual
    case: one pass over the full-text index, then a sort of at most COUNT_CAP rows); past the cap the
    page comes from a second, ordered query that stops at the page. Then the page's rows with joins."""
    number = max(1, number)
    total, ids = _count_and_page(conversations, number=number, per_page=per_page)
    capped = total > COUNT_CAP
    total = min(total, COUNT_CAP)
    last = max(1, -(-total // per_page))
    if number > last:  # past the end (an edited URL, or rows gone since): show the last page
        number = last
        total, ids = _count_and_page(conversations, number=number, per_page=per_page)
        capped = total > COUNT_CAP
        total = min(total, COUNT_CAP)
    if capped:
        # The COUNT_CAP + 1 matches counted are any matches, not the newest: the page needs the order.
        # Ids first (a narrow sort or an ordered walk), then the page's rows with their joins.
        start = (number - 1) * per_page
        ids = list(conversations.values_list("pk", flat=True)[start : start + per_page])
    rows = {c.pk: c for c in conversations.model.objects.filter(pk__in=ids).select_related(*LIST_RELATED)}
    items = [rows[pk] for pk in ids if pk in rows]
    return RecordingPage(items=items, number=number, per_page=per_page, total=total, total_capped=capped)


def _count_and_page(
    conversations: QuerySet[Conversation], *, number: int, per_page: int
) -> tuple[int, list[int]]:
    """(matches counted up to COUNT_CAP + 1, ids of page `number` among them, newest first).

    The ids are the right page only when the count is not capped: then `matches` holds every match.
    """
    sql, params = (
        conversations.order_by().values_list("pk", "created_at")[: COUNT_CAP + 1].query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH matches (id, created_at) AS ({sql}) "  # noqa: S608 - Django's own SQL
            "SELECT id, COUNT(*) OVER () FROM matches ORDER BY created_at DESC, id DESC LIMIT %s OFFSET %s",
            [*params, per_page, (number - 1) * per_page],
        )
        rows = cursor.fetchall()
        if rows:
            return int(rows[0][1]), [row[0] for row in rows]
        if number == 1:  # no match at all
            return 0, []
        cursor.execute(f"SELECT COUNT(*) FROM ({sql}) matches", params)  # noqa: S608 - Django's own SQL
        (total,) = cursor.fetchone()
    return int(total), []


# --- Transcript -------------------------------------------------------------------------------------


@dataclass
class TimelineEntry:
    """One ConversationEvent with the names its ids refer to already resolved (for the template)."""

    kind: str
    at: dt.datetime
    actor: str
    agent: str
    from_agent: str
    to_agent: str
    note: str
    disposition: str
    reason: str = ""  # why a "returned_to_queue" happened without anyone returning it (routing.ReturnReason)


@dataclass
class Transcript:
    conversation: Conversation
    messages: list[Message]
    events: list[ConversationEvent]
    wait_seconds: float | None
    handle_seconds: float | None
    is_open: bool
    timeline: list[TimelineEntry]


def transcript_get(*, conversation: Conversation) -> Transcript:
    """Messages (with attachments and authors), the event timeline and the durations; four queries."""
    messages = list(
        conversation.messages.select_related("author")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("pk")))
        .order_by("created_at", "pk")
    )
    events = list(conversation.events.select_related("actor").order_by("at", "pk"))
    # Events name agents and dispositions by id in `data`; resolve them in one query each.
    user_ids: set[int] = set()
    disposition_ids: set[int] = set()
    for event in events:
        for key in ("agent_id", "from_agent_id", "to_agent_id"):
            if isinstance(event.data.get(key), int):
                user_ids.add(event.data[key])
        if isinstance(event.data.get("disposition_id"), int):
            disposition_ids.add(event.data["disposition_id"])
    user_names = {u.pk: u.name for u in User.objects.filter(pk__in=user_ids)} if user_ids else {}
    disposition_names = (
        {d.pk: str(d) for d in Disposition.objects.select_related("parent").filter(pk__in=disposition_ids)}
        if disposition_ids
        else {}
    )
    now = clock.now()
    # Wait: queued until assigned (or abandoned; or now, while still queued). Handle: assigned until
    # closed (or now, while still assigned). The same spans the KPIs average (docs/metrics.md).
    wait_end = conversation.assigned_at or conversation.abandoned_at
    if wait_end is None and conversation.state == ConversationState.QUEUED:
        wait_end = now
    wait = (
        (wait_end - conversation.queued_at).total_seconds() if conversation.queued_at and wait_end else None
    )
    handle_end = conversation.closed_at or (now if conversation.state == ConversationState.ASSIGNED else None)
    handle = (
        (handle_end - conversation.assigned_at).total_seconds()
        if conversation.assigned_at and handle_end
        else None
    )

    def name(value: object) -> str:
        return user_names.get(value, "") if isinstance(value, int) else ""

    timeline = [
        TimelineEntry(
            kind=event.kind,
            at=event.at,
            actor=event.actor.name if event.actor else "",
            agent=name(event.data.get("agent_id")) or (event.actor.name if event.actor else ""),
            from_agent=name(event.data.get("from_agent_id")),
            to_agent=name(event.data.get("to_agent_id")),
            note=str(event.data.get("note") or ""),
            reason=str(event.data.get("reason") or ""),
            disposition=disposition_names.get(event.data.get("disposition_id"), "")
            if isinstance(event.data.get("disposition_id"), int)
            else "",
        )
        for event in events
    ]
    return Transcript(
        conversation=conversation,
        messages=messages,
        events=events,
        wait_seconds=wait,
        handle_seconds=handle,
        is_open=conversation.is_open,
        timeline=timeline,
    )


def attachment_get_for_user(*, user: User, attachment_id: int) -> Attachment:
    """An attachment of a conversation `user` may read (the same rule as the transcript)."""
    attachment = Attachment.objects.select_related("message").filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound("not_found", _("There is no attachment with id %(id)s.") % {"id": attachment_id})
    conversation_get_for_user(user=user, conversation_id=attachment.message.conversation_id)
    return attachment


# --- Export -----------------------------------------------------------------------------------------

# The list's export says what the list shows (agents by name, "Category › Disposition", times in the
# campaign's zone with their offset) and adds what machines want (UTC, the zone's name) at the end, so
# the columns that were there keep their place.
EXPORT_COLUMNS = [
    "id",
    "created_at",
    "campaign",
    "state",
    "customer_first_name",
    "customer_last_name",
    "psid",
    "agent",
    "disposition",
    "queued_at",
    "assigned_at",
    "first_response_at",
    "closed_at",
    "abandoned_at",
    "created_at_utc",
    "timezone",
]
_EXPORT_FIELDS = [
    "pk",
    "created_at",
    "campaign__name",
    "campaign__timezone",
    "state",
    "contact__first_name",
    "contact__last_name",
    "contact__psid",
    "agent__display_name",
    "agent__first_name",
    "agent__last_name",
    "agent__username",
    "disposition__name",
    "disposition__parent__name",
    "queued_at",
    "assigned_at",
    "first_response_at",
    "closed_at",
    "abandoned_at",
]


def local_iso(value: dt.datetime | None, tz: dt.tzinfo) -> str:
    """ISO 8601 in the campaign's zone with its offset, to the second, as the screen shows it."""
    return value.astimezone(tz).isoformat(timespec="seconds") if value else ""


def utc_iso(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if value else ""


def _zone(name: str, cache: dict[str, dt.tzinfo]) -> dt.tzinfo:
    if name not in cache:
        cache[name] = zoneinfo.ZoneInfo(name)
    return cache[name]


def recording_export_rows(*, conversations: QuerySet[Conversation]) -> Iterator[tuple[object, ...]]:
    """Rows in EXPORT_COLUMNS order: plain tuples straight from the cursor in chunks, formatted as they
    pass, so memory stays flat whatever the row count. Names follow User.name and Disposition's str."""
    zones: dict[str, dt.tzinfo] = {}
    rows = conversations.values_list(*_EXPORT_FIELDS).iterator(chunk_size=EXPORT_CHUNK)
    try:
        for (
            pk,
            created_at,
            campaign,
            timezone,
            state,
            first_name,
            last_name,
            psid,
            agent_display,
            agent_first,
            agent_last,
            agent_username,
            disposition,
            category,
            *times,
        ) in rows:
            tz = _zone(timezone, zones)
            agent = agent_display or f"{agent_first or ''} {agent_last or ''}".strip() or agent_username or ""
            yield (
                pk,
                local_iso(created_at, tz),
                campaign,
                state,
                first_name,
                last_name,
                psid,
                agent,
                f"{category} › {disposition}" if category and disposition else disposition or "",
                *(local_iso(value, tz) for value in times),
                utc_iso(created_at),
                timezone,
            )
    finally:
        # Closed with the export (the client left): close the cursor now, in this thread.
        close = getattr(rows, "close", None)
        if close is not None:
            close()
