"""Signed webhooks with hostile content (issue 13, findings 2, 3 and 5; run on SQLite and PostgreSQL).

The rule: a body that is valid JSON and correctly signed is answered 200; NUL is removed and lone
surrogates replaced in stored text; an event pagedesk cannot read or store is parked, alone, with its
reason, and never fails a neighbour in its own body or in a concurrent request; a body that is not
JSON is 400.
"""

from __future__ import annotations

import json
import threading

import pytest
from django.db import DataError, connection
from django.test import Client

from pagedesk.conversations.models import Message
from pagedesk.core.errors import ApplicationError
from pagedesk.core.worker import make_worker
from pagedesk.messenger import fixtures, ingest, payloads
from pagedesk.messenger.ingest import inbound_event_replay
from pagedesk.messenger.models import InboundEvent
from tests.integration.messenger import webhook_door
from tests.integration.messenger.webhook_door import SECRET, URL

page = webhook_door.page
facebook_settings = webhook_door.facebook_settings

T0 = 1764070000000


def item(mid: str, text: str = "hello", *, psid: str = fixtures.PSID, timestamp: object = T0) -> dict:
    return {
        "sender": {"id": psid},
        "recipient": {"id": fixtures.PAGE_ID},
        "timestamp": timestamp,
        "message": {"mid": mid, "text": text},
    }


def post_raw(raw: bytes) -> int:
    response = Client().post(
        URL, data=raw, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=fixtures.sign(raw, SECRET)
    )
    return response.status_code


def post(*items: dict, **entry: object) -> int:
    body = {
        "object": "page",
        "entry": [{"id": fixtures.PAGE_ID, "time": T0, "messaging": list(items), **entry}],
    }
    # json.dumps writes NaN/Infinity as Python reads them; \ud800 and \u0000 stay escapes, as Facebook sends.
    return post_raw(json.dumps(body).encode())


def stored(mid: str) -> InboundEvent:
    return InboundEvent.objects.get(dedup_key=f"mid:{mid}")


def parked() -> list[InboundEvent]:
    return list(InboundEvent.objects.filter(status="parked").order_by("id"))


def run_worker() -> None:
    worker = make_worker(interval=0)
    worker.batch = True
    worker.run()


@pytest.mark.django_db(transaction=True)
def test_nul_and_lone_surrogates_are_cleaned_from_stored_text_and_processed(page):
    hostile = item("m_text", "a\u0000b\ud800c")
    hostile["message"]["quick_reply"] = {"payload": "PAY\u0000LOAD"}
    attachment = item("m_file", "")
    del attachment["message"]["text"]
    attachment["message"]["attachments"] = [
        {"type": "file", "payload": {"url": "https://cdn.example.com/a\u0000.pdf"}}
    ]
    assert post(hostile, attachment) == 200
    event = stored("m_text")
    assert event.status == "pending"
    assert event.payload["message"]["text"] == "ab\ufffdc"
    assert event.payload["message"]["quick_reply"]["payload"] == "PAYLOAD"
    assert stored("m_file").payload["message"]["attachments"][0]["payload"]["url"] == (
        "https://cdn.example.com/a.pdf"
    )
    run_worker()
    assert Message.objects.get(mid="m_text").text == "ab\ufffdc"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("poison", "reason"),
    [
        (item("m_\u0000nul"), "message id"),
        (item("m_sur\ud800"), "message id"),
        (item("m_psid", psid="12\u00003"), "sender id"),
        (item("m_longpsid", psid="9" * 200), "sender id"),
        (item("m_nan", timestamp=float("nan")), "out of range"),
        (item("m_inf", timestamp=float("inf")), "out of range"),
        (item("m_huge", timestamp=2**63), "out of range"),
        (item("m_neg", timestamp=-(2**70)), "out of range"),
        ({**item("m_watermark"), "delivery": {"watermark": 2**64}}, "out of range"),
    ],
)
def test_an_event_that_cannot_be_stored_is_parked_and_its_neighbour_processed(page, poison, reason):
    assert post(item("m_before"), poison, item("m_after")) == 200
    (kept,) = parked()
    assert reason in kept.error, kept.error
    assert kept.payload["raw"]  # the item as received, as JSON text
    run_worker()
    assert set(Message.objects.values_list("mid", flat=True)) == {"m_before", "m_after"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "entry",
    [
        {"time": 2**63},
        {"time": float("inf")},
        {"id": "1" * 200},
        {"id": "12\u00003"},
    ],
)
def test_an_entry_with_an_unusable_page_id_or_time_parks_its_items(page, entry):
    assert post(item("m_1"), item("m_2"), **entry) == 200
    assert [e.status for e in InboundEvent.objects.order_by("id")] == (
        ["parked", "parked"] if entry.get("time") != float("inf") else ["pending", "pending"]
    )


@pytest.mark.django_db(transaction=True)
def test_a_body_nested_five_thousand_deep_is_acknowledged_and_parked(page):
    raw = b'{"object": "page", "entry": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert post_raw(raw) == 200
    (kept,) = parked()
    assert "nested" in kept.error
    assert kept.payload["raw_body"].startswith('{"object": "page"')


