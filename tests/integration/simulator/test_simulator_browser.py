"""The simulator's pages in Chromium: the OAuth dialog clicks through, the chat page is driveable by test id."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.sync_api import Page, sync_playwright

from pagedesk.simulator.app import create_app
from pagedesk.simulator.store import ACME_PAGE_ID, ACME_SEED_PAGE_TOKEN

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():  # `make browser` installs it; without it these tests cannot run here
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

CARLA = "7000000000000001"


def in_browser(steps: Callable[[Page], None]) -> None:
    """Run `steps` on a fresh Chromium page in a worker thread.

    Playwright's sync API keeps an event loop running on the thread that started it; doing that on the main
    thread (pytest-playwright's `page` fixture) breaks every pytest-asyncio test collected after it, so
    these tests keep Playwright on a thread of its own.
    """
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM),
                    args=["--disable-gpu", "--disable-quic", "--disable-dev-shm-usage"],
                )
                try:
                    page = browser.new_context().new_page()
                    page.set_default_timeout(10_000)
                    steps(page)
                finally:
                    browser.close()
        except BaseException as exc:  # re-raised in the test thread
            failure.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive(), "browser steps timed out"
    if failure:
        raise failure[0]


@pytest.fixture
def live_sim(receiver) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    app = create_app(
        app_id="42", app_secret="shh", webhook_url=receiver.url, public_url=base, retry_delays=[]
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    yield base
    server.should_exit = True
    thread.join(timeout=5)


def test_oauth_dialog_in_a_browser(live_sim, receiver):
    in_browser(lambda page: _oauth_dialog(page, live_sim, receiver))


def _oauth_dialog(page: Page, live_sim: str, receiver) -> None:
    callback = receiver.url.replace("/webhooks/messenger", "/callback")
    page.goto(
        f"{live_sim}/v25.0/dialog/oauth?client_id=42&state=abc&response_type=code"
        f"&scope=pages_messaging,pages_show_list&redirect_uri={callback}"
    )
    page.get_by_test_id("fb-login-user-100000000000101").click()
    page.get_by_test_id(f"fb-page-{ACME_PAGE_ID}").check()
    page.get_by_test_id("fb-continue").click()
    page.get_by_test_id("fb-permission-pages_show_list").uncheck()
    page.get_by_test_id("fb-done").click()
    page.get_by_test_id("fb-connected").wait_for()
    with page.expect_request(re.compile(r".*/callback\?code=.*")) as request_info:
        page.get_by_test_id("fb-ok").click()
    assert "state=abc" in request_info.value.url


def test_chat_page_round_trip(live_sim, receiver):
    in_browser(lambda page: _chat_round_trip(page, live_sim, receiver))


def _chat_round_trip(page: Page, live_sim: str, receiver) -> None:
    page.goto(f"{live_sim}/chat?page={ACME_PAGE_ID}&psid={CARLA}")
    page.get_by_test_id("chat-customer-name").filter(has_text="Carla Customer").wait_for()
    page.get_by_test_id("chat-input").fill("My order is late")
    page.get_by_test_id("chat-input").press("Enter")
    mine = page.get_by_test_id("chat-message").filter(has_text="My order is late")
    mine.wait_for()
    assert mine.get_attribute("data-from") == "customer"
    receiver.wait_for(1)
    page.locator('[data-testid="chat-message-status"]', has_text="Delivered").wait_for()

    with httpx.Client(base_url=live_sim, params={"access_token": ACME_SEED_PAGE_TOKEN}) as graph:
        graph.post("/v25.0/me/messages", json={"recipient": {"id": CARLA}, "sender_action": "mark_seen"})
        page.locator('[data-testid="chat-message-status"]', has_text="Seen").wait_for()
        graph.post("/v25.0/me/messages", json={"recipient": {"id": CARLA}, "sender_action": "typing_on"})
        page.get_by_test_id("chat-typing").wait_for(state="visible")
        graph.post(
            "/v25.0/me/messages",
            json={
                "recipient": {"id": CARLA},
                "messaging_type": "RESPONSE",
                "message": {"text": "Sorry! Checking."},
            },
        )
    reply = page.get_by_test_id("chat-message").filter(has_text="Sorry! Checking.")
    reply.wait_for()
    assert reply.get_attribute("data-from") == "page"
    page.get_by_test_id("chat-typing").wait_for(state="hidden")
    # The visible chat reads the reply: a read webhook reaches pagedesk.
    deadline = time.monotonic() + 5
    while not any("read" in event for event in receiver.all_events()):
        assert time.monotonic() < deadline, "no read webhook"
        time.sleep(0.05)

    page.get_by_test_id("chat-new-customer-name").fill("Fox Mulder")
    page.get_by_test_id("chat-new-customer-create").click()
    page.get_by_test_id("chat-customer-name").filter(has_text="Fox Mulder").wait_for()
    page.get_by_test_id("chat-file").set_input_files(
        files=[{"name": "x.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n"}]
    )
    page.get_by_test_id("chat-send").click()
    page.get_by_test_id("chat-attachment").wait_for()
