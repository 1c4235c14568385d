"""Properties of the pure policy over generated member lists (hypothesis)."""

from __future__ import annotations

import datetime as dt
import random

from hypothesis import given
from hypothesis import strategies as st

from pagedesk.routing import policy
from pagedesk.routing.policy import Candidate

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)

candidates_st = st.lists(
    st.builds(
        Candidate,
        agent_id=st.integers(1, 40),
        position=st.integers(0, 5),
        penalty=st.integers(0, 100),
        available=st.booleans(),
        load=st.integers(0, 4),
        assigned_today=st.integers(0, 5),
        last_assigned_at=st.none() | st.integers(0, 100).map(lambda m: T0 + dt.timedelta(minutes=m)),
    ),
    max_size=12,
    unique_by=lambda c: c.agent_id,
)


@given(
    strategy=st.sampled_from(policy.STRATEGIES),
    candidates=candidates_st,
    max_load=st.integers(1, 4),
    last=st.none() | st.integers(1, 40),
    seed=st.integers(0, 2**32),
)
def test_pick_is_eligible_and_only_none_when_nobody_is(strategy, candidates, max_load, last, seed):
    picked = policy.pick(
        strategy=strategy,
        candidates=candidates,
        max_load=max_load,
        last_served_id=last,
        rng=random.Random(seed),
    )
    free = policy.eligible(candidates, max_load=max_load)
    if strategy == "ringall":
        assert picked is None
        return
    assert (picked is None) == (not free)
    if picked is None:
        return
    chosen = next(c for c in free if c.agent_id == picked)
    if strategy == "linear":
        assert chosen == free[0]
    elif strategy == "fewest":
        assert chosen.assigned_today == min(c.assigned_today for c in free)
        assert chosen == next(c for c in free if c.assigned_today == chosen.assigned_today)
    elif strategy == "leastrecent":
        never = [c for c in free if c.last_assigned_at is None]
        if never:
            assert chosen == never[0]
        else:
            assert chosen.last_assigned_at == min(c.last_assigned_at for c in free if c.last_assigned_at)
    elif strategy == "rrmemory":
        previous = next((c for c in candidates if c.agent_id == last), None)
        if previous is None:
            assert chosen == free[0]
        else:
            after = [c for c in free if c.order > previous.order]
            assert chosen == (after[0] if after else free[0])