@pytest.mark.django_db(transaction=True)
def test_an_item_nested_deeply_is_parked_alone(page):
    deep: object = "x"
    for _ in range(200):
        deep = {"d": deep}
    poison = item("m_deep")
    poison["message"]["metadata"] = deep
    assert post(item("m_ok"), poison) == 200
    assert stored("m_ok").status == "pending"
    assert "nested deeper" in parked()[0].error


@pytest.mark.django_db(transaction=True)
def test_two_long_mids_sharing_their_first_251_characters_are_two_events(page):
    common = "m_" + "A" * 249
    assert post(item(common + "one"), item(common + "two")) == 200
    keys = list(InboundEvent.objects.values_list("dedup_key", flat=True))
    assert len(set(keys)) == 2 and all(len(key) <= 255 for key in keys)
    # A redelivery of either is still a duplicate.
    assert post(item(common + "two")) == 200
    assert InboundEvent.objects.count() == 2
    run_worker()
    assert Message.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_ten_megabyte_text_is_stored_cut_to_the_limit(page):
    assert post(item("m_big", "x" * 10_000_000)) == 200
    assert len(stored("m_big").payload["message"]["text"]) == payloads.MAX_STRING
    run_worker()
    assert len(Message.objects.get(mid="m_big").text) <= payloads.MAX_STRING


@pytest.mark.django_db(transaction=True)
def test_a_parked_event_is_replayed_after_a_fix(page, monkeypatch):
    deep: object = "x"
    for _ in range(40):
        deep = {"d": deep}
    poison = item("m_deep")
    poison["message"]["metadata"] = deep
    assert post(poison) == 200
    (kept,) = parked()
    with pytest.raises(ApplicationError) as refused:
        inbound_event_replay(event=kept)
    assert refused.value.code == "still_parked"
    monkeypatch.setattr(payloads, "MAX_DEPTH", 64)  # the fix
    assert inbound_event_replay(event=kept) == 1
    kept.refresh_from_db()
    assert kept.status == "ignored" and "replayed" in kept.error
    run_worker()
    assert Message.objects.filter(mid="m_deep").exists()


@pytest.mark.django_db(transaction=True)
def test_a_row_the_database_refuses_fails_no_concurrent_request(page, monkeypatch):
    """The SQLite group commit wrote every queued request in one transaction, so one refused row failed
    them all: 400 concurrent POSTs with 40 poisoned lost 72 valid ones. Here the database refuses every
    row whose text says so (as PostgreSQL refuses what it cannot store); each request stands alone."""
    original = ingest._write

    def refusing(*, rows, streams):  # type: ignore[no-untyped-def]
        if any("POISON" in str(row[4]) and row[7] != "parked" for row in rows):
            raise DataError("refused for the test")
        original(rows=rows, streams=streams)

    monkeypatch.setattr(ingest, "_write", refusing)
    statuses: list[int] = []
    lock = threading.Lock()

    def send(index: int) -> None:
        try:
            text = "POISON" if index % 10 == 0 else "fine"
            status = post(item(f"m_{index}", text), item(f"m_{index}_b", "fine too"))
            with lock:
                statuses.append(status)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert statuses == [200] * 100
    assert InboundEvent.objects.filter(status="pending").count() == 190
    assert InboundEvent.objects.filter(status="parked").count() == 10
    assert all("refused for the test" in e.error for e in parked())


@pytest.mark.django_db(transaction=True)
def test_a_body_that_is_not_json_is_400(page):
    assert post_raw(b'{"object": "page", "entry": [') == 400
    assert post_raw(b"\xff\xfe{}") == 400
    assert InboundEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_admins_see_parked_events_on_the_facebook_settings_page_and_replay_them(
    page, ada, alice, client_for, monkeypatch
):
    deep: object = "x"
    for _ in range(40):
        deep = {"d": deep}
    poison = item("m_deep")
    poison["message"]["metadata"] = deep
    assert post(poison) == 200
    (kept,) = parked()
    assert client_for(alice).get("/settings/facebook").status_code == 403
    assert client_for(alice).post(f"/settings/facebook/parked/{kept.pk}/replay").status_code == 403
    admin = client_for(ada)
    shown = admin.get("/settings/facebook").content.decode()
    assert "Parked webhook events" in shown and "nested deeper than 32 levels" in shown
    assert shown.count('data-testid="parked-events"') == 1
    title = shown[shown.index("<title>") : shown.index("</title>")]
    assert "Facebook settings" in title and "<" not in title[len("<title>") :]
    answer = admin.post(f"/settings/facebook/parked/{kept.pk}/replay", follow=True)
    assert "pagedesk still cannot read this event" in answer.content.decode()
    monkeypatch.setattr(payloads, "MAX_DEPTH", 64)
    answer = admin.post(f"/settings/facebook/parked/{kept.pk}/replay", follow=True)
    assert "Replayed: 1 event stored for processing." in answer.content.decode()
    assert "None: every event Facebook sent could be read and stored." in answer.content.decode()
    # Replaying twice is refused cleanly (it is no longer parked).
    assert admin.post(f"/settings/facebook/parked/{kept.pk}/replay").status_code == 404
