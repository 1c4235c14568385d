"""Issue 15 §2: an administrator registers a webhook endpoint pointing at a receiver, sends it a test
event, sees the delivery in the log with status 200, and redelivers it (the same delivery id twice).
Real HTTP all the way: the browser to pagedesk, the webhook worker thread to the receiver."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from pagedesk.core import clock
from pagedesk.core.worker import make_worker
from pagedesk.platform.models import WebhookEndpoint
from pagedesk.platform.services import EndpointSpec, webhook_endpoint_create
from pagedesk.platform.signing import secret_decrypt
from tests.webhook_receiver import Receiver, running_receiver

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


def shoot(page: Page, artifact_path, name: str) -> None:
    """A desktop and a 375 px screenshot of the page as it is, and no sideways scroll on the phone."""
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=artifact_path(f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
    page.screenshot(path=artifact_path(f"{name}-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


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
    page.locator("nav.tabs").get_by_role("link", name="Webhooks").click()
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
    shoot(page, artifact_path, "webhook-secret")
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    # A reload (it re-posted the form) registers no second endpoint and shows the secret no more.
    page.reload()
    expect(page.get_by_test_id("secret-already-shown")).to_be_visible()
    assert secret not in page.content() and WebhookEndpoint.objects.count() == 1
    page.get_by_role("link", name="Back to the endpoint").click()

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
    expect(row.get_by_test_id("delivery-attempts")).to_contain_text("2")
    expect(row.get_by_test_id("delivery-status")).to_have_text("200")
    first, second = receiver.received
    assert first.headers["X-Pagedesk-Delivery"] == second.headers["X-Pagedesk-Delivery"]
    assert WebhookEndpoint.objects.get().description == "CRM sync"


def test_a_first_time_admin_reads_the_endpoint_form_and_its_page(
    live_app, page: Page, login, ada, campaign, receiver, webhook_worker, settings, artifact_path
):
    """Issue 15 (C10, C12 and the cosmetic findings): every mistake shown at once; labelled checkbox
    groups with their legend above; a wide styled URL field; rotate, disable and delete ask first;
    labelled inline filters; a delivery log that fits a phone with Answer and Redeliver on screen."""
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    login(page, ada)
    page.goto(f"{live_app}/integrations/webhooks/new/")
    page.get_by_label("URL").fill("ftp://x")
    page.get_by_role("button", name="Save").click()
    for said in (
        "Give an http:// or https:// URL with a host name.",
        "Choose at least one event type.",
        "Choose the campaigns whose events it receives, or all campaigns.",
    ):
        expect(page.get_by_text(said)).to_be_visible()
    events = page.get_by_role("group", name="Events")
    legend = events.locator("legend").bounding_box()
    first_box = events.get_by_role("checkbox").first.bounding_box()
    assert legend and first_box and legend["y"] + legend["height"] <= first_box["y"]
    choice = events.locator("label.check").first
    assert int(choice.evaluate("(el) => getComputedStyle(el).fontWeight")) < 600
    url = page.get_by_label("URL")
    form = page.locator("form.card").bounding_box()
    url_box = url.bounding_box()
    assert form and url_box and url_box["width"] > 0.8 * form["width"]
    assert url.evaluate("(el) => getComputedStyle(el).borderTopStyle") == "solid"
    shoot(page, artifact_path, "webhook-new-errors")

    endpoint, old = webhook_endpoint_create(
        spec=EndpointSpec(
            url=receiver.url,
            description="CRM sync",
            event_types=["message.created"],
            campaign_ids=[campaign.pk],
        ),
        created_by=ada,
    )
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=clock.now())
    page.goto(f"{live_app}/integrations/webhooks/{endpoint.pk}/")
    expect(page.get_by_text("Failing for less than a minute")).to_be_visible()
    for name in ("Rotate the secret", "Disable", "Delete"):
        page.once("dialog", lambda dialog: dialog.dismiss())
        page.get_by_role("button", name=name, exact=True).click()
        expect(page.get_by_role("heading", name="CRM sync")).to_be_visible()
    endpoint.refresh_from_db()
    assert endpoint.enabled and secret_decrypt(endpoint.secret_encrypted) == old

    page.get_by_role("button", name="Send a test event").click()
    row = page.get_by_test_id("delivery-row").first
    expect(row.get_by_test_id("delivery-status")).to_have_text("200")
    state, event = page.get_by_label("State"), page.get_by_label("Event", exact=True)
    state_box, event_box = state.bounding_box(), event.bounding_box()
    assert state_box and event_box and abs(state_box["y"] - event_box["y"]) < 2  # side by side
    assert state_box["width"] < 300
    shoot(page, artifact_path, "webhook-detail")
    page.set_viewport_size(PHONE)
    for part in (row.get_by_test_id("delivery-status"), row.get_by_role("button", name="Redeliver")):
        box = part.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    page.set_viewport_size(DESKTOP)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Rotate the secret").click()
    expect(page.get_by_role("heading", name="New secret")).to_be_visible()
    endpoint.refresh_from_db()
    assert page.get_by_test_id("webhook-secret").input_value() == secret_decrypt(endpoint.secret_encrypted)
