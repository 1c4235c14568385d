"""Text as pagedesk stores it, whatever boundary it came through (issue 13).

PostgreSQL refuses NUL in text (and `\\u0000` in jsonb), and a lone surrogate (a JSON `\\ud800` escape
with no partner) cannot be written in any encoding: either one made a request fail with a 500, or on
SQLite was stored and went on to CSV exports. Every boundary cleans stored text with `clean_text`, and
refuses identifiers that hold such characters rather than cleaning them into another id.
"""

from __future__ import annotations

import re

SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(value: str, *, limit: int | None = None) -> str:
    """NUL removed, lone surrogates replaced by U+FFFD, and at most `limit` characters."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    value = SURROGATE.sub("\ufffd", value)
    return value[:limit] if limit is not None else value


def has_forbidden_characters(value: str) -> bool:
    return "\x00" in value or SURROGATE.search(value) is not None
