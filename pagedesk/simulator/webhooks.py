"""Signed webhook delivery to pagedesk, with Facebook's quirks on demand (duplicates, batches, disorder).

Facebook POSTs `{"object": "page", "entry": [...]}` with `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the
raw body with the app secret>` (and the legacy SHA-1 `X-Hub-Signature`), retries when the answer is not
200, and may deliver an event more than once or out of order. Its JSON escapes "/" and non-ASCII
(`"https:\\/\\/..."`, `"\\u00e9"`), so a receiver that re-serialises before checking the signature fails —
the simulator encodes the same way on purpose.
See https://developers.facebook.com/docs/messenger-platform/webhooks and
https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

import httpx

from pagedesk.simulator.store import Store

logger = logging.getLogger("pagedesk.simulator.webhooks")

# The webhook field a page must be subscribed to (via /{page-id}/subscribed_apps) to receive an event.
FIELD_BY_EVENT = {
    "message": "messages",
    "echo": "message_echoes",
    "postback": "messaging_postbacks",
    "delivery": "message_deliveries",
    "read": "message_reads",
    "reaction": "message_reactions",
    "message_edit": "message_edits",
    "handover": "messaging_handovers",
}


@dataclass
class Event:
    page_id: str
    kind: str  # a key of FIELD_BY_EVENT
    messaging: dict[str, Any]
    # Customer message mids to mark "delivered to the app" once pagedesk answers 200.
    acked_mid: str | None = None
    # "standby" when another app owns the thread: the item goes in `entry[].standby[]`, and the page
    # must be subscribed to the `standby` field instead of the event's own.
    channel: str = "messaging"

    @property
    def field(self) -> str:
        return "standby" if self.channel == "standby" else FIELD_BY_EVENT[self.kind]


def encode_body(payload: dict[str, Any]) -> bytes:
    """Encode like Facebook: ASCII-only with escaped slashes."""
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode("ascii")


def sign(body: bytes, secret: str) -> dict[str, str]:
    sha256 = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    sha1 = hmac.new(secret.encode("utf-8"), body, hashlib.sha1).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={sha256}", "X-Hub-Signature": f"sha1={sha1}"}


class WebhookDispatcher:
    """Queues events and delivers them from one background task per event loop."""

    def __init__(self, store: Store, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.store = store
        self.transport = transport
        self.log: deque[dict[str, Any]] = deque(maxlen=1000)
        self._ids = itertools.count(1)
        self._queue: asyncio.Queue[Event] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    # -- public ------------------------------------------------------------------------------------

    def enqueue(self, events: list[Event]) -> list[dict[str, Any]]:
        """Queue events (call from the event loop). Returns one note per event: queued or skipped why."""
        self._ensure_worker()
        assert self._queue is not None
        notes: list[dict[str, Any]] = []
        with self.store.lock:
            require = bool(self.store.config["require_subscription"])
            subscriptions = self.store.state["subscriptions"]
        for event in events:
            field_name = event.field
            if require and field_name not in subscriptions.get(event.page_id, []):
                reason = f"page not subscribed to {field_name}"
                note = {"kind": event.kind, "queued": False, "reason": reason}
                self._log(status="skipped", events=[event], error=reason)
            else:
                self._in_flight += 1
                self._idle.clear()
                self._queue.put_nowait(event)
                note = {"kind": event.kind, "queued": True}
            notes.append(note)
        return notes

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued event was delivered or given up (retries included)."""
        if self._in_flight == 0:
            return True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def post_raw(self, body: bytes, *, signed: bool = True) -> dict[str, Any]:
        """One POST without retries (control endpoint for hand-made payloads)."""
        status, error = await self._post(body, signed=signed)
        return {"status": status, "error": error}

    async def verify(self) -> dict[str, Any]:
        """The GET Facebook makes when a webhook URL is saved in the app dashboard."""
        challenge = str(next(self._ids) * 7919 + 1000003)
        with self.store.lock:
            url = self.store.config["webhook_url"]
            token = self.store.config["verify_token"]
        params = {"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": token}
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=10) as client:
                response = await client.get(url, params=params)
        except httpx.HTTPError as exc:
            return {"ok": False, "status": None, "error": str(exc)}
        return {
            "ok": response.status_code == 200 and response.text == challenge,
            "status": response.status_code,
        }

    # -- worker ------------------------------------------------------------------------------------

    def _ensure_worker(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._worker is None or self._worker.done():
            # A new loop (another test, a restarted server): start over; events of a dead loop are lost.
            self._loop = loop
            self._queue = asyncio.Queue()
            self._in_flight = 0
            self._idle = asyncio.Event()
            self._idle.set()
            self._worker = loop.create_task(self._run())

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            first = await self._queue.get()
            events = [first]
            with self.store.lock:
                config = dict(self.store.config)
            batch_size = max(1, int(config["batch_size"]))
            out_of_order = bool(config["out_of_order"])
            if batch_size > 1 or out_of_order:
                # Collect what arrives within the window, like Facebook's batching of bursts.
                limit = batch_size if batch_size > 1 else 50
                deadline = asyncio.get_running_loop().time() + float(config["batch_window_ms"]) / 1000
                while len(events) < limit:
                    remaining = deadline - asyncio.get_running_loop().time()
                    if remaining <= 0:
                        break
                    try:
                        events.append(await asyncio.wait_for(self._queue.get(), remaining))
                    except TimeoutError:
                        break
            if out_of_order:
                events.reverse()
            for start in range(0, len(events), batch_size):
                chunk = events[start : start + batch_size]
                body = encode_body(self._payload(chunk, mode=str(config["batch_mode"])))
                copies = 2 if config["duplicates"] else 1
                try:
                    for _copy in range(copies):
                        delivered = await self._attempt(body, chunk, attempt=1)
                    if delivered:
                        self._done(len(chunk))
                    else:
                        task = asyncio.get_running_loop().create_task(self._retry(body, chunk))
                        self._background.add(task)
                        task.add_done_callback(self._background.discard)
                except Exception:  # never let one bad delivery kill the worker
                    logger.exception("webhook delivery crashed")
                    self._done(len(chunk))

    async def _retry(self, body: bytes, events: list[Event]) -> None:
        with self.store.lock:
            delays = [float(d) for d in self.store.config["retry_delays"]]
        try:
            for attempt, delay in enumerate(delays, start=2):
                await asyncio.sleep(delay)
                if await self._attempt(body, events, attempt=attempt):
                    return
            self._log(status="gave_up", events=events, error=f"no 200 after {len(delays) + 1} attempts")
        finally:
            self._done(len(events))

    async def _attempt(self, body: bytes, events: list[Event], *, attempt: int) -> bool:
        status, error = await self._post(body)
        self._log(status=status, events=events, error=error, attempt=attempt, body=body)
        if status == 200:
            self._mark_acked(events)
            return True
        return False

    async def _post(self, body: bytes, *, signed: bool = True) -> tuple[int | None, str | None]:
        with self.store.lock:
            url = self.store.config["webhook_url"]
            secret = self.store.config["app_secret"]
            timeout = float(self.store.config["webhook_timeout_seconds"])
        headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua"}
        if signed:
            headers.update(sign(body, secret))
        try:
            response = await self._http_client().post(url, content=body, headers=headers, timeout=timeout)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        return response.status_code, None if response.status_code == 200 else response.text[:500]

    def _payload(self, events: list[Event], *, mode: str) -> dict[str, Any]:
        now = self.store.now_ms()
        entries: list[dict[str, Any]] = []
        for event in events:
            # "messaging" mode groups consecutive events of a page in one entry; Facebook itself sends one
            # messaging item per entry ("entries" mode) but receivers must accept both.
            if mode == "messaging" and entries and entries[-1]["id"] == event.page_id:
                entries[-1].setdefault(event.channel, []).append(event.messaging)
            else:
                entries.append({"id": event.page_id, "time": now, event.channel: [event.messaging]})
        return {"object": "page", "entry": entries}

    def _mark_acked(self, events: list[Event]) -> None:
        mids = {event.acked_mid for event in events if event.acked_mid}
        if not mids:
            return
        with self.store.lock:
            for message in self.store.state["messages"]:
                if message["mid"] in mids:
                    message["delivered"] = True
            self.store.save()

    def _done(self, count: int) -> None:
        self._in_flight = max(0, self._in_flight - count)
        if self._in_flight == 0:
            self._idle.set()

    def _log(
        self,
        *,
        status: int | str | None,
        events: list[Event],
        error: str | None = None,
        attempt: int = 1,
        body: bytes | None = None,
    ) -> None:
        with self.store.lock:
            url = self.store.config["webhook_url"]
        self.log.append(
            {
                "id": next(self._ids),
                "time": self.store.now_ms(),
                "url": url,
                "attempt": attempt,
                "status": status,
                "error": error,
                "kinds": [event.kind for event in events],
                "body": json.loads(body) if body else None,
            }
        )

    def _http_client(self) -> httpx.AsyncClient:
        """One client per event loop: building an httpx client (SSL context included) costs tens of ms."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._client = httpx.AsyncClient(transport=self.transport)
            self._client_loop = loop
        return self._client

    async def close(self) -> None:
        if self._client is not None and self._client_loop is asyncio.get_running_loop():
            await self._client.aclose()
        self._client = None
        for task in [self._worker, *self._background]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                    await task
