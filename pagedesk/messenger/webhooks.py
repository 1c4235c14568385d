"""The Messenger webhook endpoint, GET (subscription handshake) and POST (events).

Thin on purpose: verify, parse, hand the typed events to `inbound_events_store`, answer. Everything slow
(conversations, profiles, downloads) happens in tasks, because Meta expects a 200 within seconds and
retries (then eventually disables the subscription) when it does not get one:
https://developers.facebook.com/docs/messenger-platform/webhooks#requirements

Two doors, one behaviour. `webhook_verify` and `webhook_receive` decide every answer; the Django view
(reached through Django's URL resolver: the test client, reverse(), any non-uvicorn server) and the lean
ASGI app `messenger_webhook_asgi` (what `pagedesk serve` answers the webhook path with, see
config/asgi.py) only translate to and from them. The lean app skips Django's middleware stack — sessions,
auth, CSRF, locale, messages, axes are browser concerns, and the stack was half of the ack time
(docs/decisions/webhook-lean-path.md) — but keeps what matters to a machine client: the ALLOWED_HOSTS
check, the security headers, the request metrics, and Django's connection handling around the database
work, which runs in a small fixed pool of threads.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signals
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port, validate_host
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from pagedesk.core import metrics
from pagedesk.core.db import sqlite_connections_persist
from pagedesk.messenger import signatures
from pagedesk.messenger.ingest import inbound_events_store
from pagedesk.messenger.payloads import PayloadError, webhook_body_parse

logger = logging.getLogger(__name__)

# Meta batches at most 1,000 events per POST; even with long attachment URLs that is well under this.
# Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB, meant for forms) is bypassed by reading the stream.
MAX_BODY_BYTES = 20 * 1024 * 1024

ALLOWED_METHODS = ("GET", "POST")


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    content_type: str
    body: bytes


_RECEIVED = WebhookAnswer(200, "text/plain", b"EVENT_RECEIVED")


def _error(status: int, code: str, message: str) -> WebhookAnswer:
    # Byte for byte what JsonResponse would send: {"error": {"code": ..., "message": ...}}.
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return WebhookAnswer(status, "application/json", body)


_UNAVAILABLE = WebhookAnswer(
    503,
    "application/json",
    json.dumps(
        {
            "error": {
                "code": "unavailable",
                "message": "The database is unavailable; the events were not stored.",
            }
        }
    ).encode(),
)


def _too_large() -> WebhookAnswer:
    return _error(413, "too_large", "The webhook body is larger than pagedesk accepts.")


def webhook_verify(*, mode: str | None, token: str | None, challenge: str | None) -> WebhookAnswer:
    """The GET subscription handshake: echo hub.challenge when mode and verify token match, else 403."""
    # https://developers.facebook.com/docs/messenger-platform/webhooks#verification-requests
    if mode == "subscribe" and signatures.verify_token_matches(
        given=token, expected=settings.FACEBOOK_VERIFY_TOKEN
    ):
        return WebhookAnswer(200, "text/plain", (challenge or "").encode())
    return _error(403, "verify_token_mismatch", "The verify token does not match FACEBOOK_VERIFY_TOKEN.")


def webhook_receive(*, raw: bytes, signature: str | None) -> WebhookAnswer:
    """A POST body: signature (403), shape (400), then every event stored and enqueued (200).

    Uses the database: call it from a synchronous thread, inside Django's connection handling.
    """
    if len(raw) > MAX_BODY_BYTES:
        return _too_large()
    if not signatures.signature_is_valid(body=raw, header=signature, secret=settings.FACEBOOK_APP_SECRET):
        logger.warning("webhook POST with a missing or wrong X-Hub-Signature-256 refused")
        return _error(403, "bad_signature", "The X-Hub-Signature-256 header is missing or wrong.")
    try:
        events = webhook_body_parse(raw)
    except PayloadError as exc:
        logger.warning("malformed webhook body refused: %s", exc)
        return _error(400, "malformed", str(exc))
    try:
        inbound_events_store(events=events)
    except (OperationalError, InterfaceError) as exc:
        # The database is unreachable or dropped this connection (a restart, a failover, a killed
        # session): nothing was stored, so nothing may be acknowledged. 503 says "try again": Facebook
        # redelivers, and nginx (deploy/nginx/pagedesk.conf) retries another process at once. A broken
        # pooled connection is discarded when the request finishes, so the next POST gets a fresh one.
        logger.warning("webhook POST not stored, the database is unavailable: %s", exc)
        return _UNAVAILABLE
    return _RECEIVED


# --- the Django view ----------------------------------------------------------------------------------


def _http_response(answer: WebhookAnswer) -> HttpResponse:
    return HttpResponse(answer.body, content_type=answer.content_type, status=answer.status)


@csrf_exempt  # Facebook cannot send a CSRF token; the HMAC signature authenticates the POST instead.
@require_http_methods(list(ALLOWED_METHODS))
def messenger_webhook_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _http_response(
            webhook_verify(
                mode=request.GET.get("hub.mode"),
                token=request.GET.get("hub.verify_token"),
                challenge=request.GET.get("hub.challenge"),
            )
        )
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return _http_response(_too_large())
    raw = request.read(MAX_BODY_BYTES + 1)
    return _http_response(webhook_receive(raw=raw, signature=request.headers.get("X-Hub-Signature-256")))


# --- the lean ASGI app ----------------------------------------------------------------------------------

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# Threads that run the database part of a POST. A fixed pool (not a thread per request, as Django's
# ASGI handler does) lets each thread keep its SQLite connection; on PostgreSQL each request borrows a
# connection from the psycopg pool and gives it back, so this must not exceed the pool's max_size.
WORKER_THREADS = 8
_executor = ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="webhook")


def _receive_in_thread(raw: bytes, signature: str | None) -> WebhookAnswer:
    """`webhook_receive` wrapped in what Django's handler does around a request's database work.

    request_started/request_finished reset the query log and run close_old_connections, which on
    PostgreSQL returns the connection to the pool. SQLite connections are kept across requests: with
    CONN_MAX_AGE = 0 Django would reopen one per request (≈1 ms here, a fifth of the ack budget), and
    the per-request-context leak that rules out CONN_MAX_AGE under ASGI cannot happen on fixed threads.
    An unusable connection (after an error) is still closed, as close_old_connections would.
    """
    signals.request_started.send(sender=messenger_webhook_asgi)
    try:
        return webhook_receive(raw=raw, signature=signature)
    finally:
        _request_finished()


def _request_finished() -> None:
    # Persistent SQLite connections on these fixed threads (see `_receive_in_thread`); request_finished
    # then runs close_old_connections, which keeps them.
    sqlite_connections_persist()
    signals.request_finished.send(sender=messenger_webhook_asgi)


_receive_async = sync_to_async(_receive_in_thread, thread_sensitive=False, executor=_executor)


def webhook_threads_close_connections(timeout: float = 10) -> None:
    """Close the database connections the webhook threads keep (SQLite), e.g. before a test database
    is dropped: a connection still open then leaves the -wal and -shm files behind.

    One job per thread: each waits at a barrier until every thread holds one, so no thread takes two.
    """
    barrier = threading.Barrier(WORKER_THREADS)

    def close_mine() -> None:
        barrier.wait(timeout)
        connections.close_all()

    for future in [_executor.submit(close_mine) for _ in range(WORKER_THREADS)]:
        future.result(timeout)


def _host_allowed(headers: dict[bytes, bytes]) -> bool:
    # HttpRequest.get_host()'s check (CommonMiddleware runs it for every request on the Django path).
    host = headers.get(b"host", b"").decode("latin-1")
    if settings.USE_X_FORWARDED_HOST and b"x-forwarded-host" in headers:
        host = headers[b"x-forwarded-host"].decode("latin-1")
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    domain, _port = split_domain_port(host)
    return bool(domain) and validate_host(domain, allowed)


def _is_secure(scope: Scope, headers: dict[bytes, bytes]) -> bool:
    # HttpRequest.is_secure(): the scheme uvicorn saw (from a trusted proxy's X-Forwarded-Proto), or the
    # header SECURE_PROXY_SSL_HEADER names.
    if settings.SECURE_PROXY_SSL_HEADER:
        name, value = settings.SECURE_PROXY_SSL_HEADER
        header = name.removeprefix("HTTP_").lower().replace("_", "-").encode("latin-1")
        if header in headers:
            return headers[header].decode("latin-1").split(",")[0].strip() == value
    return scope.get("scheme") == "https"


def _security_headers(*, secure: bool) -> list[tuple[bytes, bytes]]:
    # The headers SecurityMiddleware and XFrameOptionsMiddleware add on the Django path. No CSP: the
    # answers are JSON or plain text, never a page.
    headers = []
    if secure and settings.SECURE_HSTS_SECONDS:
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            hsts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            hsts += "; preload"
        headers.append((b"strict-transport-security", hsts.encode()))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append((b"x-content-type-options", b"nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        policy = settings.SECURE_REFERRER_POLICY
        value = policy if isinstance(policy, str) else ",".join(policy)
        headers.append((b"referrer-policy", value.encode()))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append((b"cross-origin-opener-policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode()))
    headers.append((b"x-frame-options", getattr(settings, "X_FRAME_OPTIONS", "DENY").upper().encode()))
    return headers


class _ClientGone(Exception):
    pass


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None once it exceeds MAX_BODY_BYTES (the rest is not read)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def messenger_webhook_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    """The webhook path served without Django's middleware stack (same answers as the view)."""
    started = time.perf_counter()
    method = scope["method"]
    headers = dict(scope["headers"])
    extra: list[tuple[bytes, bytes]] = []
    if not _host_allowed(headers):
        logger.warning("webhook request for a host not in ALLOWED_HOSTS refused: %r", headers.get(b"host"))
        answer = WebhookAnswer(400, "text/html", b"<h1>Bad Request (400)</h1>")
    elif method == "GET":
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)

        def last(name: str) -> str | None:
            # QueryDict.get returns the last value of a repeated parameter.
            values = query.get(name)
            return values[-1] if values else None

        answer = webhook_verify(
            mode=last("hub.mode"), token=last("hub.verify_token"), challenge=last("hub.challenge")
        )
    elif method == "POST":
        declared = headers.get(b"content-length", b"0").decode("latin-1")
        try:
            raw = None if declared.isdigit() and int(declared) > MAX_BODY_BYTES else await _read_body(receive)
        except _ClientGone:
            return  # nothing to answer; Facebook redelivers what it did not see acknowledged
        if raw is None:
            answer = _too_large()
        else:
            signature = headers.get(b"x-hub-signature-256")
            answer = await _receive_async(raw, None if signature is None else signature.decode("latin-1"))
    else:
        logger.warning("Method Not Allowed (%s): %s", method, scope["path"])
        answer = WebhookAnswer(405, "text/html; charset=utf-8", b"")
        extra.append((b"allow", ", ".join(ALLOWED_METHODS).encode()))
    await send(
        {
            "type": "http.response.start",
            "status": answer.status,
            "headers": [
                (b"content-type", answer.content_type.encode()),
                (b"content-length", str(len(answer.body)).encode()),
                *extra,
                *_security_headers(secure=_is_secure(scope, headers)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": answer.body})
    metrics.http_latency.observe(time.perf_counter() - started)
    metrics.http_requests.labels(method=method, status=str(answer.status)).inc()


def lean_webhook_path() -> str:
    """The path the lean app answers: the Django route's own, so reverse() and the app agree."""
    from django.urls import reverse

    return reverse("messenger:webhook")
