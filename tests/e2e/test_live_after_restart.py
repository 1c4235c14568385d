"""Issue 16, graceful stop, seen from the browser: alice's inbox is live on a `pagedesk serve` that is
stopped (SIGTERM: its socket gets 1012 "service restart"); once a process serves again on that address
(behind a proxy: another process at once), the page reconnects by itself and re-fetches its snapshot."""

from __future__ import annotations

import signal
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import session_context
from tests.processes import free_port, serve_started

pytestmark = pytest.mark.slow
expect.set_options(timeout=15_000)


def test_the_inbox_reconnects_and_refetches_after_a_service_restart(
    new_context, processes, tmp_path, transactional_db, campaign, alice
):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    processes.append(serve_started(tmp_path / "data", port=port, args=("--no-worker",)))
    page = session_context(new_context, alice, base).new_page()
    page.goto(f"{base}/inbox/")
    page.wait_for_function("() => document.body.dataset.live === 'on'")
    page.evaluate("() => { window.snapshots = 0; window.pagedesk.on('snapshot', () => window.snapshots++); }")

    first = processes[0]
    first.send_signal(signal.SIGTERM)
    assert first.wait(30) == 0
    page.wait_for_function("() => document.body.dataset.live === 'off'")

    processes.append(serve_started(tmp_path / "data", port=port, args=("--no-worker",)))
    back = time.monotonic()
    page.wait_for_function("() => document.body.dataset.live === 'on' && window.snapshots === 1")
    # The first try after a 1012 comes within about a second; this one may have met the closed port
    # once and backed off, and is still well within the 5 s the issue allows a rolling restart.
    assert time.monotonic() - back < 5
