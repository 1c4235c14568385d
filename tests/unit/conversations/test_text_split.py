"""A reply longer than Messenger's 2,000 characters per message is split at word boundaries, in order,
never cut (issue 12, defect 5)."""

from __future__ import annotations

import pytest

from pagedesk.conversations.sending import TEXT_LIMIT, text_split


def test_a_reply_within_the_limit_is_one_part():
    assert text_split("Hello Carla") == ["Hello Carla"]
    assert text_split("x" * TEXT_LIMIT) == ["x" * TEXT_LIMIT]


def test_a_long_reply_is_split_at_the_last_space_before_the_limit_and_loses_no_word():
    words = [f"word{i:04d}" for i in range(600)]  # 8 characters + a space each: 5,399 characters
    text = " ".join(words)
    parts = text_split(text)
    assert len(parts) == 3
    assert all(len(part) <= TEXT_LIMIT for part in parts)
    # No word is cut in two, none is lost, and the order is kept.
    assert [w for part in parts for w in part.split(" ")] == words
    # Each part is as full as the word boundaries allow.
    assert all(len(part) > TEXT_LIMIT - 9 for part in parts[:-1])


def test_line_breaks_count_as_word_boundaries_and_stay_inside_a_part():
    paragraph = ("a" * 99 + "\n") * 30  # 3,000 characters, no spaces
    parts = text_split(paragraph)
    assert [len(p) for p in parts] == [1999, 999]
    assert "\n".join(parts) == paragraph.strip()


def test_a_word_longer_than_the_limit_is_hard_split():
    text = "see " + "y" * 4500 + " end"
    parts = text_split(text)
    assert parts == ["see", "y" * 2000, "y" * 2000, "y" * 500 + " end"]


@pytest.mark.parametrize("limit", [5, 7, 10])
def test_any_limit_gives_parts_within_it_and_the_same_words(limit):
    text = "The quick brown fox jumps over the extraordinarily lazy dog"
    parts = text_split(text, limit=limit)
    assert all(0 < len(p) <= limit for p in parts)
    assert "".join("".join(parts).split()) == "".join(text.split())
