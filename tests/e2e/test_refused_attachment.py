"""An attachment whose URL pagedesk refuses to fetch tells the agent why (issue 13, finding 9)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from pagedesk.conversations.models import Attachment, Direction, Message, SenderType
from pagedesk.messenger import attachments
from tests.integration.inbox.conftest import make_contact, make_conversation

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)


@pytest.mark.parametrize("width", [1280, 375])
def test_the_agent_sees_why_an_attachment_was_not_downloaded(
    new_context, live_app, login, campaign, alice, artifact_path, width
):
    conversation = make_conversation(campaign, contact=make_contact(), agent=alice, messages=1)
    message = Message.objects.create(
        conversation=conversation,
        direction=Direction.IN,
        sender_type=SenderType.CUSTOMER,
        page_id=conversation.contact.page_id,
        kind="attachment",
    )
    attachment = Attachment.objects.create(message=message, type="image", original_url="file:///etc/passwd")
    assert attachments.attachment_fetch(attachment_id=attachment.pk).startswith("refused")

    page = new_context().new_page()
    page.set_viewport_size({"width": width, "height": 800})
    login(page, alice)
    page.goto(f"{live_app}/inbox/{conversation.pk}/")
    notice = page.locator(".att-missing")
    expect(notice).to_contain_text("not an https:// address, so it was not downloaded")
    notice.scroll_into_view_if_needed()
    page.screenshot(path=artifact_path(f"refused-attachment-{width}.png"))
