"""Which agent gets the next customer: a pure function of plain values (docs/architecture.md §4).

No database, no clock, no randomness of its own: services/dispatch.py reads the candidates (a snapshot; the
picked agent's load is re-counted under that agent's lock) and passes them in, tests pass tables. Member order is (position, agent_id) everywhere, so two
members with the same position are still ordered deterministically.

Weighted random: weight = 101 − penalty. Penalty 0 weighs 101, penalty 100 weighs 1, so a penalty-100
agent still gets customers when others are free, only rarely (1 in 102 against one penalty-0
agent); a weight of 0 would silently make them unreachable, which an admin setting a penalty never
means. An agent who must never be picked is removed from the campaign instead.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass

RINGALL = "ringall"
RRMEMORY = "rrmemory"
LINEAR = "linear"
WRANDOM = "wrandom"
LEASTRECENT = "leastrecent"
FEWEST = "fewest"
STRATEGIES = (RINGALL, RRMEMORY, LINEAR, WRANDOM, LEASTRECENT, FEWEST)
MAX_PENALTY = 100


@dataclass(frozen=True)
class Candidate:
    """One member of the campaign as routing sees it at the instant of the decision."""

    agent_id: int
    position: int = 0  # member order
    penalty: int = 0  # 0–100, wrandom only
    available: bool = True  # presence is Available (not Offline, Break or WrapUp)
    load: int = 0  # open assignments (snapshot; re-counted under the picked agent's lock)
    assigned_today: int = 0  # fewest: assignments in this campaign since local midnight
    last_assigned_at: dt.datetime | None = None  # leastrecent; None = never assigned

    @property
    def order(self) -> tuple[int, int]:
        return (self.position, self.agent_id)


def weight(penalty: int) -> int:
    return MAX_PENALTY + 1 - max(0, min(MAX_PENALTY, penalty))


def eligible(candidates: Sequence[Candidate], *, max_load: int) -> list[Candidate]:
    """Available members with a free slot, in member order."""
    return sorted((c for c in candidates if c.available and c.load < max_load), key=lambda c: c.order)


def pick(
    *,
    strategy: str,
    candidates: Sequence[Candidate],
    max_load: int,
    last_served_id: int | None = None,
    rng: random.Random | None = None,
) -> int | None:
    """The agent id to assign the next queued customer to, or None when nobody may take it.

    `candidates` are all members of the campaign (eligible or not: rrmemory needs the whole ring to
    know who comes after the last served agent). ringall never picks: the queue is offered to every
    eligible member and the first Take wins.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown routing strategy {strategy!r}")
    if strategy == RINGALL:
        return None
    free = eligible(candidates, max_load=max_load)
    if not free:
        return None
    if strategy == LINEAR:
        return free[0].agent_id
    if strategy == RRMEMORY:
        return _next_after(free, candidates, last_served_id)
    if strategy == WRANDOM:
        chooser = rng or random.Random()  # fairness, not security
        return chooser.choices(free, weights=[weight(c.penalty) for c in free], k=1)[0].agent_id
    if strategy == LEASTRECENT:
        # Never-assigned agents first (False sorts before True), then the oldest last assignment.
        return min(
            free,
            key=lambda c: (c.last_assigned_at is not None, c.last_assigned_at or dt.datetime.min, c.order),
        ).agent_id
    # FEWEST
    return min(free, key=lambda c: (c.assigned_today, c.order)).agent_id


def _next_after(free: list[Candidate], everyone: Sequence[Candidate], last_served_id: int | None) -> int:
    """The first free member strictly after the last served one in member order, wrapping around.

    The last served agent may be ineligible now (busy, on break) or no longer a member; the ring
    position is taken from the full member list when present, so the turn passes to the next in line
    rather than restarting at the top.
    """
    last = next((c for c in everyone if c.agent_id == last_served_id), None)
    if last is None:
        return free[0].agent_id
    for candidate in free:
        if candidate.order > last.order:
            return candidate.agent_id
    return free[0].agent_id
