"""Webhook ingress: the verify handshake, signatures, malformed bodies, batches, duplicates, unknown pages.

Integration tests: the real database task backend, and the worker run in-process to process.
"""

from __future__ import annotations

import hmac
import time

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from pagedesk.conversations.models import Conversation, Message
from pagedesk.core import metrics
from pagedesk.core.worker import make_worker
from pagedesk.messenger import fixtures, signatures
from pagedesk.messenger.ingest import inbound_events_reprocess_for_page
from pagedesk.messenger.models import InboundEvent, PageConnection
from tests.integration.messenger import webhook_door
from tests.integration.messenger.webhook_door import SECRET, URL, VERIFY, signed

# The shared fixtures, taken by name so that pytest finds them in this module.
facebook_settings = webhook_door.facebook_settings
page = webhook_door.page


def post(body: dict | bytes, *, signature: str | None = "good", client: Client | None = None):
    raw, header = signed(body, signature)
    headers = {} if header is None else {"HTTP_X_HUB_SIGNATURE_256": header}
    return (client or Client()).post(URL, data=raw, content_type="application/json", **headers)


def run_worker() -> None:
    worker = make_worker(interval=0)
    worker.batch = True
    worker.run()


# --- GET: subscription handshake ---------------------------------------------------------------------


@pytest.mark.django_db
def test_verify_handshake_echoes_the_challenge():
    response = Client().get(
        URL, {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    )
    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY, "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ],
)
def test_verify_handshake_refuses_wrong_token_or_mode(params):
    assert Client().get(URL, params).status_code == 403


@pytest.mark.django_db
def test_verify_handshake_refuses_everything_when_no_token_is_configured(settings):
    settings.FACEBOOK_VERIFY_TOKEN = ""
    assert (
        Client().get(URL, {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}).status_code
        == 403
    )


# --- POST: signature and shape ---------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "sha1=abc", "garbage", "sha256=ÿ"])
def test_post_without_a_valid_signature_is_refused_and_nothing_stored(page, signature):
    response = post(fixtures.load("text"), signature=signature)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "bad_signature"
    assert InboundEvent.objects.count() == 0
    assert DBTaskResult.objects.count() == 0


@pytest.mark.django_db
def test_signature_over_other_bytes_is_refused(page):
    raw = fixtures.encode(fixtures.load("text"))
    tampered = raw.replace(b"hello", b"HELLO")
    response = post(tampered, signature=fixtures.sign(raw, SECRET))
    assert response.status_code == 403
    assert InboundEvent.objects.count() == 0


@pytest.mark.django_db
def test_signature_check_uses_a_constant_time_compare(page, monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(signatures.hmac, "compare_digest", spy)
    assert post(fixtures.load("text")).status_code == 200
    assert len(calls) == 1


@pytest.mark.django_db
def test_a_body_that_is_not_json_is_400_and_nothing_stored(page):
    raw = b"{not json"
    response = post(raw, signature=fixtures.sign(raw, SECRET))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed"
    assert InboundEvent.objects.count() == 0
    assert DBTaskResult.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"[]", "the body is not a JSON object"),
        (b'{"object": "page"}', '"entry" is not a list'),
        (b'{"object": "instagram", "entry": []}', "not a Page webhook"),
        (b'{"object": "page", "entry": [{"id": "1", "messaging": {}}]}', '"messaging" is not a list'),
        (
            b'{"object": "page", "entry": [{"id": "1", "messaging": ["x"]}]}',
            "a messaging item is not an object",
        ),
    ],
)
def test_a_signed_json_body_of_another_shape_is_acknowledged_and_parked(page, raw, reason):
    # Valid JSON, correctly signed: Facebook would redeliver a refused body for ever. It is kept, parked
    # with its reason for an admin, and processed by nobody.
    response = post(raw, signature=fixtures.sign(raw, SECRET))
    assert response.status_code == 200
    event = InboundEvent.objects.get()
    assert event.status == "parked" and reason in event.error
    assert DBTaskResult.objects.count() == 0


@pytest.mark.django_db
def test_an_entry_without_page_id_or_items_stores_nothing(page):
    raw = b'{"object": "page", "entry": [{"messaging": []}]}'
    response = post(raw, signature=fixtures.sign(raw, SECRET))
    assert response.status_code == 200
    assert InboundEvent.objects.count() == 0


@pytest.mark.django_db
def test_good_post_is_acknowledged_stored_and_enqueued_without_csrf(page):
    client = Client(enforce_csrf_checks=True)
    response = post(fixtures.load("text"), client=client)
    assert response.status_code == 200
    assert response.content == b"EVENT_RECEIVED"
    event = InboundEvent.objects.get()
    assert (event.page_id, event.psid, event.kind, event.status) == (
        fixtures.PAGE_ID,
        fixtures.PSID,
        "message",
        "pending",
    )
    assert event.dedup_key == "mid:m_AbCdEfText0001"
    assert event.event_time == 1764070000000
    task = DBTaskResult.objects.get()
    assert task.task_path.endswith("inbound_events_process")
    assert task.queue_name == "messenger"


# --- batches, duplicates, order, unknown pages ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_batch_of_1000_events_is_stored_whole(page):
    messaging = [
        fixtures.text_item(
            mid=f"m_batch{i:04d}", text=f"message {i}", timestamp=1764070000000 + i, psid=f"PSID{i % 50:03d}"
        )
        for i in range(1000)
    ]
    started = time.perf_counter()
    response = post(fixtures.batch(messaging, per_entry=100))
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert elapsed < 5  # the bench measures the real figure; this only guards against pathologies
    assert InboundEvent.objects.filter(status="pending", known_page=True).count() == 1000
    # One task row per POST keeps the ack cheap; that task fans the batch out over the workers.
    task = DBTaskResult.objects.get()
    assert len(task.args_kwargs["kwargs"]["streams"]) == 50


