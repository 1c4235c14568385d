"""Routing writes: queue, assign, take, close, requeue, transfer, abandon, after-hours (ARCHITECTURE.md §4).

Lock order, the same in every function here, so no two routing transactions can deadlock:

    campaign row (FOR NO KEY UPDATE, dispatch only) → conversation row → agent rows in pk order

* Dispatch for a campaign is serialised on the campaign row. That is what keeps the queue strictly
  FIFO: two dispatchers never hand out the head and the second-in-line in the wrong order. NO KEY
  UPDATE, not UPDATE, because every conversation insert takes KEY SHARE on its campaign and must not
  queue behind a dispatch.
* An agent's load only ever grows under that agent's row lock (dispatch, take, transfer, transfer
  return), and is re-counted after the lock is taken, so nobody exceeds max interactions however
  many processes route at once. On SQLite the IMMEDIATE transaction serialises all of it.
* Each assignment is its own short transaction with no HTTP in it. Realtime events and follow-up
  dispatches run after commit, so a rolled-back change neither reaches a browser nor triggers work.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import random
import zoneinfo
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Min, Q
from django.utils.translation import gettext as _

from pagedesk.accounts.models import Presence, User
from pagedesk.campaigns.models import BlockedContact, Campaign, Disposition, Membership, Strategy
from pagedesk.campaigns.selectors import campaign_is_open, campaign_next_schedule_change
from pagedesk.conversations.models import Conversation, ConversationEvent, ConversationState
from pagedesk.core import clock
from pagedesk.core.db import lock_objects
from pagedesk.core.errors import ApplicationError, NotFound, PermissionDenied
from pagedesk.realtime import groups
from pagedesk.realtime.events import (
    ConversationAbandoned,
    ConversationAssigned,
    ConversationClosed,
    ConversationQueued,
    ConversationTransferred,
    Event,
    QueueChanged,
)
from pagedesk.realtime.publish import publish
from pagedesk.routing import policy
from pagedesk.routing.models import AfterHoursNotice, AgentConnection, Assignment, Transfer, TransferState

logger = logging.getLogger(__name__)

QUEUED = ConversationState.QUEUED
ASSIGNED = ConversationState.ASSIGNED
# A campaign that never opens again still needs a period key for the once-per-period rule.
FAR_FUTURE = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
# A dispatch pass never loops forever, even if a bug kept re-queuing the same conversation.
MAX_ASSIGNMENTS_PER_PASS = 10_000
RETURN_TO_QUEUE_STEP = dt.timedelta(microseconds=1)

_rng = random.Random()  # wrandom; tests pass their own through set_rng()


def set_rng(rng: random.Random) -> None:
    """Seed wrandom's choices (tests and the bench)."""
    global _rng
    _rng = rng


# --- helpers -----------------------------------------------------------------------------------------


def _after_commit(func: Callable[[], object]) -> None:
    # robust: a failing follow-up (a dispatch, a publish) is logged and never undoes the committed
    # change; the minute reconciliation catches up whatever it left behind.
    transaction.on_commit(func, robust=True)


def _event(conversation: Conversation, kind: str, *, actor: User | None = None, **data: Any) -> None:
    ConversationEvent.objects.create(
        conversation=conversation, kind=kind, actor=actor, at=clock.now(), data=data
    )


def _queue_length(campaign_id: int) -> int:
    return Conversation.objects.filter(campaign_id=campaign_id, state=QUEUED).count()


def members_see_queue(campaign: Campaign) -> bool:
    """Whether the members' pages show this campaign's queue: only an enabled ringall campaign's
    members have a Pending list (inbox_lists). Other members show nothing of a queued conversation,
    its arrival or its assignment to someone else, so routing's events for it leave their group out:
    with hundreds of members that was most of the frames an arrival sent (docs/events.md)."""
    return campaign.enabled and campaign.strategy == Strategy.RINGALL


def _audience(campaign: Campaign, *agent_ids: int | None) -> list[str]:
    return _audience_of(campaign.pk, *agent_ids, members=members_see_queue(campaign))


def _audience_of(campaign_id: int, *agent_ids: int | None, members: bool) -> list[str]:
    """Supervisors always, the agents named, and the members' queue group when their pages show
    the queue."""
    to = [groups.supervisors(campaign_id), *(groups.agent(a) for a in agent_ids if a)]
    if members:
        to.append(groups.campaign_queue(campaign_id))
    return to


def _publish(campaign: Campaign, event: Event, *agent_ids: int | None) -> None:
    publish(event, to=_audience(campaign, *agent_ids))


def _publish_queue_changed(campaign: Campaign, *, members: bool = False) -> None:
    """The new queue length, for the board. Members hear it only with members=True: every other
    change of a queue they see also sends them a conversation event in the same transaction
    (queued, assigned, transferred, abandoned, closed), on which their Pending list and its count
    re-fetch anyway; a second event would be one more frame per member and one more re-fetch."""
    publish(
        QueueChanged(campaign_id=campaign.pk, length=_queue_length(campaign.pk)),
        to=_audience_of(campaign.pk, members=members and members_see_queue(campaign)),
    )


def _routes_itself(campaign: Campaign) -> bool:
    """An enabled campaign that assigns without a click (every strategy but ringall)."""
    return campaign.enabled and campaign.strategy != Strategy.RINGALL


def _queue_grew(campaign: Campaign) -> None:
    """The campaign's queue gained a conversation in this transaction: announce the new length and,
    when the campaign routes itself, dispatch after commit.

    A routing campaign's QueueChanged comes from the dispatch pass instead, with the length it left:
    the arrival's own length is out of date a few milliseconds later, and one event per change is
    enough (the board refreshes on it; no member's page shows a routing campaign's queue).
    """
    if _routes_itself(campaign):
        campaign_id = campaign.pk
        _after_commit(lambda: queue_dispatch(campaign=Campaign(pk=campaign_id), announce=True))
    else:
        _publish_queue_changed(campaign)


def _timer_run_after(due: dt.datetime) -> dt.datetime:
    """When a timer re-armed for `due` (a pagedesk.core.clock time) should run.

    The worker compares run_after with the real time, while `due` is on routing's clock, which tests
    and the simulator may freeze: re-armed at `due` itself, a timer whose clock is frozen in the past
    would run at once, find itself not due by that clock and re-arm for the same past time, for ever.
    Real time plus the wait still left runs it when it is due on a clock that moves, and at most once
    per wait on one that does not.
    """
    return dt.datetime.now(dt.UTC) + max(due - clock.now(), dt.timedelta(0))


