"""Issue 16: `pagedesk backup` of a running embedded instance under webhook load, restored into a fresh data
dir, holds every message acknowledged before the backup began, and the attachments' bytes.

Real processes, as an operator runs them: `pagedesk serve` (uvicorn with its worker threads) on a free
port in its own PAGEDESK_DATA_DIR (SQLite, whatever DATABASE_URL the test run has: the online backup is
the embedded mode's), customers' signed webhooks streamed at it from two threads, `pagedesk backup` in a
subprocess mid-stream, then `pagedesk restore`, `pagedesk migrate` and `pagedesk serve` on a fresh data
dir, which must process what the backup caught still pending.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from pagedesk.conversations.models import Attachment, Message
from pagedesk.messenger import fixtures
from pagedesk.messenger.models import InboundEvent
from tests.embedded_instance import APP_SECRET, embedded_env, pagedesk, serving
from tests.webhook_receiver import free_port

CUSTOMERS = 12
pytestmark = pytest.mark.slow


def image_bytes(n: int) -> bytes:
    """The n-th customer picture the stub CDN serves: distinct, and big enough to span tar blocks."""
    seed = hashlib.sha256(str(n).encode()).digest()
    return b"\xff\xd8\xff\xe0" + seed * 700


@contextmanager
def cdn() -> Iterator[str]:
    """The Graph host for the instance: serves /cdn/<n>.jpg (the attachments the customers send); every
    other request (the profile look-ups) gets a 404, which pagedesk already handles."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            name = self.path.rsplit("/", 1)[-1]
            if self.path.startswith("/cdn/") and name.endswith(".jpg"):
                body, status, kind = image_bytes(int(name[:-4])), 200, "image/jpeg"
            else:
                body, status, kind = b'{"error": {"message": "no", "code": 100}}', 404, "application/json"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


SEED = f"""
from pagedesk.campaigns import schedule
from pagedesk.campaigns.services import campaign_create
from pagedesk.messenger.models import PageConnection, TokenStatus
campaign = campaign_create(
    fields={{"name": "Acme Support", "page_name": "Acme"}},
    ranges=[schedule.Range(schedule.ALL_WEEKDAYS, 0, schedule.MINUTES_PER_DAY)],
)
PageConnection.objects.update_or_create(
    campaign=campaign,
    defaults={{"page_id": "{fixtures.PAGE_ID}", "page_name": "Acme", "token_status": TokenStatus.ACTIVE}},
)
"""


class Customers:
    """Streams signed customer messages (every fifth an image) and records when each was acknowledged."""

    def __init__(self, url: str, graph_url: str) -> None:
        self.url = f"{url}/webhooks/messenger"
        self.graph_url = graph_url
        self.lock = threading.Lock()
        self.sequence = 0
        # mid -> (monotonic time the 200 arrived, image number or None)
        self.acked: dict[str, tuple[float, int | None]] = {}
        self.refused: list[int] = []
        self.stop = threading.Event()

    def item(self) -> tuple[str, dict[str, Any], int | None]:
        with self.lock:
            self.sequence += 1
            n = self.sequence
        psid = f"71000000000{n % CUSTOMERS:04d}"
        mid = f"m_backup_{n:06d}"
        timestamp = 1_765_000_000_000 + n
        if n % 5:
            return mid, fixtures.text_item(mid=mid, text=f"message {n}", timestamp=timestamp, psid=psid), None
        message = {
            "mid": mid,
            "attachments": [{"type": "image", "payload": {"url": f"{self.graph_url}/cdn/{n}.jpg"}}],
        }
        item = {
            "sender": {"id": psid},
            "recipient": {"id": fixtures.PAGE_ID},
            "timestamp": timestamp,
            "message": message,
        }
        return mid, item, n

    def send_one(self, client: httpx.Client) -> None:
        mid, item, image = self.item()
        raw = fixtures.encode(fixtures.batch([item]))
        answer = client.post(
            self.url,
            content=raw,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": fixtures.sign(raw, APP_SECRET),
            },
        )
        with self.lock:
            if answer.status_code == 200:
                self.acked[mid] = (time.monotonic(), image)
            else:
                self.refused.append(answer.status_code)

    def run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self.stop.is_set():
                self.send_one(client)

    def acked_before(self, moment: float) -> dict[str, int | None]:
        with self.lock:
            return {mid: image for mid, (at, image) in self.acked.items() if at < moment}


