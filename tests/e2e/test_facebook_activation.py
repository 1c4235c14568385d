"""Issue 4's activation journey in Chromium against the simulator: "Activate with Facebook" opens the
pop-up, the admin clicks through Facebook's dialog and picks the page, the pop-up closes and the token is
green; a customer writing on the simulator's Messenger page becomes a queued conversation with their
profile name; the simulator revokes the token, the next check turns ACTIVE TOKEN red, and re-activating the same
page turns it green again with the campaign's history kept."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from pagedesk.accounts.models import User
from pagedesk.campaigns import schedule
from pagedesk.campaigns.models import Campaign
from pagedesk.campaigns.services import campaign_create
from pagedesk.conversations.models import Conversation
from pagedesk.core.worker import make_worker
from pagedesk.messenger import tasks_outbound
from pagedesk.messenger.models import PageConnection
from tests.integration.messenger.facebook_simulator import (
    ACME_PAGE_ID,
    DEMO_ADMIN_ID,
    Simulator,
    running_simulator,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def fb(settings) -> Iterator[Simulator]:
    with running_simulator() as simulator:
        simulator.reset()
        simulator.point_settings(settings)
        settings.PUBLIC_URL = ""
        yield simulator


@pytest.fixture
def acme(transactional_db) -> Campaign:
    # Open around the clock: the journey must not turn into an after-hours reply when CI runs at night.
    return campaign_create(
        fields={"name": "Acme Support", "page_name": "Acme Support"},
        ranges=[schedule.Range(schedule.ALL_WEEKDAYS, 0, schedule.MINUTES_PER_DAY)],
    )


def activate_through_popup(page: Page, live_app: str, campaign: Campaign) -> None:
    page.goto(f"{live_app}/campaigns/{campaign.pk}/")
    with page.expect_popup() as popup_info:
        page.get_by_test_id("activate-facebook").first.click()
    popup = popup_info.value
    # Facebook's dialog (the simulator's): who you are, which pages, which permissions, done, OK.
    popup.get_by_test_id(f"fb-login-user-{DEMO_ADMIN_ID}").click()
    popup.get_by_test_id("fb-continue").click()
    popup.get_by_test_id("fb-done").click()
    popup.get_by_test_id("fb-ok").click()
    # Back on pagedesk: the page named like the campaign's page is pre-selected.
    expect(popup.get_by_role("radio", name="Acme Support")).to_be_checked()
    with popup.expect_event("close", timeout=10_000):
        popup.get_by_test_id("connect-page").click()
        expect(popup.get_by_test_id("activation-done")).to_be_visible()


CARLA = "7000000000000001"


def wait_for_conversation(campaign: Campaign, *, name: str, timeout: float = 20) -> Conversation:
    """Run the task worker (batch passes) until the webhook's conversation exists with its profile name."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worker = make_worker(interval=0)
        worker.batch = True
        worker.run()
        conversation = Conversation.objects.filter(campaign=campaign).select_related("contact").first()
        if conversation is not None and conversation.contact.display_name == name:
            return conversation
        time.sleep(0.2)
    raise AssertionError(f"no conversation from {name} in {campaign} after {timeout} s")


def token_badge(page: Page, campaign: Campaign) -> Locator:
    return page.locator(f"#campaign-row-{campaign.pk} [data-testid=token-status]")


def test_activation_revocation_and_reactivation(
    page: Page,
    context: BrowserContext,
    new_context,
    live_app: str,
    login,
    artifact_path,
    ada: User,
    acme: Campaign,
    fb: Simulator,
):
    login(page, ada)
    page.goto(f"{live_app}/campaigns/")
    expect(token_badge(page, acme)).to_have_attribute("data-status", "unknown")

    activate_through_popup(page, live_app, acme)
    connection = PageConnection.objects.get(campaign=acme)
    assert (connection.page_id, connection.token_status) == (ACME_PAGE_ID, "active")
    page.goto(f"{live_app}/campaigns/")
    expect(token_badge(page, acme)).to_have_attribute("data-status", "active")
    page.screenshot(path=artifact_path("facebook_token_active.png"))

    # A customer writes from the simulator's Messenger page: the signed webhook reaches pagedesk and the
    # message becomes a queued conversation under the customer's Facebook profile name.
    fb.http.patch(
        "/_control/config", json={"webhook_url": f"{live_app}/webhooks/messenger"}
    ).raise_for_status()
    chat = new_context().new_page()
    chat.goto(f"{fb.url}/chat?page={ACME_PAGE_ID}&psid={CARLA}")
    chat.get_by_test_id("chat-input").fill("Hello, is my order on its way?")
    chat.get_by_test_id("chat-input").press("Enter")
    conversation = wait_for_conversation(acme, name="Carla Customer")
    assert conversation.state == "queued"
    assert conversation.messages.get().text == "Hello, is my order on its way?"

    # Facebook revokes the token; the next periodic check marks it invalid and the badge turns red.
    fb.revoke_page(ACME_PAGE_ID)
    tasks_outbound.token_health_task.call()
    page.reload()
    expect(token_badge(page, acme)).to_have_attribute("data-status", "invalid")
    expect(token_badge(page, acme).locator(".token-invalid")).to_have_text("ACTIVE TOKEN")
    page.screenshot(path=artifact_path("facebook_token_invalid.png"))

    # Re-activation of the same page: green again, same connection.
    activate_through_popup(page, live_app, acme)
    again = PageConnection.objects.get(campaign=acme)
    assert again.pk == connection.pk and again.token_status == "active"
    page.goto(f"{live_app}/campaigns/")
    expect(token_badge(page, acme)).to_have_attribute("data-status", "active")


def test_blocked_popup_shows_how_to_fix_it(
    page: Page, live_app: str, login, ada: User, acme: Campaign, fb: Simulator
):
    login(page, ada)
    page.goto(f"{live_app}/campaigns/{acme.pk}/")
    # Simulate a pop-up blocker: window.open returns null.
    page.evaluate("window.open = () => null")
    page.get_by_test_id("activate-facebook").first.click()
    expect(page.get_by_test_id("popup-blocked").first).to_have_text(
        "Your browser blocked the Facebook pop-up. Allow pop-ups for this site and click Activate again."
    )


def test_saving_a_new_campaign_opens_the_activation_popup(
    page: Page, live_app: str, login, ada: User, transactional_db, fb: Simulator
):
    login(page, ada)
    page.goto(f"{live_app}/campaigns/new/")
    page.get_by_label("Name", exact=True).fill("Acme Support")
    page.get_by_label("Page name").fill("Acme Support")
    with page.expect_popup() as popup_info:
        page.get_by_role("button", name="Create campaign").click()
    popup = popup_info.value
    # The campaign is saved, and the same pop-up goes on to Facebook's dialog by itself.
    popup.get_by_test_id(f"fb-login-user-{DEMO_ADMIN_ID}").click()
    popup.get_by_test_id("fb-continue").click()
    popup.get_by_test_id("fb-done").click()
    popup.get_by_test_id("fb-ok").click()
    with popup.expect_event("close", timeout=10_000):
        popup.get_by_test_id("connect-page").click()
    campaign = Campaign.objects.get(name="Acme Support")
    assert PageConnection.objects.get(campaign=campaign).token_status == "active"
