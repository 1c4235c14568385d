"""A real HTTP receiver for outbound webhook tests: a thread serving HTTP/1.1 (keep-alive) on 127.0.0.1.

`answer` decides each response (status, headers, body) from the request; every request is recorded
with its headers and body. `up = False` refuses connections as a receiver that is down would (the
listening socket is closed and opened again on the same port).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def signature_valid(self, secret: str) -> bool:
        timestamp = self.headers["X-Pagedesk-Timestamp"]
        expected = (
            "sha256="
            + hmac.new(secret.encode(), timestamp.encode() + b"." + self.body, hashlib.sha256).hexdigest()
        )
        return hmac.compare_digest(expected, self.headers["X-Pagedesk-Signature"])


Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Receiver:
    port: int
    received: list[Received] = field(default_factory=list)
    answer: Callable[[Received], Answer] = lambda request: (200, {}, b"ok")
    delay: float = 0.0
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                request = Received(self.path, dict(self.headers.items()), self.rfile.read(length))
                if receiver.delay:
                    time.sleep(receiver.delay)
                status, headers, body = receiver.answer(request)
                with receiver.lock:
                    receiver.received.append(request)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def up(self) -> bool:
        return self._server is not None

    @up.setter
    def up(self, value: bool) -> None:
        if value and not self.up:
            self.start()
        elif not value and self.up:
            self.stop()

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r.json for r in self.received]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver(port=free_port())
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