@pytest.mark.django_db(transaction=True)
def test_batched_events_from_many_customers_are_all_processed(page):
    messaging = [
        fixtures.text_item(
            mid=f"m_many{i:03d}", text=f"message {i}", timestamp=1764070000000 + i, psid=f"PSID{i % 30:02d}"
        )
        for i in range(60)
    ]
    assert post(fixtures.batch(messaging, per_entry=20)).status_code == 200
    run_worker()
    assert InboundEvent.objects.filter(status="processed").count() == 60
    assert Message.objects.count() == 60
    assert Conversation.objects.count() == 30
    # 30 customers: the webhook's one task kept 25 and fanned the other 5 out to a second task.
    fanned = DBTaskResult.objects.filter(task_path__endswith="inbound_events_process")
    assert sorted(len(t.args_kwargs["kwargs"]["streams"]) for t in fanned) == [5, 30]


@pytest.mark.django_db(transaction=True)
def test_redelivered_events_are_stored_once_and_processed_once(page):
    body = fixtures.load("text")
    delivery = fixtures.load("delivery")
    for _ in range(3):
        assert post(body).status_code == 200
        assert post(delivery).status_code == 200
    assert InboundEvent.objects.count() == 2
    run_worker()
    assert Message.objects.count() == 1
    # Redelivered after processing: still one row, still one message.
    assert post(body).status_code == 200
    run_worker()
    assert InboundEvent.objects.count() == 2
    assert Message.objects.count() == 1
    assert Conversation.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_out_of_order_delivery_is_processed_in_event_time_order(page):
    later = fixtures.text_item(mid="m_second", text="second", timestamp=1764070002000)
    earlier = fixtures.text_item(mid="m_first", text="first", timestamp=1764070001000)
    assert post(fixtures.batch([later])).status_code == 200
    assert post(fixtures.batch([earlier])).status_code == 200
    run_worker()
    assert list(Message.objects.order_by("created_at", "id").values_list("text", flat=True)) == [
        "first",
        "second",
    ]
    assert list(InboundEvent.objects.order_by("processed_at", "id").values_list("event_time", flat=True)) == [
        1764070001000,
        1764070002000,
    ]


@pytest.mark.django_db(transaction=True)
def test_events_for_an_unknown_page_are_kept_counted_and_processed_after_activation(campaign):
    before = metrics.unknown_events.labels(reason="unknown_page")._value.get()
    assert post(fixtures.load("text")).status_code == 200
    event = InboundEvent.objects.get()
    assert event.known_page is False
    assert event.status == "pending"
    assert metrics.unknown_events.labels(reason="unknown_page")._value.get() == before + 1
    run_worker()
    assert Conversation.objects.count() == 0
    assert InboundEvent.objects.get().status == "pending"

    PageConnection.objects.update_or_create(
        campaign=campaign, defaults={"page_id": fixtures.PAGE_ID, "page_name": "Acme"}
    )
    assert inbound_events_reprocess_for_page(page_id=fixtures.PAGE_ID) == 1
    run_worker()
    assert InboundEvent.objects.get().status == "processed"
    assert Conversation.objects.get().campaign == campaign


@pytest.mark.django_db
def test_unknown_event_shapes_are_kept_ignored_and_counted(page):
    before = metrics.unknown_events.labels(reason="unsupported_event")._value.get()
    assert post(fixtures.load("unknown")).status_code == 200
    event = InboundEvent.objects.get()
    assert (event.kind, event.status) == ("unknown", "ignored")
    assert "game_play" in event.error
    assert metrics.unknown_events.labels(reason="unsupported_event")._value.get() == before + 1
    assert DBTaskResult.objects.count() == 0


@pytest.mark.django_db
def test_standby_events_are_stored_and_enqueued_for_processing(page):
    # Kept on the conversation as standby (tests/integration/messenger/test_thread_control.py), so
    # processed like the customer's other events, in order.
    assert post(fixtures.load("standby")).status_code == 200
    event = InboundEvent.objects.get()
    assert (event.kind, event.status) == ("standby", "pending")
    assert event.payload["message"]["text"] == "talking to the other app"
    assert DBTaskResult.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_are_all_stored_and_enqueued(page):
    """Many request threads at once (SQLite: they share group commits instead of busy-waiting)."""
    import threading

    from django.db import connection

    bodies = [
        fixtures.batch(
            [fixtures.text_item(mid=f"m_conc{i:03d}", text="x", timestamp=1764070000000 + i, psid=f"P{i}")]
        )
        for i in range(40)
    ]
    statuses: list[int] = []

    def send(chunk: list[dict]) -> None:
        try:
            for body in chunk:
                statuses.append(post(body).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(bodies[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 40
    assert InboundEvent.objects.count() == 40
    streams = {tuple(s) for task in DBTaskResult.objects.all() for s in task.args_kwargs["kwargs"]["streams"]}
    assert streams == {(fixtures.PAGE_ID, f"P{i}") for i in range(40)}


@pytest.mark.django_db
def test_the_same_event_twice_in_one_body_is_stored_once(page):
    item = fixtures.text_item(mid="m_twice", text="x", timestamp=1764070000000)
    assert post(fixtures.batch([item, dict(item)])).status_code == 200
    assert InboundEvent.objects.count() == 1
