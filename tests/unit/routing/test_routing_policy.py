"""The pure selection policy, table by table (ARCHITECTURE.md §4)."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest

from pagedesk.routing import policy
from pagedesk.routing.policy import Candidate as C

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


# (strategy, candidates, max_load, last_served_id, expected)
TABLE = [
    # linear: first eligible in member order; busy, unavailable and full agents are skipped.
    ("linear", [C(1, 0), C(2, 1), C(3, 2)], 3, None, 1),
    ("linear", [C(1, 0, load=3), C(2, 1), C(3, 2)], 3, None, 2),
    ("linear", [C(1, 0, available=False), C(2, 1, load=5), C(3, 2)], 3, None, 3),
    ("linear", [C(3, 0), C(1, 1)], 3, None, 3),  # member order, not id order
    ("linear", [C(2, 0), C(1, 0)], 3, None, 1),  # equal positions: id breaks the tie
    ("linear", [C(1, 0, load=3), C(2, 1, available=False)], 3, None, None),
    ("linear", [], 3, None, None),
    # rrmemory: strictly after the last served, wrapping; ring position of an ineligible last agent.
    ("rrmemory", [C(1, 0), C(2, 1), C(3, 2)], 3, None, 1),
    ("rrmemory", [C(1, 0), C(2, 1), C(3, 2)], 3, 1, 2),
    ("rrmemory", [C(1, 0), C(2, 1), C(3, 2)], 3, 2, 3),
    ("rrmemory", [C(1, 0), C(2, 1), C(3, 2)], 3, 3, 1),  # wraps
    ("rrmemory", [C(1, 0), C(2, 1, load=3), C(3, 2)], 3, 1, 3),  # skips the full one
    ("rrmemory", [C(1, 0), C(2, 1, available=False), C(3, 2, load=3)], 3, 2, 1),  # last is on break
    ("rrmemory", [C(1, 0), C(2, 1)], 3, 99, 1),  # last served left the campaign: start at the top
    ("rrmemory", [C(1, 0), C(2, 1, load=3)], 3, 1, 1),  # only the last served is free: them again
    # leastrecent: never-assigned first, then oldest; ties by member order.
    ("leastrecent", [C(1, 0, last_assigned_at=at(5)), C(2, 1, last_assigned_at=at(1))], 3, None, 2),
    ("leastrecent", [C(1, 0, last_assigned_at=at(5)), C(2, 1)], 3, None, 2),
    ("leastrecent", [C(1, 1), C(2, 0)], 3, None, 2),  # both never: member order
    ("leastrecent", [C(1, 1, last_assigned_at=at(1)), C(2, 0, last_assigned_at=at(1))], 3, None, 2),
    ("leastrecent", [C(1, 0, last_assigned_at=at(5)), C(2, 1, last_assigned_at=at(1), load=3)], 3, None, 1),
    # fewest: fewest today; ties by member order.
    ("fewest", [C(1, 0, assigned_today=4), C(2, 1, assigned_today=2), C(3, 2, assigned_today=3)], 3, None, 2),
    ("fewest", [C(1, 1, assigned_today=2), C(2, 0, assigned_today=2)], 3, None, 2),
    ("fewest", [C(1, 0, assigned_today=0, available=False), C(2, 1, assigned_today=9)], 3, None, 2),
    # ringall never picks automatically.
    ("ringall", [C(1, 0), C(2, 1)], 3, None, None),
]


@pytest.mark.parametrize(("strategy", "candidates", "max_load", "last_served", "expected"), TABLE)
def test_pick(strategy, candidates, max_load, last_served, expected):
    assert (
        policy.pick(
            strategy=strategy,
            candidates=candidates,
            max_load=max_load,
            last_served_id=last_served,
            rng=random.Random(1),
        )
        == expected
    )


def test_rrmemory_walks_the_ring_in_member_order():
    members = [C(10, 2), C(20, 0), C(30, 1)]  # member order: 20, 30, 10
    served: list[int] = []
    last = None
    for _ in range(6):
        last = policy.pick(strategy="rrmemory", candidates=members, max_load=3, last_served_id=last)
        served.append(last)
    assert served == [20, 30, 10, 20, 30, 10]


@pytest.mark.parametrize("strategy", [s for s in policy.STRATEGIES if s != "ringall"])
def test_nobody_eligible_means_no_pick(strategy):
    members = [C(1, 0, load=2), C(2, 1, available=False), C(3, 2, load=9)]
    assert policy.pick(strategy=strategy, candidates=members, max_load=2, rng=random.Random(0)) is None


def test_unknown_strategy_is_an_error():
    with pytest.raises(ValueError, match="unknown routing strategy"):
        policy.pick(strategy="roundrobin", candidates=[C(1)], max_load=1)


def test_weight_falls_with_penalty_but_never_reaches_zero():
    assert [policy.weight(p) for p in (0, 1, 50, 100)] == [101, 100, 51, 1]
    assert policy.weight(-5) == 101 and policy.weight(500) == 1


def test_wrandom_distribution_follows_the_weights():
    members = [C(1, 0, penalty=0), C(2, 1, penalty=50), C(3, 2, penalty=100), C(4, 3, penalty=0, load=3)]
    rng = random.Random(20261125)
    draws = 60_000
    counts = Counter(
        policy.pick(strategy="wrandom", candidates=members, max_load=3, rng=rng) for _ in range(draws)
    )
    assert 4 not in counts  # full: never picked
    total_weight = 101 + 51 + 1
    for agent_id, w in ((1, 101), (2, 51), (3, 1)):
        expected = draws * w / total_weight
        # 5 standard deviations of a binomial: fails by chance about once in 3.5 million runs.
        p = w / total_weight
        tolerance = 5 * (draws * p * (1 - p)) ** 0.5
        assert abs(counts[agent_id] - expected) <= tolerance, (agent_id, counts[agent_id], expected)
    assert counts[3] > 0  # penalty 100 is rare, not impossible


def test_wrandom_is_reproducible_with_a_seeded_rng():
    members = [C(i, i, penalty=i * 10) for i in range(1, 8)]
    first = [
        policy.pick(strategy="wrandom", candidates=members, max_load=1, rng=random.Random(7))
        for _ in range(3)
    ]
    again = [
        policy.pick(strategy="wrandom", candidates=members, max_load=1, rng=random.Random(7))
        for _ in range(3)
    ]
    assert first == again


def test_eligible_is_member_order_and_capacity():
    members = [C(5, 2), C(6, 0, load=1), C(7, 1, available=False)]
    assert [c.agent_id for c in policy.eligible(members, max_load=2)] == [6, 5]
    assert [c.agent_id for c in policy.eligible(members, max_load=1)] == [5]