def rows(database: Path, sql: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=20)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def wait_for(check: Any, *, within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.25)


def test_a_backup_under_webhook_load_restores_every_acknowledged_message_and_attachment(tmp_path):
    source_dir, restored_dir = tmp_path / "source", tmp_path / "restored"
    archive = tmp_path / "backups" / "pagedesk.tar.gz"
    archive.parent.mkdir()
    messages = Message._meta.db_table
    events = InboundEvent._meta.db_table
    attachments = Attachment._meta.db_table
    with cdn() as graph_url:
        source_env = embedded_env(source_dir, graph_url)
        for args in (("migrate", "-v0"), ("shell", "-c", SEED)):
            done = pagedesk(source_env, *args)
            assert done.returncode == 0, done.stderr
        source_db = source_dir / "pagedesk.sqlite3"
        with serving(source_env) as url:
            customers = Customers(url, graph_url)
            # Some pictures stored before the stream, so the archive certainly carries attachment files.
            with httpx.Client(timeout=30) as client:
                for _ in range(10):
                    customers.send_one(client)

            def stored_files() -> bool:
                return rows(source_db, f"SELECT count(*) FROM {attachments} WHERE file != ''")[0][0] >= 2

            wait_for(stored_files, within=60, what="the first attachments to be downloaded")
            threads = [threading.Thread(target=customers.run, daemon=True) for _ in range(2)]
            for thread in threads:
                thread.start()
            try:
                wait_for(lambda: len(customers.acked) >= 150, within=90, what="150 acknowledged webhooks")
                backup_began = time.monotonic()
                acked_during_backup_start = len(customers.acked)
                done = pagedesk(source_env, "backup", "--to", str(archive))
                backup_ended = time.monotonic()
                # Keep the load on a little after, so the backup never ran on a quiet database.
                time.sleep(0.5)
            finally:
                customers.stop.set()
                for thread in threads:
                    thread.join(30)
            assert done.returncode == 0, done.stderr
            assert "Backed up the database and" in done.stdout
        acked_before = customers.acked_before(backup_began)
        during = [mid for mid, (at, _) in customers.acked.items() if backup_began <= at <= backup_ended]
        assert customers.refused == []
        assert len(acked_before) >= 150 and acked_during_backup_start >= 150
        assert during, "no webhook was acknowledged while the backup ran: it did not run under load"

        restore_env = embedded_env(restored_dir, graph_url)
        restored = pagedesk(restore_env, "restore", "--from", str(archive))
        assert restored.returncode == 0, restored.stderr
        migrated = pagedesk(restore_env, "migrate")
        assert migrated.returncode == 0, migrated.stderr
        restored_db = restored_dir / "pagedesk.sqlite3"

        # Every acknowledged webhook is in the restored database as it was received…
        stored = {
            mid
            for (mid,) in rows(restored_db, f"SELECT json_extract(payload, '$.message.mid') FROM {events}")
        }
        assert set(acked_before) - stored == set()
        # The attachment files the backup caught are the bytes the CDN served (checked before the restored
        # instance runs, which downloads those the snapshot still had pending).
        files = rows(
            restored_db,
            f"SELECT a.file, m.mid FROM {attachments} a JOIN {messages} m ON m.id = a.message_id "
            "WHERE a.file != ''",
        )
        images = {mid: n for mid, n in acked_before.items() if n is not None}
        checked = 0
        for name, mid in files:
            if mid in images:
                assert (restored_dir / "media" / name).read_bytes() == image_bytes(images[mid]), name
                checked += 1
        assert checked >= 2
        # …and the restored instance turns every one into a conversation message (what the backup
        # caught still pending is processed there).
        with serving(restore_env):

            def missing() -> set[str]:
                have = {mid for (mid,) in rows(restored_db, f"SELECT mid FROM {messages}")}
                return set(acked_before) - have

            wait_for(lambda: not missing(), within=90, what="the restored instance to process every message")

        # The keys came along: a page token encrypted on the source still decrypts on the restored dir.
        for key in ("secret_key", "token_key"):
            assert (restored_dir / key).read_bytes() == (source_dir / key).read_bytes()
