"""Issue 15: ada creates an integration and a token in the pages, sees the token once, the token works
with httpx against the live server (it writes in its campaign's conversation), and revoking the
integration makes the same token a 401."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from pagedesk.accounts.models import User
from pagedesk.campaigns.models import Campaign
from pagedesk.conversations.models import ConversationState, Message, SenderType
from tests.integration.inbox.conftest import make_conversation

pytestmark = pytest.mark.e2e

PHONE = {"width": 375, "height": 812}


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
    # The page with the token fits a phone too (the token field shrinks, the page does not scroll sideways).
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=artifact_path("integration-token-once.png"))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Copy").click()

    page.get_by_role("link", name="Done").click()
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
