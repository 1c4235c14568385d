"""Issue 15: ada creates an integration and a token in the pages, sees the token once, the token works
with httpx against the live server (it writes in its campaign's conversation), and revoking the
integration makes the same token a 401."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from pagedesk.accounts.models import ApiToken, User
from pagedesk.campaigns.models import Campaign, Integration
from pagedesk.campaigns.services import campaign_create, integration_create, integration_token_create
from pagedesk.conversations.models import ConversationState, Message, SenderType
from tests.integration.inbox.conftest import make_conversation

pytestmark = pytest.mark.e2e

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


def token_box_fits_its_text(page: Page, selector: str) -> None:
    """The read-only token box is tall enough for its text: an unstyled box cut the underscores of
    "pd_…" off at its bottom edge (its content box was barely the font's size)."""
    box = page.locator(selector).evaluate(
        """(el) => { const s = getComputedStyle(el); return {
             content: el.clientHeight - parseFloat(s.paddingTop) - parseFloat(s.paddingBottom),
             font: parseFloat(s.fontSize), padding: parseFloat(s.paddingTop),
             border: parseFloat(s.borderTopWidth), family: s.fontFamily }; }"""
    )
    assert box["content"] >= 1.4 * box["font"] and box["padding"] >= 4 and box["border"] >= 1, box
    assert "monospace" in box["family"], box


def shoot(page: Page, artifact_path, name: str) -> None:
    """A desktop and a 375 px screenshot of the page as it is, and no sideways scroll on the phone."""
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=artifact_path(f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
    page.screenshot(path=artifact_path(f"{name}-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def test_admin_creates_an_integration_and_its_token_works_until_revoked(
    page: Page, live_app: str, login, artifact_path, ada: User, campaign: Campaign
):
    conversation = make_conversation(campaign, state=ConversationState.QUEUED)
    login(page, ada)
    page.get_by_role("link", name="Integrations").click()
    page.get_by_role("link", name="New integration").click()
    page.get_by_label("Name").fill("Order bot")
    page.get_by_label("Acme Support").check()
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_text("Integration “Order bot” created.")).to_be_visible()

    card = page.get_by_test_id("integration").filter(has_text="Order bot")
    card.get_by_label("Token label").fill("production")
    card.get_by_role("button", name="Add a token").click()
    expect(page.get_by_text("shown only this once")).to_be_visible()
    raw = page.get_by_test_id("raw-token").input_value()
    assert raw.startswith("pd_")
    expect(page.get_by_text("Authorization: Bearer <token>", exact=False)).to_be_visible()
    token_box_fits_its_text(page, "#raw-token")
    page.screenshot(path=artifact_path("integration-token-once-desktop.png"))
    # The page with the token fits a phone too (the token field shrinks, the page does not scroll sideways).
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=artifact_path("integration-token-once.png"))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Copy").click()
    # A reload (which re-posted the form) shows no token and mints no second one.
    page.reload()
    expect(page.get_by_test_id("token-already-shown")).to_be_visible()
    assert raw not in page.content()
    assert ApiToken.objects.filter(user__username__startswith="integration-").count() == 1

    page.goto(f"{live_app}/integrations/")
    expect(page.get_by_test_id("integration-token")).to_have_count(1)
    assert raw not in page.content()  # shown once: the list has only its prefix

    headers = {"Authorization": f"Bearer {raw}", "Idempotency-Key": "e2e-1"}
    with httpx.Client(base_url=f"{live_app}/api/v1", timeout=10) as api:
        sent = api.post(
            f"/conversations/{conversation.pk}/messages", json={"text": "Hello from the bot"}, headers=headers
        )
        assert sent.status_code == 201, sent.text
        again = api.post(
            f"/conversations/{conversation.pk}/messages", json={"text": "Hello from the bot"}, headers=headers
        )
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == sent.json()
        message = Message.objects.get(conversation=conversation, sender_type=SenderType.INTEGRATION)
        assert message.author is not None and message.author.name == "Order bot"

        page.reload()
        expect(card.get_by_test_id("integration-token")).not_to_contain_text("never")
        page.once("dialog", lambda dialog: dialog.accept())
        card.get_by_role("button", name="Revoke integration").click()
        expect(page.get_by_text("Integration “Order bot” revoked")).to_be_visible()

        refused = api.post(
            f"/conversations/{conversation.pk}/messages", json={"text": "Still here?"}, headers=headers
        )
        assert refused.status_code == 401
        assert api.get("/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    assert Message.objects.filter(conversation=conversation, sender_type=SenderType.INTEGRATION).count() == 1


def test_admin_changes_an_integrations_campaigns_and_revoking_a_token_asks_first(
    page: Page, live_app: str, login, artifact_path, ada: User, campaign: Campaign
):
    """Issue 15, C1 and C10: the campaigns were only changeable through the API; a token was revoked in
    one click. Also the integrations page at 375 px: a token's prefix on one line, its label input styled."""
    billing = campaign_create(fields={"name": "Billing", "page_name": "Billing", "timezone": "UTC"})
    bot = integration_create(
        name="Northwind order-status bot (production, EU region)", campaign_ids=[campaign.pk], created_by=ada
    )
    integration_token_create(integration=bot, name="production-eu-west-1-primary")
    login(page, ada)
    page.goto(f"{live_app}/integrations/")
    card = page.get_by_test_id("integration").filter(has_text="Northwind")
    label_input = card.get_by_label("Token label")
    assert label_input.evaluate("(el) => getComputedStyle(el).borderTopStyle") == "solid"
    assert label_input.evaluate("(el) => parseFloat(getComputedStyle(el).paddingTop)") >= 4
    shoot(page, artifact_path, "integrations")
    page.set_viewport_size(PHONE)
    prefix = card.locator("code.token-prefix").first
    lines = prefix.evaluate(
        "(el) => el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight || 20)"
    )
    assert prefix.evaluate("(el) => el.getClientRects().length") == 1 and lines < 1.5, lines
    page.set_viewport_size(DESKTOP)

    # Revoking a token asks; Cancel keeps it.
    page.once("dialog", lambda dialog: dialog.dismiss())
    card.get_by_role("button", name="Revoke token").click()
    expect(card.get_by_role("button", name="Revoke token")).to_be_visible()
    assert ApiToken.objects.get(user=bot.user).revoked_at is None

    card.get_by_role("link", name="Edit campaigns").click()
    expect(page.get_by_role("heading", name="Campaigns of Northwind")).to_be_visible()
    group = page.get_by_role("group", name="Campaigns")
    expect(group.get_by_label("Acme Support")).to_be_checked()
    shoot(page, artifact_path, "integration-campaigns")
    group.get_by_label("Acme Support").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Choose at least one campaign the integration may work in.")).to_be_visible()
    page.get_by_role("group", name="Campaigns").get_by_label("Billing").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("now works in: Billing")).to_be_visible()
    assert [c.pk for c in Integration.objects.get(pk=bot.pk).campaigns.all()] == [billing.pk]

    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_text("revoked: it no longer works")).to_be_visible()
    assert ApiToken.objects.get(user=bot.user).revoked_at is not None


def test_your_own_token_is_shown_once_and_revoking_it_asks_first(
    page: Page, live_app: str, login, artifact_path, alice: User
):
    login(page, alice)
    page.goto(f"{live_app}/accounts/tokens/")
    page.get_by_label("Token label").fill("laptop")
    page.get_by_role("button", name="Create a token").click()
    raw = page.get_by_test_id("raw-token").input_value()
    assert raw.startswith("pd_")
    token_box_fits_its_text(page, "#raw-token")
    shoot(page, artifact_path, "api-tokens-once")
    page.reload()
    expect(page.get_by_test_id("raw-token")).to_have_count(0)
    assert ApiToken.objects.filter(user=alice).count() == 1
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_role("button", name="Revoke token")).to_be_visible()
    assert ApiToken.objects.get(user=alice).revoked_at is None
