"""The lean ASGI door to the webhook (what `pagedesk serve` answers /webhooks/messenger with).

Called through `pagedesk.config.asgi.application`, the object uvicorn serves, so the dispatch is under
test too. Its database work runs in the webhook's own threads, hence transactional tests. The parity
test sends the same requests through the Django view (test client) and demands identical answers.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from pagedesk.core import metrics
from pagedesk.messenger import fixtures, webhooks
from pagedesk.messenger.models import InboundEvent
from tests.integration.messenger import webhook_door
from tests.integration.messenger.webhook_door import SECRET, URL, VERIFY, signed

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True, scope="module")
def webhook_threads_closed_afterwards():
    yield
    webhooks.webhook_threads_close_connections()


# The shared fixtures, taken by name so that pytest finds them in this module.
facebook_settings = webhook_door.facebook_settings
page = webhook_door.page


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    method: str,
    *,
    path: str = URL,
    query: dict[str, str] | None = None,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    chunk: int = 0,
    scheme: str = "http",
) -> Answer:
    """One HTTP request through the ASGI application, as uvicorn would deliver it."""
    from pagedesk.config.asgi import application

    all_headers = {"host": "127.0.0.1:8000", **(headers or {})}
    if body and "content-length" not in all_headers:
        all_headers["content-length"] = str(len(body))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": urlencode(query or {}).encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in all_headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    size = chunk or max(1, len(body))
    pieces = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    incoming = [
        {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
        for i, piece in enumerate(pieces)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop(0)
        await asyncio.Event().wait()  # the client stays connected until the answer is sent
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(application(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return Answer(
        start["status"],
        {k.decode().lower(): v.decode() for k, v in start["headers"]},
        b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"),
    )


def signed_post(body: dict | bytes, *, signature: str | None = "good", chunk: int = 0) -> Answer:
    raw, header = signed(body, signature)
    headers = {"content-type": "application/json"}
    if header is not None:
        headers["x-hub-signature-256"] = header
    return call("POST", body=raw, headers=headers, chunk=chunk)


def test_the_lean_path_is_the_django_route():
    assert webhooks.lean_webhook_path() == reverse("messenger:webhook") == URL


def test_other_paths_still_go_through_django():
    answer = call("GET", path="/healthz")
    assert answer.status == 200
    assert answer.headers["x-content-type-options"] == "nosniff"  # SecurityMiddleware's


def test_verify_handshake():
    good = call("GET", query={"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158"})
    assert (good.status, good.body, good.headers["content-type"]) == (200, b"1158", "text/plain")
    wrong = call("GET", query={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"})
    assert wrong.status == 403
    assert wrong.json()["error"]["code"] == "verify_token_mismatch"


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "garbage"])
def test_bad_signature_is_403_and_nothing_stored(page, signature):
    answer = signed_post(fixtures.load("text"), signature=signature)
    assert answer.status == 403
    assert answer.json()["error"]["code"] == "bad_signature"
    assert InboundEvent.objects.count() == 0
    assert DBTaskResult.objects.count() == 0


def test_a_body_that_is_not_json_is_400_and_nothing_stored(page):
    raw = b'{"object": "page", "entry": [{"id": "1", "messaging": {}}'
    answer = signed_post(raw, signature=fixtures.sign(raw, SECRET))
    assert answer.status == 400
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["error"]["code"] == "malformed"
    assert InboundEvent.objects.count() == 0


def test_good_post_is_stored_enqueued_and_counted(page):
    requests = metrics.http_requests.labels(method="POST", status="200")
    events = metrics.webhook_events.labels(kind="message")
    before_requests, before_events = requests._value.get(), events._value.get()
    before_latency = metrics.http_latency._sum.get()
    # The body arrives in small pieces, as uvicorn hands over a slow client's upload.
    answer = signed_post(fixtures.load("text"), chunk=7)
    assert (answer.status, answer.body) == (200, b"EVENT_RECEIVED")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    event = InboundEvent.objects.get()
    assert (event.page_id, event.psid, event.kind, event.dedup_key) == (
        fixtures.PAGE_ID,
        fixtures.PSID,
        "message",
        "mid:m_AbCdEfText0001",
    )
    assert DBTaskResult.objects.get().task_path.endswith("inbound_events_process")
    assert requests._value.get() == before_requests + 1
    assert events._value.get() == before_events + 1
    assert metrics.http_latency._sum.get() > before_latency


def test_batch_of_1000_duplicates_and_unknown_pages(page):
    messaging = [
        fixtures.text_item(
            mid=f"m_lean{i:04d}", text=f"message {i}", timestamp=1764070000000 + i, psid=f"PSID{i % 50:03d}"
        )
        for i in range(1000)
    ]
    body = fixtures.batch(messaging, per_entry=100)
    assert signed_post(body).status == 200
    assert signed_post(body).status == 200  # redelivered whole
    assert InboundEvent.objects.filter(known_page=True, status="pending").count() == 1000

    unknown = metrics.unknown_events.labels(reason="unknown_page")
    before = unknown._value.get()
    stranger = fixtures.text_item(mid="m_elsewhere", text="hi", timestamp=1764070000000)
    stranger["recipient"] = {"id": "777"}
    assert signed_post({"object": "page", "entry": [{"id": "777", "messaging": [stranger]}]}).status == 200
    assert InboundEvent.objects.get(page_id="777").known_page is False
    assert unknown._value.get() == before + 1


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "HEAD"])
def test_other_methods_are_405(method):
    answer = call(method)
    assert answer.status == 405
    assert answer.headers["allow"] == "GET, POST"


def test_a_body_over_the_limit_is_413_before_it_is_read(page, monkeypatch):
    monkeypatch.setattr(webhooks, "MAX_BODY_BYTES", 100)
    raw = fixtures.encode(fixtures.load("text"))
    assert len(raw) > 100
    declared = signed_post(raw)
    assert (declared.status, declared.json()["error"]["code"]) == (413, "too_large")
    # Without a Content-Length (chunked upload) the stream is cut at the limit.
    streamed = call(
        "POST",
        body=raw,
        headers={"content-length": "0", "x-hub-signature-256": fixtures.sign(raw, SECRET)},
        chunk=40,
    )
    assert streamed.status == 413
    assert InboundEvent.objects.count() == 0


def test_a_host_outside_allowed_hosts_is_refused(page, settings):
    settings.ALLOWED_HOSTS = ["desk.example.com"]
    raw = fixtures.encode(fixtures.load("text"))
    answer = call(
        "POST", body=raw, headers={"host": "evil.example", "x-hub-signature-256": fixtures.sign(raw, SECRET)}
    )
    assert answer.status == 400
    assert InboundEvent.objects.count() == 0
    ok = call(
        "POST",
        body=raw,
        headers={"host": "desk.example.com", "x-hub-signature-256": fixtures.sign(raw, SECRET)},
    )
    assert ok.status == 200


def test_the_lean_app_answers_exactly_like_the_django_view(page):
    """Same requests through both doors: same status, content type and body, byte for byte."""
    text = fixtures.encode(fixtures.load("text"))
    malformed = b"{not json"
    cases: list[tuple[str, dict[str, str], bytes, str | None]] = [
        ("GET", {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "42"}, b"", None),
        ("GET", {"hub.mode": "subscribe", "hub.verify_token": "x", "hub.challenge": "42"}, b"", None),
        ("GET", {}, b"", None),
        ("POST", {}, text, None),
        ("POST", {}, text, "sha256=" + "1" * 64),
        ("POST", {}, malformed, fixtures.sign(malformed, SECRET)),
        ("POST", {}, text, fixtures.sign(text, SECRET)),
        ("PUT", {}, b"", None),
    ]
    for method, query, body, signature in cases:
        extra = {"HTTP_X_HUB_SIGNATURE_256": signature} if signature else {}
        if method == "GET":
            django = Client().get(URL, query)
        else:
            django = Client().generic(method, URL, data=body, content_type="application/json", **extra)
        lean = call(
            method, query=query, body=body, headers={"x-hub-signature-256": signature} if signature else {}
        )
        assert (lean.status, lean.headers["content-type"], lean.body) == (
            django.status_code,
            django["Content-Type"],
            django.content,
        ), (method, query, signature)
        if method == "PUT":
            assert lean.headers["allow"] == django["Allow"]


@pytest.mark.parametrize("door", ["lean", "django"])
def test_a_database_that_drops_the_connection_is_503_not_acknowledged(page, monkeypatch, door):
    """Scenario 4 of issue 16: a killed database session made the POST a 500 with a traceback; it is a
    503 that Facebook (and nginx, on another process) retries, and nothing is acknowledged."""
    from django.db import OperationalError

    def dropped(**kwargs: Any) -> None:
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(webhooks, "inbound_events_store", dropped)
    raw, signature = signed(fixtures.load("text"))
    if door == "lean":
        answer = signed_post(fixtures.load("text"))
        status, body = answer.status, answer.json()
    else:
        response = Client().post(
            reverse("messenger:webhook"),
            raw,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=signature,
        )
        status, body = response.status_code, response.json()
    assert status == 503
    assert body["error"]["code"] == "unavailable"
