"""Fixtures for the Facebook simulator: the app in-process (httpx ASGI transport) and a tiny webhook receiver.

The receiver is a real HTTP server on 127.0.0.1 so the simulator's delivery goes over a socket exactly as it
would to pagedesk; it verifies nothing itself — tests check the signature with the app secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from pagedesk.simulator.app import SimulatorApp, create_app
from tests.integration.simulator.helpers import APP_ID, APP_SECRET, SIM, Sim


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def events(self, channel: str = "messaging") -> list[dict[str, Any]]:
        return [item for entry in self.json()["entry"] for item in entry.get(channel, [])]

    def signature_ok(self, secret: str = APP_SECRET) -> bool:
        expected = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers.get("x-hub-signature-256", ""))


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give, in order; then 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} webhook POSTs, got {len(self.requests)}")

    def all_events(self, channel: str = "messaging") -> list[dict[str, Any]]:
        with self.lock:
            return [
                event
                for request in self.requests
                if request.path.endswith("messenger")
                for event in request.events(channel)
            ]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            rec = state["r"]
            with rec.lock:
                rec.requests.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                status = rec.statuses.pop(0) if rec.statuses else 200
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            ok = query.get("hub.verify_token") == ["verify-me"] and query.get("hub.mode") == ["subscribe"]
            body = query["hub.challenge"][0].encode() if ok else b"forbidden"
            self.send_response(200 if ok else 403)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["r"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/webhooks/messenger")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state["r"]
    server.shutdown()
    server.server_close()


@pytest.fixture
def sim_app(receiver: Receiver) -> SimulatorApp:
    return create_app(
        app_id=APP_ID,
        app_secret=APP_SECRET,
        verify_token="verify-me",
        webhook_url=receiver.url,
        public_url=SIM,
        retry_delays=[0.05, 0.1, 0.15],
        batch_window_ms=150,
        webhook_timeout_seconds=3.0,
    )


@pytest.fixture
def sim(sim_app: SimulatorApp) -> Sim:
    # A plain fixture on purpose: `run_async` tests drive it from their own event loop (see helpers.py).
    return Sim(sim_app, httpx.AsyncClient(transport=httpx.ASGITransport(app=sim_app), base_url=SIM))
