"""Transient failures back off exponentially with jitter, bounded."""

from __future__ import annotations

from pagedesk.messenger.send import BACKOFF_BASE_SECONDS, BACKOFF_MAX_SECONDS, backoff_seconds


def test_backoff_doubles_with_jitter_and_is_capped():
    for attempt in range(1, 12):
        step = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
        samples = [backoff_seconds(attempt) for _ in range(200)]
        assert all(step * 0.5 <= s <= step for s in samples)
        # Jitter: retries of many messages do not line up.
        assert len({round(s, 6) for s in samples}) > 150
    assert backoff_seconds(50) <= BACKOFF_MAX_SECONDS


def test_backoff_grows():
    medians = []
    for attempt in (1, 2, 3, 4, 5):
        samples = sorted(backoff_seconds(attempt) for _ in range(101))
        medians.append(samples[50])
    assert medians == sorted(medians)
