"""A property-based fuzzer over signed webhook bodies (issue 13, "Done when"); SQLite and PostgreSQL.

Arbitrary JSON values — every Unicode category, NUL and lone surrogates, huge and non-finite numbers,
deep nesting — are spliced into a valid Messenger event at a random place, and sent signed beside a
valid neighbour. Whatever the value:
- the webhook never answers 5xx (200: it is JSON and signed);
- the neighbour is stored exactly once and processed;
- every stored event ends processed, ignored (a kind pagedesk does not act on, with its reason) or
  parked with its reason — never failed, never pending.
Concurrent neighbours are covered by test_webhooks_hostile.py (the group commit).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pagedesk.messenger import fixtures
from pagedesk.messenger.ingest import inbound_stream_process
from pagedesk.messenger.models import InboundEvent
from pagedesk.messenger.webhooks import webhook_receive
from tests.integration.messenger import webhook_door

page = webhook_door.page
facebook_settings = webhook_door.facebook_settings

T0 = 1764070000000
FINAL = {"processed", "ignored", "parked"}

# Text from every Unicode category, surrogates (lone, as a JSON \ud800 escape makes them) and NUL included.
any_text = st.text(alphabet=st.characters(codec=None, categories=None), max_size=40) | st.sampled_from(
    ["\x00", "a\x00b", "\ud800", "\udfff x", "😀", "\u202e", "9" * 300, "m_" + "A" * 400]
)
numbers = st.integers(min_value=-(2**80), max_value=2**80) | st.floats(allow_nan=True, allow_infinity=True)
scalars = st.none() | st.booleans() | numbers | any_text
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4),
    max_leaves=20,
)


def nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


hostile_values = json_values | st.integers(min_value=30, max_value=3000).map(nested)

# Where the value goes in an event shaped like Facebook's (paths into `base_item`), or a new key.
PATHS = [
    ("timestamp",),
    ("sender",),
    ("sender", "id"),
    ("recipient", "id"),
    ("message",),
    ("message", "mid"),
    ("message", "text"),
    ("message", "quick_reply"),
    ("message", "quick_reply", "payload"),
    ("message", "attachments"),
    ("message", "attachments", 0, "payload", "url"),
    ("message", "attachments", 0, "type"),
    ("message", "reply_to", "mid"),
    ("delivery",),
    ("delivery", "watermark"),
    ("read", "watermark"),
    ("reaction", "mid"),
    ("postback", "payload"),
    ("message_edit", "text"),
    ("extra",),
]
ENTRY_PATHS = [("id",), ("time",), ("messaging",)]


def base_item(mid: str, psid: str = "7000000000000009") -> dict[str, Any]:
    return {
        "sender": {"id": psid},
        "recipient": {"id": fixtures.PAGE_ID},
        "timestamp": T0 + 1,
        "message": {
            "mid": mid,
            "text": "hello",
            "quick_reply": {"payload": "P"},
            "attachments": [{"type": "file", "payload": {"url": "https://cdn.example.com/f.pdf"}}],
        },
    }


def splice(target: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        if isinstance(target, dict):
            target = target.setdefault(key, {})
        elif isinstance(target, list) and isinstance(key, int) and key < len(target):
            target = target[key]
        else:
            return
    if isinstance(target, dict) or (
        isinstance(target, list) and isinstance(path[-1], int) and path[-1] < len(target)
    ):
        target[path[-1]] = value


@pytest.mark.django_db
@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    value=hostile_values,
    where=st.sampled_from(PATHS + [("entry", *p) for p in ENTRY_PATHS]),
    neighbour_first=st.booleans(),
)
def test_no_signed_json_body_fails_or_harms_a_neighbour(page, value, where, neighbour_first):
    neighbour = base_item("m_neighbour", psid=fixtures.PSID)
    poisoned = base_item("m_poisoned")
    entry: dict[str, Any] = {"id": fixtures.PAGE_ID, "time": T0}
    if where[0] == "entry":
        # The poisoned entry is a second entry of the body; the neighbour's entry is untouched.
        splice(entry, where[1:], value)
        entries = [
            {"id": fixtures.PAGE_ID, "time": T0, "messaging": [neighbour]},
            {**entry, "messaging": [poisoned]},
        ]
        if where[1:] == ("messaging",):
            entries[1]["messaging"] = value
    else:
        splice(poisoned, where, value)
        items = [neighbour, poisoned] if neighbour_first else [poisoned, neighbour]
        entries = [{**entry, "messaging": items}]
    try:
        raw = json.dumps({"object": "page", "entry": entries}).encode()
    except (RecursionError, ValueError):
        return  # not a body anyone can send
    with transaction.atomic():
        answer = webhook_receive(raw=raw, signature=fixtures.sign(raw, webhook_door.SECRET))
        assert answer.status == 200, answer.body
        assert InboundEvent.objects.filter(dedup_key="mid:m_neighbour").count() == 1
        for page_id, psid in set(
            InboundEvent.objects.filter(status="pending").values_list("page_id", "psid")
        ):
            inbound_stream_process(page_id=page_id, psid=psid)
        outcomes = list(InboundEvent.objects.values_list("dedup_key", "status", "error"))
        assert ("mid:m_neighbour", "processed", "") in outcomes, outcomes
        for key, status, error in outcomes:
            assert status in FINAL, (key, status, error)
            assert status == "processed" or error, (key, status)
        transaction.set_rollback(True)
