"""Dispatch: assign a campaign's queued conversations to eligible agents, oldest first, one short
locking transaction per decision (docs/decisions/routing-locks.md); and the triggers that start a
dispatch: the queue grew, an agent's slot freed, a campaign changed.

Lock order: see the package docstring (pagedesk/routing/services/__init__.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
import zoneinfo
from typing import Any, NamedTuple

from django.db import connection, transaction

from pagedesk.campaigns.models import Campaign, Membership, Strategy
from pagedesk.core import clock
from pagedesk.realtime.events import ConversationAssigned, QueueChanged
from pagedesk.realtime.publish import publish
from pagedesk.routing import policy
from pagedesk.routing.services.audiences import _audience_of, _publish_queue_changed, _queue_length
from pagedesk.routing.services.dispatch_sql import _dispatch_sql
from pagedesk.routing.services.primitives import _after_commit

logger = logging.getLogger(__name__)


# A dispatch pass never loops forever, even if a bug kept re-queuing the same conversation.
MAX_ASSIGNMENTS_PER_PASS = 10_000


_rng = random.Random()  # wrandom; tests pass their own through set_rng()


def set_rng(rng: random.Random) -> None:
    """Seed wrandom's choices (tests and the bench)."""
    global _rng
    _rng = rng


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
