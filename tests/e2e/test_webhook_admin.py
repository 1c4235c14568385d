"""Issue 15 §2: an administrator registers a webhook endpoint pointing at a receiver, sends it a test
event, sees the delivery in the log with status 200, and redelivers it (the same delivery id twice).
Real HTTP all the way: the browser to pagedesk, the webhook worker thread to the receiver."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from pagedesk.core.worker import make_worker
from pagedesk.platform.models import WebhookEndpoint
from tests.webhook_receiver import Receiver, running_receiver

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def webhook_worker(live_app: str) -> Iterator[None]:
    worker = make_worker(interval=0.1, queues=["webhooks"])
    thread = threading.Thread(target=worker.run, name="e2e-webhook-worker", daemon=True)
    thread.start()
    yield
    worker.stop()
    thread.join(10)


def test_admin_registers_tests_and_redelivers(
    live_app, page: Page, login, ada, campaign, receiver, webhook_worker, settings, artifact_path
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    login(page, ada)
    page.goto(f"{live_app}/campaigns/")
    page.locator("nav.mainnav").get_by_role("link", name="Integrations").click()
    expect(page.get_by_role("heading", name="Webhooks")).to_be_visible()
    page.get_by_role("link", name="New endpoint").click()
    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("Description").fill("CRM sync")
    page.get_by_label("message.created", exact=False).check()
    page.get_by_label(campaign.name).check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Endpoint registered")).to_be_visible()
    secret = page.get_by_test_id("webhook-secret").input_value()
    assert secret.startswith("whsec_")
    page.get_by_role("link", name="Done").click()

    page.get_by_role("button", name="Send a test event").click()
    row = page.get_by_test_id("delivery-row").first
    expect(row).to_contain_text("ping")
    expect(row.get_by_test_id("delivery-status")).to_have_text("200")
    expect(row).to_contain_text("Delivered")
    page.screenshot(path=artifact_path("webhook-log.png"), full_page=True)
    assert len(receiver.received) == 1 and receiver.received[0].signature_valid(secret)

    row.get_by_role("button", name="Redeliver").click()
    expect(page.get_by_text("Delivery queued again")).to_be_visible()
    row = page.get_by_test_id("delivery-row").first
    expect(row.locator("td.num").nth(1)).to_have_text("2")
    expect(row.get_by_test_id("delivery-status")).to_have_text("200")
    first, second = receiver.received
    assert first.headers["X-Pagedesk-Delivery"] == second.headers["X-Pagedesk-Delivery"]
    assert WebhookEndpoint.objects.get().description == "CRM sync"
