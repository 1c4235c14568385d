"""Graceful stop (issue 16): a SIGTERM to `pagedesk serve` or `pagedesk worker` loses nothing.

Real processes on this test's database (SQLite, or PostgreSQL + Redis with REDIS_URL set):
- `serve` (with and without its embedded worker) stops accepting at once, answers the webhook still
  arriving (its events are stored), closes the agent's websocket with 1012 "service restart" (the page
  reconnects to another process), puts back the task still running at the end of the grace, exits 0;
- `worker` lets a task finish within the grace, or puts it back (READY; FAILED when not declared safe
  to run twice), and never leaves a row RUNNING.
docs/decisions/graceful-stop.md.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.test import Client
from django_tasks_db.models import DBTaskResult
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as websocket_connect

from pagedesk.conversations.models import Message
from pagedesk.messenger import fixtures, ingest
from pagedesk.messenger.models import InboundEvent, PageConnection
from tests.integration.core.lease_tasks import sleep_after_starting, sleep_after_starting_not_declared
from tests.processes import ROOT, free_port, pagedesk_command, pagedesk_env, serve_started, wait_for

pytestmark = pytest.mark.slow

SECRET = "app-secret-for-graceful-stop"
# Short, so a test waits little for the end of the grace; the default is 20 s.
GRACE = 4
# A stopped process has this long beyond the grace to put back its tasks and exit.
EXIT_MARGIN = 3.0


def stopped(process: subprocess.Popen[str], *, within: float) -> tuple[int, float, str]:
    """SIGTERM, then the exit status, the seconds it took and the output."""
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=within + 30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError(f"the process did not exit after SIGTERM:\n{output}") from None
    return process.returncode, time.monotonic() - sent, output


def running_rows() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(status="RUNNING"))


# --- pagedesk serve -----------------------------------------------------------------------------------


def serve(
    processes: list, tmp_path: Path, *, worker: bool, grace: float = GRACE
) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    process = serve_started(
        tmp_path / "data",
        port=port,
        args=() if worker else ("--no-worker",),
        FACEBOOK_APP_SECRET=SECRET,
        PAGEDESK_STOP_GRACE_SECONDS=str(grace),
    )
    processes.append(process)
    return process, port


def webhook_request(port: int, *, mid: str, text: str) -> tuple[bytes, bytes]:
    """A signed webhook POST as raw bytes, split into its head (with a part of the body) and the rest."""
    body = fixtures.batch([fixtures.text_item(mid=mid, text=text, timestamp=int(time.time() * 1000))])
    raw = fixtures.encode(body)
    head = (
        f"POST /webhooks/messenger HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nX-Hub-Signature-256: {fixtures.sign(raw, SECRET)}\r\n"
        f"Content-Length: {len(raw)}\r\n\r\n"
    ).encode()
    return head + raw[:20], raw[20:]


def response_of(sock: socket.socket) -> bytes:
    sock.settimeout(GRACE + EXIT_MARGIN)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def refuses_connections(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize("worker", [True, False], ids=["embedded worker", "no worker"])
def test_serve_answers_the_webhook_in_flight_closes_sockets_with_1012_and_exits_0(
    worker, processes, tmp_path, transactional_db, campaign, alice
):
    PageConnection.objects.update_or_create(
        campaign=campaign, defaults={"page_id": fixtures.PAGE_ID, "page_name": "Acme"}
    )
    client = Client()
    client.force_login(alice)
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    if worker:
        # A task longer than the grace, running in the embedded worker when the stop comes.
        with transaction.atomic():
            long_task = sleep_after_starting.enqueue(marker_dir=str(tmp_path), seconds=120)
    process, port = serve(processes, tmp_path, worker=worker)
    if worker:
        wait_for((tmp_path / "started").exists, within=30, what="the embedded worker did not start the task")

    with websocket_connect(
        f"ws://127.0.0.1:{port}/ws/events/",
        additional_headers={
            "Cookie": f"{django_settings.SESSION_COOKIE_NAME}={session}",
            "Origin": f"http://127.0.0.1:{port}",
        },
        open_timeout=10,
    ) as ws:
        assert '"hello"' in str(ws.recv(timeout=10))
        # The webhook is in flight: its head and part of its body have arrived, the rest is on its way.
        first, rest = webhook_request(port, mid="m_graceful_1", text="Still there?")
        webhook = socket.create_connection(("127.0.0.1", port))
        webhook.sendall(first)
        time.sleep(0.3)

        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)

        # "Service restart": the page reconnects (through the proxy, to another process).
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    wait_for(lambda: refuses_connections(port), within=2, what="serve still accepts connections")

    webhook.sendall(rest)
    answer = response_of(webhook)
    webhook.close()
    assert answer.startswith(b"HTTP/1.1 200"), answer

    try:
        output, _ = process.communicate(timeout=GRACE + 30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(f"serve did not exit after SIGTERM:\n{process.communicate()[0]}") from None
    took = time.monotonic() - sent
    assert process.returncode == 0, output
    assert took <= GRACE + EXIT_MARGIN, (took, output)
    assert "Traceback" not in output, output

    # Acknowledged means stored: the event is there, its processing task waits for a worker.
    assert InboundEvent.objects.filter(page_id=fixtures.PAGE_ID, psid=fixtures.PSID).count() == 1
    assert running_rows() == []
    if worker:
        row = DBTaskResult.objects.get(pk=long_task.id)
        assert (row.status, len(row.worker_ids)) == ("READY", 1)
    ingest.inbound_stream_process(page_id=fixtures.PAGE_ID, psid=fixtures.PSID)
    assert Message.objects.filter(text="Still there?").count() == 1


def test_a_second_signal_to_serve_puts_its_running_task_back_at_once(processes, tmp_path, transactional_db):
    with transaction.atomic():
        task_id = sleep_after_starting.enqueue(marker_dir=str(tmp_path), seconds=120).id
    process, _port = serve(processes, tmp_path, worker=True, grace=60)
    wait_for((tmp_path / "started").exists, within=30, what="the embedded worker did not start the task")

    process.send_signal(signal.SIGTERM)
    time.sleep(1.0)  # the HTTP side is done by now; the worker's task has 59 s of grace left
    code, took, output = stopped(process, within=EXIT_MARGIN)

    assert code == 0, output
    assert took <= EXIT_MARGIN, (took, output)
    assert DBTaskResult.objects.get(pk=task_id).status == "READY"
    assert running_rows() == []


# --- pagedesk worker ----------------------------------------------------------------------------------


def worker_process(processes: list, tmp_path: Path, *, grace: float) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        pagedesk_command("worker", "--interval", "0.2"),
        cwd=ROOT,
        env=pagedesk_env(tmp_path / "data", PAGEDESK_STOP_GRACE_SECONDS=str(grace)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    processes.append(process)
    assert process.stdout is not None
    line = process.stdout.readline()
    assert "pagedesk worker started" in line, line + (process.stdout.read() if process.poll() else "")
    return process


@pytest.mark.parametrize(
    ("task", "seconds", "grace", "status"),
    [
        (sleep_after_starting, 1.5, 10, "SUCCESSFUL"),
        (sleep_after_starting, 120, 2, "READY"),
        (sleep_after_starting_not_declared, 120, 2, "FAILED"),
    ],
    ids=["finishes within the grace", "put back after the grace", "not safe to re-run: failed"],
)
def test_a_stopped_worker_never_leaves_its_task_running(
    task, seconds, grace, status, processes, tmp_path, transactional_db
):
    with transaction.atomic():
        task_id = task.enqueue(marker_dir=str(tmp_path), seconds=seconds).id
    process = worker_process(processes, tmp_path, grace=grace)
    wait_for((tmp_path / "started").exists, within=30, what="the worker did not start the task")

    code, took, output = stopped(process, within=grace)

    assert code == 0, output
    assert took <= min(seconds, grace) + EXIT_MARGIN, (took, output)
    assert "Traceback" not in output, output
    row = DBTaskResult.objects.get(pk=task_id)
    assert row.status == status, output
    assert running_rows() == []
    if status == "FAILED":
        assert row.exception_class_path == "pagedesk.core.leases.WorkerLost"
        assert f"did not finish within the {grace:g} s grace" in row.traceback
        assert "not declared safe to run twice" in row.traceback
    if status == "READY":
        # Put back for another worker, which runs it from the start.
        assert len(row.worker_ids) == 1
        assert (tmp_path / "started").read_text().strip() == str(process.pid)


def test_a_second_signal_cuts_the_grace_short(processes, tmp_path, transactional_db):
    with transaction.atomic():
        task_id = sleep_after_starting.enqueue(marker_dir=str(tmp_path), seconds=120).id
    process = worker_process(processes, tmp_path, grace=60)
    wait_for((tmp_path / "started").exists, within=30, what="the worker did not start the task")

    process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    code, took, output = stopped(process, within=EXIT_MARGIN)

    assert code == 0, output
    assert took <= EXIT_MARGIN, (took, output)
    assert DBTaskResult.objects.get(pk=task_id).status == "READY"


def test_an_idle_worker_stops_at_once(processes, tmp_path, transactional_db):
    process = worker_process(processes, tmp_path, grace=GRACE)
    code, took, output = stopped(process, within=GRACE)
    assert code == 0, output
    assert took <= EXIT_MARGIN, (took, output)
    assert "pagedesk worker stopped (0 task(s) put back, 0 failed)" in output