def _bump(conversation: Conversation, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(conversation, name, value)
    conversation.version += 1
    conversation.save(update_fields=[*fields, "version"])


def _lock_conversation(conversation_id: int) -> Conversation:
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("campaign", "contact")
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        raise NotFound("not_found", _("There is no conversation with that id."))
    return conversation


def _load_counts(agent_ids: Iterable[int]) -> dict[int, int]:
    """Open assignments per agent, across all campaigns. Caller holds the agents' row locks."""
    rows = (
        Conversation.objects.filter(agent_id__in=list(agent_ids), state=ASSIGNED)
        .values("agent_id")
        .annotate(n=Count("id"))
        .values_list("agent_id", "n")
    )
    return dict(rows)


def _check_actor(conversation: Conversation, by: User) -> None:
    """The assigned agent acts on their own conversation; admins and the campaign's supervisors on any."""
    if by.is_admin:
        return
    if by.is_supervisor and conversation.campaign.supervisors.filter(pk=by.pk).exists():
        return
    if conversation.agent_id != by.pk:
        raise PermissionDenied("not_your_conversation", _("This conversation is assigned to someone else."))


def _require_state(conversation: Conversation, *states: str) -> None:
    if conversation.state not in states:
        raise ApplicationError(
            "wrong_state",
            _("The conversation is %(state)s; refresh to see its current state.")
            % {"state": conversation.get_state_display().lower()},
            status=409,
        )


def _send_system_message(*, conversation: Conversation, text: str) -> None:
    """The after-hours auto-reply, through the sending path (pending message + enqueued Graph send).

    Imported at call time so loading routing never pulls in the Messenger send stack; tests that are
    not about sending replace this function.
    """
    from pagedesk.conversations.sending import message_send

    message_send(conversation=conversation, author=None, text=text, sender_type="system")


# --- new conversations ---------------------------------------------------------------------------------


def conversation_route_new(
    *, conversation: Conversation, dispatch: bool = True, message_tells_members: bool = False
) -> Conversation:
    """Hand a newly opened, `queued` conversation to routing. Called inside the ingest transaction.

    Blocked contact → `blocked`, nothing sent. Outside the schedule → the after-hours message (once
    per closed period per contact) and `after_hours`. Otherwise it stays queued: a dispatch runs
    after the ingest commits (a disabled campaign records it and routes nothing), and a dropout
    timer is set.

    dispatch=False: the caller calls `conversation_arrival_dispatch` itself, after registering what
    it publishes about the arrival. On-commit callbacks run in registration order, so those events
    (the customer's message.created) then leave before the dispatch transaction runs, not after it.

    message_tells_members=True: the caller publishes the opening message's message.created to the
    campaign's members in the same commit (marked `pending` when they list the conversation), so
    conversation.queued goes to the supervisors only: one frame per member per arrival, not two
    (docs/events.md).
    """
    if conversation.state != QUEUED:
        return conversation
    campaign = conversation.campaign
    contact = conversation.contact
    now = clock.now()
    if BlockedContact.objects.filter(campaign=campaign, psid=contact.psid).exists():
        _bump(conversation, state=ConversationState.BLOCKED, closed_at=now)
        _event(conversation, "blocked")
        _publish_closed(campaign, conversation, agent_id=None)
        return conversation
    if not campaign_is_open(campaign=campaign, at=now):
        _close_after_hours(conversation, campaign=campaign, now=now)
        return conversation
    publish(
        ConversationQueued(
            conversation_id=conversation.pk,
            campaign_id=campaign.pk,
            version=conversation.version,
            reason="new",
        ),
        to=_audience_of(campaign.pk, members=members_see_queue(campaign) and not message_tells_members),
    )
    _schedule_dropout(conversation, campaign=campaign)
    if dispatch:
        conversation_arrival_dispatch(conversation=conversation)
    return conversation


def conversation_arrival_dispatch(*, conversation: Conversation) -> None:
    """The queue-length event and the after-commit dispatch for a conversation that
    `conversation_route_new(dispatch=False)` left queued; nothing when it closed it."""
    if conversation.state == QUEUED:
        _queue_grew(conversation.campaign)


def _close_after_hours(conversation: Conversation, *, campaign: Campaign, now: dt.datetime) -> None:
    period_end = campaign_next_schedule_change(campaign=campaign, at=now) or FAR_FUTURE
    send = False
    if campaign.after_hours_message.strip():
        try:
            # One savepoint for the once-per-period row and the send: a duplicate row (already sent
            # this period, perhaps by a concurrent ingest) or a refusal from the sending path undoes
            # both without failing the ingest transaction, which would otherwise retry the webhook
            # for ever. Sent while the conversation is still open, so the sending path accepts it.
            with transaction.atomic():
                AfterHoursNotice.objects.create(
                    campaign=campaign, contact=conversation.contact, period_end=period_end, sent_at=now
                )
                _send_system_message(conversation=conversation, text=campaign.after_hours_message)
            send = True
        except IntegrityError:
            pass
        except Exception:
            logger.exception("after-hours message for conversation %s could not be queued", conversation.pk)
    _bump(conversation, state=ConversationState.AFTER_HOURS, closed_at=now)
    _event(conversation, "after_hours", message_sent=send, period_end=period_end.isoformat())
    _publish_closed(campaign, conversation, agent_id=None)


def _publish_closed(campaign: Campaign, conversation: Conversation, *, agent_id: int | None) -> None:
    _publish(
        campaign,
        ConversationClosed(
            conversation_id=conversation.pk,
            campaign_id=campaign.pk,
            agent_id=agent_id,
            state=conversation.state,
            version=conversation.version,
        ),
        agent_id,
    )


# --- dispatch ------------------------------------------------------------------------------------------


class Routed(NamedTuple):
    """One assignment made by a dispatch pass."""

    conversation_id: int
    agent_id: int


def queue_dispatch(*, campaign: Campaign, announce: bool = False) -> list[Routed]:
    """Assign queued conversations, oldest first, while an eligible agent exists.

    One short transaction per assignment. ringall and disabled campaigns assign nothing here (ringall
    waits for a Take). Returns what was assigned, in order; one QueueChanged per pass that assigned,
    or (announce=True: the queue grew just before, see _queue_grew) per pass whatever it did.

    The pass stops as soon as the last decision's own reads show an empty queue or no free member,
    without another transaction to find that out: whatever changes that afterwards (an arrival, a
    requeue, a freed slot, an agent becoming Available) commits later and triggers its own dispatch,
    and the minute reconciliation backs that up.
    """
    campaign_id = campaign.pk
    assigned: list[Routed] = []
    try:
        _dispatch_pass(campaign_id, assigned)
    finally:
        # Also after a failed decision: what was assigned before it, or the arrival that asked for
        # the announcement, still changed the length the board shows.
        if assigned or announce:
            # A dispatching campaign is not ringall: the members' pages do not show its queue.
            publish(
                QueueChanged(campaign_id=campaign_id, length=_queue_length(campaign_id)),
                to=_audience_of(campaign_id, members=False),
            )
    return assigned


def _dispatch_pass(campaign_id: int, assigned: list[Routed]) -> None:
    stale_picks = 0
    for _step in range(MAX_ASSIGNMENTS_PER_PASS):
        outcome = _assign_next(campaign_id=campaign_id)
        if outcome is _STALE_PICK:
            # The picked agent changed between the snapshot and the lock (another campaign, a Take,
            # a presence change): decide again on fresh data. Bounded, in case something keeps
            # flipping; the next trigger or the minute reconciliation continues.
            stale_picks += 1
            if stale_picks > MAX_STALE_PICKS:
                logger.warning(
                    "dispatch for campaign %s gave up after %d stale picks", campaign_id, stale_picks
                )
                break
            continue
        if outcome is None:
            break
        assert isinstance(outcome, _Decision)
        assigned.append(outcome.routed)
        if not (outcome.more_queued and outcome.more_free):
            break


_STALE_PICK = object()
MAX_STALE_PICKS = 20


class _StalePick(Exception):
    pass


@dataclasses.dataclass(frozen=True, slots=True)
class _Decision:
    routed: Routed
    more_queued: bool  # another conversation was queued behind the one assigned
    more_free: bool  # another free slot was left among the members read for this decision


def _assign_next(*, campaign_id: int) -> _Decision | object | None:
    try:
        return _try_assign_next(campaign_id=campaign_id)
    except _StalePick:
        return _STALE_PICK


# The dispatch transaction's statements. Hand-written rather than built by the ORM: a decision runs
# them once per queued customer, and with hundreds of members the ORM's query compilation and model
# instances cost more than the database work (docs/decisions/routing-locks.md). Only the columns
# routing needs are read. {names} are table names and constants from the models, filled in once by
# _dispatch_sql; values always go through %(name)s parameters.
_DISPATCH_TEMPLATES = {
    # The last served agent's ring position comes along for rrmemory (None when not a member).
    "lock_campaign": """
        SELECT c.enabled, c.strategy, c.max_interactions_per_agent, c.rr_last_agent_id, c.timezone,
               (SELECT p.position FROM {membership} p WHERE p.campaign_id = c.id AND p.agent_id = c.rr_last_agent_id)
        FROM {campaign} c WHERE c.id = %(campaign)s {lock_no_key}""",
    # The head, and whether anyone waits behind it (a pass ends without one more transaction).
    "lock_head": """
        SELECT h.id, h.version, h.transferred_by_id IS NOT NULL,
               EXISTS (SELECT 1 FROM {conversation} n
                       WHERE n.campaign_id = h.campaign_id AND n.state = '{queued}' AND n.id <> h.id)
        FROM {conversation} h WHERE h.campaign_id = %(campaign)s AND h.state = '{queued}'
        ORDER BY h.queue_order, h.id LIMIT 1 {lock_head}""",
    # Available members with their open assignments in every campaign (load counts across campaigns).
    # last_assigned_at only for leastrecent: parsing a datetime per member is most of the Python
    # cost of this read, and no other strategy looks at it.
    "candidates": """
        SELECT m.agent_id, m.position, m.penalty, NULL,
               (SELECT COUNT(*) FROM {conversation} l WHERE l.agent_id = m.agent_id AND l.state = '{assigned}')
        FROM {membership} m JOIN {user} u ON u.id = m.agent_id
        WHERE m.campaign_id = %(campaign)s AND u.presence = '{available}' AND u.is_active""",
    "candidates_leastrecent": """
        SELECT m.agent_id, m.position, m.penalty, u.last_assigned_at,
               (SELECT COUNT(*) FROM {conversation} l WHERE l.agent_id = m.agent_id AND l.state = '{assigned}')
        FROM {membership} m JOIN {user} u ON u.id = m.agent_id
        WHERE m.campaign_id = %(campaign)s AND u.presence = '{available}' AND u.is_active""",
    # fewest: plus this campaign's assignments since local midnight.
    "candidates_fewest": """
        SELECT m.agent_id, m.position, m.penalty, NULL,
               (SELECT COUNT(*) FROM {conversation} l WHERE l.agent_id = m.agent_id AND l.state = '{assigned}'),
               (SELECT COUNT(*) FROM {assignment} a
                WHERE a.campaign_id = m.campaign_id AND a.agent_id = m.agent_id AND a.at >= %(midnight)s)
        FROM {membership} m JOIN {user} u ON u.id = m.agent_id
        WHERE m.campaign_id = %(campaign)s AND u.presence = '{available}' AND u.is_active""",
    # Takes the agent's row lock; PostgreSQL re-checks the WHERE on the newest row version after any
    # wait, so no row means the agent left (Break, Offline, deactivated) meanwhile.
    "lock_agent": """
        UPDATE {user} SET last_assigned_at = %(at)s
        WHERE id = %(agent)s AND presence = '{available}' AND is_active""",
    # The re-count under the agent's lock: this statement starts after the lock was granted, so it
    # sees every assignment committed by whoever held the lock before. No row updated = full.
    "assign": """
        UPDATE {conversation}
        SET state = '{assigned}', agent_id = %(agent)s, assigned_at = COALESCE(assigned_at, %(at)s),
            version = version + 1
        WHERE id = %(conversation)s
          AND (SELECT COUNT(*) FROM {conversation} l WHERE l.agent_id = %(agent)s AND l.state = '{assigned}')
              < %(max_load)s""",
    "rr_pointer": "UPDATE {campaign} SET rr_last_agent_id = %(agent)s WHERE id = %(campaign)s",
    "accept_transfer": """
        UPDATE {transfer} SET state = '{accepted}', resolved_at = %(at)s
        WHERE conversation_id = %(conversation)s AND state = '{pending}'""",
    "insert_assignment": """
        INSERT INTO {assignment} (conversation_id, campaign_id, agent_id, how, at)
        VALUES (%(conversation)s, %(campaign)s, %(agent)s, 'routed', %(at)s)""",
    "insert_event": """
        INSERT INTO {event} (conversation_id, kind, actor_id, at, data)
        VALUES (%(conversation)s, 'assigned', NULL, %(at)s, %(event_data)s)""",
    # PostgreSQL: all the writes after the agent lock in one round trip (data-modifying CTEs share
    # one snapshot, taken after the lock was granted, like the separate statements on SQLite). The
    # other writes happen only when the conditional UPDATE assigned; the row count is the event's.
    "assign_all": """
        WITH assigned AS ({assign} RETURNING id){rr_pointer_cte}{accept_transfer_cte},
        recorded AS (
            INSERT INTO {assignment} (conversation_id, campaign_id, agent_id, how, at)
            SELECT id, %(campaign)s, %(agent)s, 'routed', %(at)s FROM assigned
        )
        INSERT INTO {event} (conversation_id, kind, actor_id, at, data)
        SELECT id, 'assigned', NULL, %(at)s, %(event_data)s FROM assigned""",
}
_RR_POINTER_CTE = """, pointer AS ({rr_pointer} AND EXISTS (SELECT 1 FROM assigned))"""
_ACCEPT_TRANSFER_CTE = """, accepted AS ({accept_transfer} AND EXISTS (SELECT 1 FROM assigned))"""


@functools.cache
def _dispatch_sql(vendor: str) -> dict[str, str]:
    """The statements with table names and constants filled in; `assign_all:<rr>:<transfer>` are the
    PostgreSQL variants with or without the rrmemory pointer and the pending-transfer update."""
    pg = vendor == "postgresql"
    names = {
        "campaign": Campaign._meta.db_table,
        "conversation": Conversation._meta.db_table,
        "membership": Membership._meta.db_table,
        "user": User._meta.db_table,
        "assignment": Assignment._meta.db_table,
        "transfer": Transfer._meta.db_table,
        "event": ConversationEvent._meta.db_table,
        "queued": QUEUED,
        "assigned": ASSIGNED,
        "available": Presence.AVAILABLE,
        "accepted": TransferState.ACCEPTED,
        "pending": TransferState.PENDING,
        # SQLite has no row locks: the IMMEDIATE transaction already holds the database's write lock.
        "lock_no_key": "FOR NO KEY UPDATE" if pg else "",
        "lock_head": "FOR UPDATE OF h" if pg else "",
    }
    sql = {key: template.format_map(_KeepMissing(names)) for key, template in _DISPATCH_TEMPLATES.items()}
    combined = sql.pop("assign_all")
    for rr in (False, True):
        for accept in (False, True):
            sql[f"assign_all:{rr:d}:{accept:d}"] = combined.format(
                assign=sql["assign"],
                rr_pointer_cte=_RR_POINTER_CTE.format(rr_pointer=sql["rr_pointer"]) if rr else "",
                accept_transfer_cte=(
                    _ACCEPT_TRANSFER_CTE.format(accept_transfer=sql["accept_transfer"]) if accept else ""
                ),
            )
    return {key: " ".join(statement.split()) for key, statement in sql.items()}


class _KeepMissing(dict[str, str]):
    """format_map leaves the placeholders it has no value for, for the second pass."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _try_assign_next(*, campaign_id: int) -> _Decision | object | None:
    """One routing decision and assignment in one short transaction (docs/decisions/routing-locks.md).

    1. Lock the campaign row: dispatches of one campaign run one at a time, so FIFO holds.
    2. Lock the queue head.
    3. Read the Available members with their loads, unlocked: the policy's inputs.
    4. Pick; lock the picked agent's row (re-checking presence), then assign only if the agent's
       load, re-counted under that lock, is still below the maximum. Every path that adds to an
       agent's load holds that agent's lock, so a slot seen free here is free until commit. If the
       pick went stale, nothing is kept and _STALE_PICK says decide again: locking one row per
       decision keeps the transaction short with hundreds of members.

    On PostgreSQL with client-side parameter binding (Django's default) 1–3 and the lock plus the
    writes of 4 each go in one round trip: several statements in one simple-protocol query still
    run one after another, each with its own snapshot taken when it starts, so every read sees the
    same data as it would from separate round trips (the members read after the head lock, the
    re-count after the agent lock).
    """
    sql = _dispatch_sql(connection.vendor)
    batched = connection.vendor == "postgresql" and not connection.settings_dict["OPTIONS"].get(
        "server_side_binding"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        params: dict[str, Any] = {"campaign": campaign_id}
        members, sent_key = None, ""
        if batched:
            guess = _shape_seen.get(campaign_id, _DEFAULT_SHAPE)
            sent_key = _members_statement(guess, params, now=clock.now())
            cursor.execute(f"{sql['lock_campaign']}; {sql['lock_head']}; {sql[sent_key]}", params)
            row = cursor.fetchone()
            cursor.nextset()
            head = cursor.fetchone()
            cursor.nextset()
            members = cursor.fetchall()
        else:
            cursor.execute(sql["lock_campaign"], params)
            row = cursor.fetchone()
            head = None
        if row is None:
            return None
        enabled, strategy, max_load, rr_last_id, timezone, rr_last_position = row
        if not enabled or strategy == Strategy.RINGALL:
            return None
        if not batched:
            cursor.execute(sql["lock_head"], params)
            head = cursor.fetchone()
        if head is None:
            return None
        conversation_id, version, transferred, more_queued = head
        now = clock.now()
        shape = (strategy, timezone)
        _shape_seen[campaign_id] = shape
        fresh: dict[str, Any] = {"campaign": campaign_id}
        members_key = _members_statement(shape, fresh, now=now)
        if members is None or members_key != sent_key or fresh != params:
            # Not batched, or batched with the wrong statement: the strategy or time zone changed
            # since this process last dispatched the campaign (or local midnight just passed).
            cursor.execute(sql[members_key], fresh)
            members = cursor.fetchall()
        candidates = _candidates(members, strategy=strategy, max_load=max_load)
        last_is_away = all(c.agent_id != rr_last_id for c in candidates)
        if strategy == Strategy.RRMEMORY and rr_last_position is not None and last_is_away:
            # Away or full: not a candidate, but the turn passes on from their ring position.
            candidates.append(
                policy.Candidate(agent_id=rr_last_id, position=rr_last_position, available=False)
            )
        agent_id = policy.pick(
            strategy=strategy, candidates=candidates, max_load=max_load, last_served_id=rr_last_id, rng=_rng
        )
        if agent_id is None:
            return None
        ops = connection.ops
        writes = {
            "conversation": conversation_id,
            "campaign": campaign_id,
            "agent": agent_id,
            "at": ops.adapt_datetimefield_value(now),
            "max_load": max_load,
            "event_data": ops.adapt_json_value({"agent_id": agent_id, "how": "routed"}, None),
        }
        move_pointer = strategy == Strategy.RRMEMORY and rr_last_id != agent_id
        assign_all = f"assign_all:{move_pointer:d}:{bool(transferred):d}"
        if batched:
            cursor.execute(f"{sql['lock_agent']}; {sql[assign_all]}", writes)
            locked = cursor.rowcount
            cursor.nextset()
            if locked != 1 or cursor.rowcount != 1:
                # Both ran; neither may stay: an assignment counts only under the agent's lock.
                raise _StalePick
        else:
            cursor.execute(sql["lock_agent"], writes)
            if cursor.rowcount != 1:
                return _STALE_PICK
            if connection.vendor == "postgresql":
                cursor.execute(sql[assign_all], writes)
                if cursor.rowcount != 1:
                    raise _StalePick  # undo the last_assigned_at write with the rest of the transaction
            else:
                cursor.execute(sql["assign"], writes)
                if cursor.rowcount != 1:
                    raise _StalePick
                if move_pointer:
                    cursor.execute(sql["rr_pointer"], writes)
                if transferred:  # only a transferred conversation can have a pending Transfer
                    cursor.execute(sql["accept_transfer"], writes)
                cursor.execute(sql["insert_assignment"], writes)
                cursor.execute(sql["insert_event"], writes)
        publish(
            ConversationAssigned(
                conversation_id=conversation_id,
                campaign_id=campaign_id,
                agent_id=agent_id,
                version=version + 1,
                how="routed",
            ),
            # Only a non-ringall campaign dispatches: the other members' pages show nothing of it.
            to=_audience_of(campaign_id, agent_id, members=False),
        )
        more_free = any(c.load + (c.agent_id == agent_id) < max_load for c in candidates if c.available)
        return _Decision(
            Routed(conversation_id, agent_id), more_queued=bool(more_queued), more_free=more_free
        )


# (strategy, time zone) per campaign as this process last saw them under the campaign lock: which
# members statement to send along with the locks. Only a guess; checked against the locked row on
# every decision, and a wrong one costs one more round trip.
_shape_seen: dict[int, tuple[str, str]] = {}
_DEFAULT_SHAPE = (Strategy.RRMEMORY.value, "UTC")


def _members_statement(shape: tuple[str, str], params: dict[str, Any], *, now: dt.datetime) -> str:
    """The members statement for this strategy; adds its parameters to `params`."""
    strategy, timezone = shape
    if strategy == Strategy.FEWEST:
        local_now = now.astimezone(zoneinfo.ZoneInfo(timezone))
        midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
        params["midnight"] = connection.ops.adapt_datetimefield_value(midnight)
        return "candidates_fewest"
    return "candidates_leastrecent" if strategy == Strategy.LEASTRECENT else "candidates"


def _candidates(rows: list[tuple[Any, ...]], *, strategy: str, max_load: int) -> list[policy.Candidate]:
    """The Available members with a free slot: the policy's inputs.

    Loads are a snapshot, re-checked under the picked agent's lock. Full members are dropped here,
    not in SQL: a WHERE on the count would run it twice per row.
    """
    if strategy == Strategy.FEWEST:
        return [
            policy.Candidate(agent_id=a, position=p, penalty=w, load=n, assigned_today=t)
            for a, p, w, _last, n, t in rows
            if n < max_load
        ]
    return [
        policy.Candidate(agent_id=a, position=p, penalty=w, load=n, last_assigned_at=_aware(last))
        for a, p, w, last, n in rows
        if n < max_load
    ]


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands raw datetime columns back naive (they are stored in UTC).
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _assign(
    conversation: Conversation,
    *,
    campaign: Campaign,
    agent: User,
    how: str,
    actor: User | None = None,
    extra_events: Iterable[Event] = (),
    queue_event: bool = True,
    agent_locked_at: dt.datetime | None = None,
) -> None:
    """Give the conversation to `agent`. Caller holds the conversation's and the agent's row locks
    and has checked capacity under them. `queue_event=False`: the caller publishes QueueChanged
    once for a whole dispatch pass; `agent_locked_at`: the caller already wrote last_assigned_at."""
    now = agent_locked_at or clock.now()
    _bump(
        conversation,
        state=ASSIGNED,
        agent=agent,
        assigned_at=conversation.assigned_at or now,
        campaign=campaign,
    )
    if agent_locked_at is None:
        User.objects.filter(pk=agent.pk).update(last_assigned_at=now)
    agent.last_assigned_at = now
    if campaign.strategy == Strategy.RRMEMORY and campaign.rr_last_agent_id != agent.pk:
        Campaign.objects.filter(pk=campaign.pk).update(rr_last_agent=agent)
        campaign.rr_last_agent_id = agent.pk
    Assignment.objects.create(conversation=conversation, campaign=campaign, agent=agent, how=how, at=now)
    if conversation.transferred_by_id is not None:  # only a transferred conversation has a pending Transfer
        Transfer.objects.filter(conversation=conversation, state=TransferState.PENDING).update(
            state=TransferState.ACCEPTED, resolved_at=now
        )
    _event(conversation, "assigned", actor=actor, agent_id=agent.pk, how=how)
    for event in extra_events:
        _publish(campaign, event, agent.pk)
    _publish(
        campaign,
        ConversationAssigned(
            conversation_id=conversation.pk,
            campaign_id=campaign.pk,
            agent_id=agent.pk,
            version=conversation.version,
            how=how,
        ),
        agent.pk,
    )
    if queue_event:
        _publish_queue_changed(campaign)


def campaign_redispatch(*, campaign: Campaign) -> list[Routed]:
    """Re-route after a campaign change (members, max interactions, enabled, strategy).

    campaigns.services calls this after commit of every campaign change.
    """
    return queue_dispatch(campaign=campaign)


def agent_redispatch(*, agent_id: int) -> list[Routed]:
    """The agent may have a free slot now: try every campaign they belong to, lowest id first.

    Load counts across campaigns, so one freed slot can serve any of them; lowest id first is a
    simple, stable order (cross-campaign priority is not specified).
    """
    assigned: list[Routed] = []
    campaign_ids = (
        Membership.objects.filter(agent_id=agent_id, campaign__enabled=True)
        .exclude(campaign__strategy=Strategy.RINGALL)
        .order_by("campaign_id")
        .values_list("campaign_id", flat=True)
    )
    for campaign_id in list(campaign_ids):
        assigned += queue_dispatch(campaign=Campaign(pk=campaign_id))
    return assigned


def agent_presence_changed(
    *, agent_id: int, presence: str, changed_by_id: int | None = None, note: str = ""
) -> None:
    """Hook for routing.presence.presence_set (after commit): an agent who becomes Available may
    take queued customers at once; an Offline one answers nobody, so hers go back to the queue.
    A Break keeps them: she is still responsible for them (the board marks who is left waiting)."""
    if presence == Presence.AVAILABLE:
        agent_redispatch(agent_id=agent_id)
    elif presence == Presence.OFFLINE:
        if changed_by_id is None:
            reason = ReturnReason.DISCONNECTED if note == DISCONNECTED_NOTE else ReturnReason.OFFLINE
        elif changed_by_id == agent_id:
            reason = ReturnReason.WENT_OFFLINE
        else:
            reason = ReturnReason.SET_OFFLINE
        agent_conversations_requeue(agent_id=agent_id, reason=reason, actor_id=changed_by_id)


# --- ringall take --------------------------------------------------------------------------------------


def conversation_take(*, conversation: Conversation, agent: User) -> Conversation:
    """An agent clicks Take on a ringall queue item. Exactly one click wins; the others get 409."""
    with transaction.atomic():
        locked = _lock_conversation(conversation.pk)
        campaign = locked.campaign
        if locked.state != QUEUED:
            raise ApplicationError(
                "already_taken", _("Another agent already took this conversation."), status=409
            )
        if not campaign.enabled:
            raise ApplicationError("campaign_disabled", _("This campaign is disabled."), status=409)
        if campaign.strategy != Strategy.RINGALL:
            raise ApplicationError(
                "not_ringall",
                _("Conversations in “%(name)s” are routed automatically; they cannot be taken.")
                % {"name": campaign.name},
                status=409,
            )
        if not Membership.objects.filter(campaign=campaign, agent_id=agent.pk).exists():
            raise PermissionDenied(
                "not_a_member", _("You are not a member of “%(name)s”.") % {"name": campaign.name}
            )
        (locked_agent,) = lock_objects(User.objects.filter(pk=agent.pk))
        _require_capacity(locked_agent, campaign=campaign, you=True)
        _assign(locked, campaign=campaign, agent=locked_agent, how="taken", actor=locked_agent)
    return locked


def _require_capacity(agent: User, *, campaign: Campaign, you: bool) -> None:
    """Available with a free slot; caller holds the agent's row lock."""
    if agent.presence != Presence.AVAILABLE:
        who = _("You are") if you else _("%(name)s is") % {"name": agent.name}
        raise ApplicationError(
            "agent_not_available",
            _("%(who)s %(presence)s; only an Available agent can receive conversations.")
            % {"who": who, "presence": agent.get_presence_display()},
            status=409,
        )
    load = _load_counts([agent.pk]).get(agent.pk, 0)
    if load >= campaign.max_interactions_per_agent:
        who = _("You already have") if you else _("%(name)s already has") % {"name": agent.name}
        raise ApplicationError(
            "agent_at_capacity",
            _("%(who)s %(load)d open conversations, the maximum for “%(campaign)s”.")
            % {"who": who, "load": load, "campaign": campaign.name},
            status=409,
        )


# --- close, return, wrap-up ----------------------------------------------------------------------------


def conversation_close(
    *, conversation: Conversation, agent: User, disposition: Disposition | None = None
) -> Conversation:
    """Close an assigned conversation. A disposition is required when the campaign defines any.

    The agent then enters wrap-up for the campaign's wrap-up seconds (when they were Available); a
    timer ends it. A customer message afterwards opens a new conversation (ingest's rule).
    """
    with transaction.atomic():
        locked = _lock_conversation(conversation.pk)
        campaign = locked.campaign
        _require_state(locked, ASSIGNED)
        _check_actor(locked, agent)
        _check_disposition(campaign, disposition)
        now = clock.now()
        owner_id = locked.agent_id
        _bump(locked, state=ConversationState.CLOSED, closed_at=now, closed_by=agent, disposition=disposition)
        Transfer.objects.filter(conversation=locked, state=TransferState.PENDING).update(
            state=TransferState.ACCEPTED, resolved_at=now
        )
        _event(locked, "closed", actor=agent, disposition_id=disposition.pk if disposition else None)
        _publish_closed(campaign, locked, agent_id=owner_id)
        wrapping = owner_id is not None and _start_wrap_up(
            owner_id, seconds=campaign.wrap_up_seconds, now=now
        )
        if owner_id is not None and not wrapping:
            _after_commit(lambda: agent_redispatch(agent_id=owner_id))
    return locked


def _check_disposition(campaign: Campaign, disposition: Disposition | None) -> None:
    if disposition is None:
        if Disposition.objects.filter(campaign=campaign).exists():
            raise ApplicationError(
                "disposition_required",
                _("Choose a disposition to close this conversation."),
                field="disposition",
            )
        return
    if disposition.campaign_id != campaign.pk:
        raise ApplicationError(
            "invalid_disposition", _("That disposition belongs to another campaign."), field="disposition"
        )
    if disposition.children.exists():
        raise ApplicationError(
            "disposition_too_general",
            _("“%(name)s” has sub-dispositions; choose one of them.") % {"name": disposition.name},
            field="disposition",
        )


def _start_wrap_up(agent_id: int, *, seconds: int, now: dt.datetime) -> bool:
    """Put the agent in wrap-up until now + seconds; True when they are in wrap-up afterwards.

    Only an Available agent (or one already wrapping up, whose wrap-up is extended) enters wrap-up:
    an agent who closes a conversation while on Break or Offline stays there.
    """
    if seconds <= 0:
        return False
    from pagedesk.routing.presence import presence_set  # lazy: routing.presence imports these services

    (agent,) = lock_objects(User.objects.filter(pk=agent_id))
    if agent.presence not in (Presence.AVAILABLE, Presence.WRAP_UP):
        return False
    until = now + dt.timedelta(seconds=seconds)
    if agent.presence != Presence.WRAP_UP:
        presence_set(agent=agent, presence=Presence.WRAP_UP, note="wrap-up")
    if agent.wrap_up_until is None or agent.wrap_up_until < until:
        User.objects.filter(pk=agent_id).update(wrap_up_until=until)
    from pagedesk.routing.tasks import wrap_up_end

    wrap_up_end.using(run_after=until).enqueue(agent_id=agent_id)
    return True


def agent_wrap_up_end(*, agent_id: int) -> bool:
    """End an agent's wrap-up when it is due (the timer's body); True when it ended.

    Re-checks under the lock: a later close may have extended it, or the agent may have picked
    another presence meanwhile.
    """
    from pagedesk.routing.presence import presence_set  # lazy: routing.presence imports these services

    with transaction.atomic():
        locked = lock_objects(User.objects.filter(pk=agent_id))
        if not locked:
            return False
        agent = locked[0]
        if agent.presence != Presence.WRAP_UP:
            return False
        if agent.wrap_up_until is not None and agent.wrap_up_until > clock.now():
            from pagedesk.routing.tasks import wrap_up_end

            wrap_up_end.using(run_after=_timer_run_after(agent.wrap_up_until)).enqueue(agent_id=agent_id)
            return False
        # presence_set's hook re-dispatches after commit.
        presence_set(agent=agent, presence=Presence.AVAILABLE, note="wrap-up ended")
    return True


def conversation_return_to_queue(*, conversation: Conversation, by: User) -> Conversation:
    """Put an assigned conversation back at the front of its campaign's queue."""
    with transaction.atomic():
        locked = _lock_conversation(conversation.pk)
        _require_state(locked, ASSIGNED)
        _check_actor(locked, by)
        owner_id = locked.agent_id
        _return_to_queue(locked, actor=by)
        _queue_grew(locked.campaign)
        if owner_id is not None:
            _after_commit(lambda: agent_redispatch(agent_id=owner_id))
    return locked


class ReturnReason:
    """Why an agent's conversations went back to the queue without her asking for each one; the
    "returned_to_queue" timeline entry carries it (recordings' _event.html words it)."""

    WENT_OFFLINE = "went_offline"  # she chose Offline
    SET_OFFLINE = "set_offline"  # a supervisor or admin set her Offline
    DISCONNECTED = "disconnected"  # her last socket closed and the grace ran out
    DEACTIVATED = "deactivated"  # an administrator deactivated her account
    OFFLINE = "offline"  # found Offline still holding them (reconciliation)


# presence_set's note for the grace timer's Offline; the hook tells that cause apart by it.
DISCONNECTED_NOTE = "disconnected"


def agent_conversations_requeue(*, agent_id: int, reason: str, actor_id: int | None = None) -> list[int]:
    """Return every open conversation of an agent who answers nobody (Offline or deactivated) to the
    head of its campaign's queue; returns their ids. They go in front of whoever already waits, in
    their original order (queued_at), keep queued_at and assigned_at (the KPIs' wait and first
    assignment), and are dispatched after commit, so another eligible agent gets them at once.

    One short transaction: the conversations locked in pk order, then the agent's row (routing's
    lock order: conversation before agent). An agent who is Available or on a Break again by then
    keeps them. Her pending transfers are left alone: transfer_timeout_expire sends one that times
    out to its source queue instead of back to an Offline sender.
    """
    with transaction.atomic():
        held = lock_objects(
            Conversation.objects.filter(agent_id=agent_id, state=ASSIGNED).select_related("campaign")
        )
        if not held:
            return []
        agent = lock_objects(User.objects.filter(pk=agent_id))[0]
        if agent.is_active and agent.presence != Presence.OFFLINE:
            return []
        if not agent.is_active:
            reason = ReturnReason.DEACTIVATED
        actor = User.objects.filter(pk=actor_id).first() if actor_id is not None else None
        # Each goes in front of the current head: the latest first, so the earliest ends up first.
        for conversation in sorted(held, key=lambda c: (c.queued_at or c.created_at, c.pk), reverse=True):
            _return_to_queue(conversation, actor=actor, reason=reason)
        for campaign in sorted({c.campaign_id: c.campaign for c in held}.values(), key=lambda c: c.pk):
            _queue_grew(campaign)
    return [c.pk for c in held]


def _return_to_queue(conversation: Conversation, *, actor: User | None, **why: str) -> None:
    """The locked, assigned conversation goes to the front of its campaign's queue; the caller
    announces the queue's growth (_queue_grew) once per campaign."""
    campaign = conversation.campaign
    owner_id = conversation.agent_id
    _requeue_front(conversation, campaign=campaign)
    _event(conversation, "returned_to_queue", actor=actor, from_agent_id=owner_id, **why)
    _publish(
        campaign,
        ConversationQueued(
            conversation_id=conversation.pk,
            campaign_id=campaign.pk,
            version=conversation.version,
            reason="returned",
        ),
        owner_id,
    )


def _requeue_front(conversation: Conversation, *, campaign: Campaign) -> None:
    earliest = Conversation.objects.filter(campaign=campaign, state=QUEUED).aggregate(m=Min("queue_order"))[
        "m"
    ]
    now = clock.now()
    front = min(earliest - RETURN_TO_QUEUE_STEP, now) if earliest else now
    _bump(conversation, state=QUEUED, agent=None, queue_order=front, campaign=campaign)


# --- transfer ------------------------------------------------------------------------------------------


def conversation_transfer_to_agent(
    *, conversation: Conversation, to_agent: User, by: User, note: str = ""
) -> Conversation:
    """Hand an assigned conversation to another member who is Available and has a free slot."""
    note = note.strip()[:1000]
    with transaction.atomic():
        locked = _lock_conversation(conversation.pk)
        campaign = locked.campaign
        _require_state(locked, ASSIGNED)
        _check_actor(locked, by)
        if to_agent.pk == locked.agent_id:
            raise ApplicationError(
                "same_agent", _("The conversation is already with %(name)s.") % {"name": to_agent.name}
            )
        if not Membership.objects.filter(campaign=campaign, agent_id=to_agent.pk).exists():
            raise ApplicationError(
                "not_a_member",
                _("%(name)s is not a member of “%(campaign)s”.")
                % {"name": to_agent.name, "campaign": campaign.name},
                status=409,
            )
        from_agent_id = locked.agent_id
        agents = {a.pk: a for a in lock_objects(User.objects.filter(pk__in=[from_agent_id, to_agent.pk]))}
        target = agents[to_agent.pk]
        _require_capacity(target, campaign=campaign, you=False)
        locked.transfer_note = note
        locked.transferred_by = by
        locked.save(update_fields=["transfer_note", "transferred_by"])
        Transfer.objects.create(
            conversation=locked,
            from_agent_id=from_agent_id,
            from_campaign=campaign,
            to_campaign=campaign,
            to_agent=target,
            note=note,
            state=TransferState.ACCEPTED,
            resolved_at=clock.now(),
        )
        _event(locked, "transferred", actor=by, from_agent_id=from_agent_id, to_agent_id=target.pk, note=note)
        transferred = ConversationTransferred(
            conversation_id=locked.pk,
            from_campaign_id=campaign.pk,
            to_campaign_id=campaign.pk,
            from_agent_id=from_agent_id,
            to_agent_id=target.pk,
            note=note,
            version=locked.version + 1,
        )
        _publish(campaign, transferred, from_agent_id, target.pk)
        # Assigned before and after: the queue's length did not change.
        _assign(locked, campaign=campaign, agent=target, how="transferred", actor=by, queue_event=False)
        if from_agent_id is not None:
            _after_commit(lambda: agent_redispatch(agent_id=from_agent_id))
    return locked


def conversation_transfer_to_campaign(
    *, conversation: Conversation, campaign: Campaign, by: User, note: str = ""
) -> Conversation:
    """Move a conversation into another campaign's queue (at its back), with a note for the receiver.

    When the target is ringall and has a transfer timeout, a transfer nobody takes in time returns to
    the sender (transfer_timeout_expire).
    """
    note = note.strip()[:1000]
    with transaction.atomic():
        locked = _lock_conversation(conversation.pk)
        source = locked.campaign
        _require_state(locked, ASSIGNED, QUEUED)
        _check_actor(locked, by)
        target = Campaign.objects.filter(pk=campaign.pk).first()
        if target is None:
            raise NotFound("not_found", _("There is no campaign with that id."))
        if target.pk == source.pk:
            raise ApplicationError(
                "same_campaign", _("The conversation is already in “%(name)s”.") % {"name": target.name}
            )
        if not target.enabled:
            raise ApplicationError(
                "campaign_disabled",
                _("“%(name)s” is disabled and routes nothing.") % {"name": target.name},
                status=409,
            )
        if Conversation.objects.filter(
            campaign=target, contact_id=locked.contact_id, state__in=[QUEUED, ASSIGNED]
        ).exists():
            raise ApplicationError(
                "contact_busy_in_target",
                _("This customer already has an open conversation in “%(name)s”.") % {"name": target.name},
                status=409,
            )
        from_agent_id = locked.agent_id
        left_source_queue = locked.state == QUEUED
        now = clock.now()
        _bump(
            locked,
            campaign=target,
            state=QUEUED,
            agent=None,
            queue_order=now,
            transfer_note=note,
            transferred_by=by,
        )
        transfer = Transfer.objects.create(
            conversation=locked,
            from_agent_id=from_agent_id,
            from_campaign=source,
            to_campaign=target,
            note=note,
            created_at=now,
        )
        _event(
            locked,
            "transferred",
            actor=by,
            from_agent_id=from_agent_id,
            from_campaign_id=source.pk,
            to_campaign_id=target.pk,
            note=note,
        )
        transferred = ConversationTransferred(
            conversation_id=locked.pk,
            from_campaign_id=source.pk,
            to_campaign_id=target.pk,
            from_agent_id=from_agent_id,
            note=note,
            version=locked.version,
        )
        _publish(source, transferred, from_agent_id)
        _publish(target, transferred)
        _publish(
            target,
            ConversationQueued(
                conversation_id=locked.pk, campaign_id=target.pk, version=locked.version, reason="transferred"
            ),
        )
        if left_source_queue:  # an assigned conversation leaves no queue shorter
            _publish_queue_changed(source)
        _queue_grew(target)
        if target.strategy == Strategy.RINGALL and target.transfer_timeout_seconds and from_agent_id:
            from pagedesk.routing.tasks import transfer_timeout

            transfer_timeout.using(
                run_after=now + dt.timedelta(seconds=target.transfer_timeout_seconds)
            ).enqueue(transfer_id=transfer.pk)
        if from_agent_id is not None:
            _after_commit(lambda: agent_redispatch(agent_id=from_agent_id))
    return locked


def transfer_timeout_expire(*, transfer_id: int) -> bool:
    """Return an unaccepted ringall transfer to its sender; True when it was returned.

    Back to the sender when they still have a free slot in the source campaign and are not Offline
    (Available is not required: it was theirs a moment ago, like conversations kept through a
    break); otherwise to the front of the source campaign's queue, so it is never stranded.
    """
    with transaction.atomic():
        transfer = Transfer.objects.select_for_update().filter(pk=transfer_id).first()
        if transfer is None or transfer.state != TransferState.PENDING:
            return False
        conversation = _lock_conversation(transfer.conversation_id)
        now = clock.now()
        if conversation.state != QUEUED or conversation.campaign_id != transfer.to_campaign_id:
            transfer.state, transfer.resolved_at = TransferState.ACCEPTED, now
            transfer.save(update_fields=["state", "resolved_at"])
            return False
        due = transfer.created_at + dt.timedelta(seconds=conversation.campaign.transfer_timeout_seconds)
        if due > now:
            from pagedesk.routing.tasks import transfer_timeout

            transfer_timeout.using(run_after=_timer_run_after(due)).enqueue(transfer_id=transfer.pk)
            return False
        source = Campaign.objects.get(pk=transfer.from_campaign_id)
        target = conversation.campaign
        if Conversation.objects.filter(
            campaign=source, contact_id=conversation.contact_id, state__in=[QUEUED, ASSIGNED]
        ).exists():
            # The customer wrote again meanwhile and has a new conversation in the source campaign;
            # this one stays where it is rather than clash with it.
            return False
        transfer.state, transfer.resolved_at = TransferState.RETURNED, now
        transfer.save(update_fields=["state", "resolved_at"])
        _event(
            conversation, "transfer_returned", from_campaign_id=target.pk, to_agent_id=transfer.from_agent_id
        )
        sender = None
        if (
            transfer.from_agent_id
            and Membership.objects.filter(campaign=source, agent_id=transfer.from_agent_id).exists()
        ):
            (sender,) = lock_objects(User.objects.filter(pk=transfer.from_agent_id))
            # An Offline or deactivated sender answers nobody (issue 12): the queue serves it instead.
            if (
                sender.presence == Presence.OFFLINE
                or not sender.is_active
                or _load_counts([sender.pk]).get(sender.pk, 0) >= source.max_interactions_per_agent
            ):
                sender = None
        if sender is not None:
            # It was queued in the target, not the source: only the target's length changes.
            _assign(conversation, campaign=source, agent=sender, how="transfer_returned", queue_event=False)
        else:
            _requeue_front(conversation, campaign=source)
            _publish(
                source,
                ConversationQueued(
                    conversation_id=conversation.pk,
                    campaign_id=source.pk,
                    version=conversation.version,
                    reason="transfer_returned",
                ),
            )
            _queue_grew(source)
        # The target's members saw it waiting in their Pending list; nothing else tells them it left.
        _publish_queue_changed(target, members=True)
    return True


# --- dropout -------------------------------------------------------------------------------------------


def _dropout_due(conversation: Conversation, campaign: Campaign) -> dt.datetime | None:
    """When a never-answered queued conversation drops out; None when it never does.

    Only conversations no agent ever had can be abandoned (ARCHITECTURE.md §5); one returned to the
    queue or transferred waits however long it takes.
    """
    if campaign.dropout_threshold_seconds <= 0 or conversation.assigned_at is not None:
        return None
    base = conversation.last_customer_message_at or conversation.queued_at or conversation.created_at
    return base + dt.timedelta(seconds=campaign.dropout_threshold_seconds)


def _schedule_dropout(conversation: Conversation, *, campaign: Campaign) -> None:
    due = _dropout_due(conversation, campaign)
    if due is not None:
        from pagedesk.routing.tasks import dropout_check

        dropout_check.using(run_after=due).enqueue(conversation_id=conversation.pk)


def conversation_dropout_check(*, conversation_id: int) -> bool:
    """The dropout timer's body: abandon when due, re-arm when the customer wrote again; True if abandoned."""
    with transaction.atomic():
        try:
            conversation = _lock_conversation(conversation_id)
        except NotFound:
            return False
        campaign = conversation.campaign
        if conversation.state != QUEUED:
            return False
        due = _dropout_due(conversation, campaign)
        if due is None:
            return False
        now = clock.now()
        if due > now:
            from pagedesk.routing.tasks import dropout_check

            dropout_check.using(run_after=_timer_run_after(due)).enqueue(conversation_id=conversation_id)
            return False
        _bump(conversation, state=ConversationState.ABANDONED, abandoned_at=now)
        _event(conversation, "abandoned", threshold_seconds=campaign.dropout_threshold_seconds)
        _publish(
            campaign,
            ConversationAbandoned(
                conversation_id=conversation.pk, campaign_id=campaign.pk, version=conversation.version
            ),
        )
        _publish_closed(campaign, conversation, agent_id=None)
        _publish_queue_changed(campaign)
    return True


# --- schedule end --------------------------------------------------------------------------------------


def queue_close_for_schedule_end(*, campaign: Campaign) -> int:
    """With "close the queue at schedule end": outside the schedule, every customer still queued gets
    the after-hours message (once per period) and their conversation closes as `after_hours`.

    Returns how many closed. One short transaction per conversation, like dispatch.
    """
    campaign = Campaign.objects.get(pk=campaign.pk)
    if not campaign.close_queue_at_schedule_end or campaign_is_open(campaign=campaign):
        return 0
    closed = 0
    for conversation_id in list(
        Conversation.objects.filter(campaign=campaign, state=QUEUED)
        .order_by("queue_order", "pk")
        .values_list("pk", flat=True)
    ):
        with transaction.atomic():
            conversation = _lock_conversation(conversation_id)
            if conversation.state != QUEUED or conversation.campaign_id != campaign.pk:
                continue
            _close_after_hours(conversation, campaign=conversation.campaign, now=clock.now())
            _publish_queue_changed(conversation.campaign)
            closed += 1
    return closed


# --- websocket presence --------------------------------------------------------------------------------


def agent_connected(*, agent: User) -> None:
    """A websocket of this agent opened; cancels a pending disconnect timer (by clearing its token)."""
    AgentConnection.objects.get_or_create(agent=agent)
    with transaction.atomic():
        row = AgentConnection.objects.select_for_update().get(agent=agent)
        row.open_connections += 1
        row.disconnected_at = None
        row.save(update_fields=["open_connections", "disconnected_at"])


def agent_disconnected(*, agent: User) -> None:
    """A websocket closed. When it was the agent's last, they go Offline unless they reconnect within
    AGENT_DISCONNECT_GRACE_SECONDS; going Offline returns their conversations to the queue.

    Known limit: a server process killed with sockets open leaves the count too high, so that agent
    is not set Offline automatically until they connect and disconnect again.
    """
    AgentConnection.objects.get_or_create(agent=agent)
    with transaction.atomic():
        row = AgentConnection.objects.select_for_update().get(agent=agent)
        row.open_connections = max(0, row.open_connections - 1)
        if row.open_connections == 0:
            now = clock.now()
            row.disconnected_at = now
            from pagedesk.routing.tasks import disconnect_expire

            disconnect_expire.using(
                run_after=now + dt.timedelta(seconds=settings.AGENT_DISCONNECT_GRACE_SECONDS)
            ).enqueue(agent_id=agent.pk, token=now.isoformat())
        row.save(update_fields=["open_connections", "disconnected_at"])


def agent_disconnect_expire(*, agent_id: int, token: str) -> bool:
    """The grace timer's body: Offline if the agent has not reconnected since `token`; True if set."""
    from pagedesk.routing.presence import presence_set  # lazy: routing.presence imports these services

    with transaction.atomic():
        row = (
            AgentConnection.objects.select_for_update(of=("self",))
            .select_related("agent")
            .filter(agent_id=agent_id)
            .first()
        )
        if row is None or row.open_connections or row.disconnected_at is None:
            return False
        if row.disconnected_at.isoformat() != token:
            return False
        row.disconnected_at = None
        row.save(update_fields=["disconnected_at"])
        if row.agent.is_agent and row.agent.presence != Presence.OFFLINE:
            presence_set(agent=row.agent, presence=Presence.OFFLINE, note=DISCONNECTED_NOTE)
    return True


# --- reconciliation ------------------------------------------------------------------------------------


def routing_reconcile() -> dict[str, int]:
    """Catch up on anything a crash or a lost timer left behind; runs at start-up and every minute.

    Each step is idempotent and uses the same services as the timers, so running it twice, or in two
    processes at once, is harmless.
    """
    now = clock.now()
    counts = {
        "wrap_ups_ended": 0,
        "abandoned": 0,
        "transfers_returned": 0,
        "closed_at_schedule_end": 0,
        "returned_from_offline": 0,
        "assigned": 0,
    }
    for agent_id in list(
        User.objects.filter(presence=Presence.WRAP_UP)
        .exclude(wrap_up_until__gt=now)
        .values_list("pk", flat=True)
    ):
        counts["wrap_ups_ended"] += int(agent_wrap_up_end(agent_id=agent_id))
    waiting = Conversation.objects.filter(
        state=QUEUED, assigned_at__isnull=True, campaign__dropout_threshold_seconds__gt=0
    ).select_related("campaign")
    for conversation in list(waiting):
        due = _dropout_due(conversation, conversation.campaign)
        if due is not None and due <= now:
            counts["abandoned"] += int(conversation_dropout_check(conversation_id=conversation.pk))
    for transfer in list(Transfer.objects.filter(state=TransferState.PENDING).select_related("to_campaign")):
        timeout = transfer.to_campaign.transfer_timeout_seconds
        if (
            transfer.to_campaign.strategy == Strategy.RINGALL
            and timeout
            and transfer.created_at + dt.timedelta(seconds=timeout) <= now
        ):
            counts["transfers_returned"] += int(transfer_timeout_expire(transfer_id=transfer.pk))
    for campaign in list(Campaign.objects.filter(close_queue_at_schedule_end=True)):
        counts["closed_at_schedule_end"] += queue_close_for_schedule_end(campaign=campaign)
    # An Offline follow-up that never ran (a crash right after the presence commit) strands nobody.
    for agent_id in list(
        Conversation.objects.filter(state=ASSIGNED)
        .filter(Q(agent__presence=Presence.OFFLINE) | Q(agent__is_active=False))
        .order_by("agent_id")
        .values_list("agent_id", flat=True)
        .distinct()
    ):
        counts["returned_from_offline"] += len(
            agent_conversations_requeue(agent_id=agent_id, reason=ReturnReason.OFFLINE)
        )
    for campaign_id in list(
        Campaign.objects.filter(enabled=True, conversations__state=QUEUED)
        .exclude(strategy=Strategy.RINGALL)
        .distinct()
        .order_by("pk")
        .values_list("pk", flat=True)
    ):
        counts["assigned"] += len(queue_dispatch(campaign=Campaign(pk=campaign_id)))
    return counts
