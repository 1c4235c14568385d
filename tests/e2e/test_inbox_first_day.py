"""Issue 12, "A team's first day": what a new team met in the inbox, in Chromium.

Seeded conversations (no simulator): the transfer, the closing and the composer are real clicks on the
live pagedesk, and the receiving agent's page hears of them through its websocket.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import Page, Response, expect

from pagedesk.accounts.models import User
from pagedesk.campaigns.models import Campaign
from pagedesk.campaigns.services import disposition_create
from pagedesk.conversations.models import (
    Attachment,
    Conversation,
    ConversationState,
    Direction,
    Message,
    MessageStatus,
    SenderType,
)
from pagedesk.core import clock
from pagedesk.routing.models import Assignment
from tests.e2e.test_agent_inbox import agent_page, available, wait_live
from tests.integration.inbox.conftest import make_contact, make_conversation

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)

MADRID = zoneinfo.ZoneInfo("Europe/Madrid")  # the campaign fixture's time zone


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def attach_file(message: Message, name: str) -> None:
    attachment = Attachment(
        message=message, type="file", filename=name, content_type="application/pdf", size=48213
    )
    attachment.file.save(name, ContentFile(b"%PDF-1.4 test"), save=True)


def carla_with_alice(campaign: Campaign, alice: User, *, hours_ago: float = 2) -> Conversation:
    """Carla's conversation, assigned to alice `hours_ago` hours ago: Carla wrote, alice sent a file."""
    at = clock.now() - dt.timedelta(hours=hours_ago)
    carla = make_contact(first_name="Carla", last_name="Customer")
    conversation = make_conversation(campaign, contact=carla, agent=alice, messages=0, at=at)
    Message.objects.create(
        conversation=conversation,
        direction=Direction.IN,
        sender_type=SenderType.CUSTOMER,
        page_id=carla.page_id,
        text="Can I have the receipt?",
        created_at=at + dt.timedelta(minutes=1),
    )
    sent = Message.objects.create(
        conversation=conversation,
        direction=Direction.OUT,
        sender_type=SenderType.AGENT,
        author=alice,
        page_id=carla.page_id,
        kind="attachment",
        status=MessageStatus.DELIVERED,
        created_at=at + dt.timedelta(minutes=2),
    )
    attach_file(sent, "receipt-2231.pdf")
    Conversation.objects.filter(pk=conversation.pk).update(
        last_message_at=sent.created_at, last_customer_message_at=at + dt.timedelta(minutes=1)
    )
    return conversation


def transfer_to_bob(alice_page: Page) -> None:
    alice_page.get_by_role("button", name="Transfer").click()
    alice_page.get_by_label(re.compile(r"Bob \(available\)")).check()
    alice_page.locator("#transfer-dialog").get_by_role("button", name="Transfer").click()


# --- 3. false errors after a transfer ------------------------------------------------------------------


def test_the_transferring_page_closes_the_pane_quietly(
    new_context, live_app, login, media, campaign, alice, bob
):
    conversation = carla_with_alice(campaign, alice)
    available(alice, bob)
    alice_page = agent_page(new_context, live_app, login, alice)
    bob_page = agent_page(new_context, live_app, login, bob)
    wait_live(alice_page)
    wait_live(bob_page)
    refused: list[str] = []

    def on_response(response: Response) -> None:
        if response.status >= 400:
            refused.append(f"{response.status} {response.url}")

    alice_page.on("response", on_response)
    alice_page.get_by_test_id("active-list").get_by_text("Carla Customer").click()
    expect(alice_page.get_by_test_id("pane-state")).to_have_text("Assigned")

    transfer_to_bob(alice_page)
    expect(alice_page.locator("#toasts")).to_contain_text("Transferred to Bob")
    expect(alice_page.locator("[data-pane-empty]")).to_be_visible()
    expect(alice_page.get_by_test_id("active-list").locator("li.conv")).to_have_count(0)
    # Bob's page has heard of it, so alice's has too (same events, same moment); give her page the
    # time to act on them before looking for what it must not have done.
    expect(bob_page.get_by_test_id("active-list").locator("li.conv")).to_have_count(1)
    alice_page.wait_for_timeout(1500)
    assert refused == []
    expect(alice_page.locator("#toasts .toast")).to_have_count(1)
    expect(alice_page.locator("#toasts .toast-bad")).to_have_count(0)
    expect(alice_page).to_have_url(f"{live_app}/inbox/")
    assert Conversation.objects.get(pk=conversation.pk).agent_id == bob.pk


def test_a_conversation_moved_away_by_a_supervisor_says_so_not_forbidden(
    new_context, live_app, login, media, campaign, alice, bob, sam
):
    from pagedesk.accounts.models import Presence
    from pagedesk.accounts.services import break_reason_create
    from pagedesk.routing.services import conversation_return_to_queue, presence_set

    # Round robin, alice on a Break: the returned conversation goes to bob, and alice may no longer open it.
    Campaign.objects.filter(pk=campaign.pk).update(strategy="rrmemory")
    conversation = carla_with_alice(campaign, alice)
    available(bob)
    presence_set(agent=alice, presence=Presence.BREAK, break_reason=break_reason_create(name="Coffee"))
    alice_page = agent_page(new_context, live_app, login, alice)
    wait_live(alice_page)
    alice_page.get_by_test_id("active-list").get_by_text("Carla Customer").click()
    expect(alice_page.get_by_test_id("pane-state")).to_have_text("Assigned")
    # sam returns it from the board while alice has it open.
    conversation_return_to_queue(conversation=Conversation.objects.get(pk=conversation.pk), by=sam)
    expect(alice_page.locator("[data-pane-empty]")).to_be_visible()
    expect(alice_page.locator("#toasts")).to_contain_text("This conversation moved away from you.")
    expect(alice_page.locator("#toasts")).not_to_contain_text("You cannot open this conversation.")
    assert Conversation.objects.get(pk=conversation.pk).agent_id == bob.pk


def test_a_draft_survives_a_reload_and_a_supervisors_return(
    new_context, live_app, login, media, campaign, alice, sam
):
    """A tester's careful answer was lost when sam returned the conversation from the board (the pane
    re-rendered), and a reload loses it too: drafts are kept per conversation for the tab."""
    from pagedesk.routing.services import conversation_return_to_queue

    conversation = carla_with_alice(campaign, alice)
    available(alice)
    page = agent_page(new_context, live_app, login, alice)
    wait_live(page)
    page.get_by_test_id("active-list").get_by_text("Carla Customer").click()
    box = page.get_by_label("Message to Carla Customer")
    box.fill("I am typing a careful answer about your receipt")
    page.reload()
    wait_live(page)
    expect(page.get_by_label("Message to Carla Customer")).to_have_value(
        "I am typing a careful answer about your receipt"
    )
    # sam returns it (ringall: alice still sees it, as Pending), she takes it back: the draft is there.
    conversation_return_to_queue(conversation=Conversation.objects.get(pk=conversation.pk), by=sam)
    expect(page.get_by_test_id("pane-state")).to_have_text("Queued")
    page.get_by_role("button", name=re.compile("Take")).first.click()
    expect(page.get_by_test_id("pane-state")).to_have_text("Assigned")
    expect(page.get_by_label("Message to Carla Customer")).to_have_value(
        "I am typing a careful answer about your receipt"
    )
    # Sent, it is gone.
    page.get_by_label("Message to Carla Customer").press("Enter")
    expect(page.get_by_test_id("messages").get_by_text("I am typing a careful answer")).to_be_visible()
    page.reload()
    wait_live(page)
    expect(page.get_by_label("Message to Carla Customer")).to_have_value("")


# --- 4. the receiver's view after a transfer -------------------------------------------------------------


def test_after_a_transfer_bob_sees_alices_name_on_her_message_and_his_own_time(
    new_context, live_app, login, media, campaign, alice, bob
):
    conversation = carla_with_alice(campaign, alice, hours_ago=2)
    available(alice, bob)
    alice_page = agent_page(new_context, live_app, login, alice)
    bob_page = agent_page(new_context, live_app, login, bob)
    wait_live(alice_page)
    wait_live(bob_page)
    # Alice's own list: her message is hers.
    expect(alice_page.locator("#active-list .conv-preview")).to_have_text("You: Attachment")
    alice_page.get_by_test_id("active-list").get_by_text("Carla Customer").click()
    alices_time = conversation.assigned_at.astimezone(MADRID).strftime("%H:%M")
    expect(alice_page.locator(".pane-sub")).to_contain_text(f"yours since {alices_time}")

    transfer_to_bob(alice_page)
    expect(bob_page.get_by_test_id("active-list").locator("li.conv")).to_have_count(1)
    preview = bob_page.locator("#active-list .conv-preview")
    expect(preview).to_have_text("Alice: Attachment")
    bob_page.get_by_test_id("active-list").get_by_text("Carla Customer").click()
    handed_over = Assignment.objects.get(conversation=conversation, agent=bob).at
    bobs_time = handed_over.astimezone(MADRID).strftime("%H:%M")
    assert bobs_time != alices_time
    expect(bob_page.locator(".pane-sub")).to_contain_text(f"yours since {bobs_time}")
    # Bob replies: now the last message is his own.
    bob_page.get_by_label("Message to Carla Customer").fill("Bob here, I have your receipt.")
    bob_page.get_by_label("Message to Carla Customer").press("Enter")
    expect(preview).to_have_text("You: Bob here, I have your receipt.")


# --- 5. long replies ----------------------------------------------------------------------------------------


def test_a_long_reply_is_counted_then_split_into_messages_never_cut(
    new_context, live_app, login, artifact_path, campaign, alice
):
    conversation = make_conversation(
        campaign, contact=make_contact(first_name="Carla", last_name="Customer"), agent=alice, messages=1
    )
    page = agent_page(new_context, live_app, login, alice)
    page.goto(f"{live_app}/inbox/{conversation.pk}/")
    box = page.get_by_label("Message to Carla Customer")
    counter = page.get_by_test_id("composer-count")
    error = page.get_by_test_id("composer-error")

    # A stale "Write a message…" goes as soon as the box has text.
    box.press("Enter")
    expect(error).to_have_text("Write a message or attach a file.")
    box.press_sequentially("H")
    expect(error).to_have_text("")

    # Near the limit: the count out of 2,000.
    box.fill("")
    box.focus()
    page.keyboard.insert_text("x" * 1950)
    expect(counter).to_be_visible()
    expect(counter).to_have_text("1,950 / 2,000")

    # A pasted 5,000-character reply stays whole, and the counter says what will go out.
    words = [f"w{i:04d}" for i in range(834)]  # 5 characters + a space each: 5,003 characters
    text = " ".join(words)[:5000].rstrip()
    box.fill("")
    box.focus()
    page.keyboard.insert_text(text)
    assert page.evaluate("document.getElementById('composer-text').value.length") == len(text)
    expect(counter).to_have_text(f"{len(text):,} characters — will be sent as 3 messages")
    page.screenshot(path=artifact_path("inbox_long_reply_1280.png"))
    page.set_viewport_size({"width": 375, "height": 740})
    expect(counter).to_be_visible()
    page.screenshot(path=artifact_path("inbox_long_reply_375.png"))
    page.set_viewport_size({"width": 1280, "height": 900})

    box.press("Enter")
    outbound = page.get_by_test_id("messages").locator("li.ib-msg-out")
    expect(outbound).to_have_count(3)
    expect(counter).to_be_hidden()
    for item in outbound.all():
        expect(item.get_by_test_id("msg-status")).to_have_attribute("data-status", "pending")
    sent = list(Message.objects.filter(conversation=conversation, direction=Direction.OUT).order_by("pk"))
    assert [len(m.text) <= 2000 for m in sent] == [True, True, True]
    assert " ".join(m.text for m in sent).split(" ") == text.split(" ")

    # Above the 20,000-character cap the reply is refused with the reason, and the text stays.
    box.focus()
    page.keyboard.insert_text("y " * 10_001)
    expect(counter).to_contain_text("replies can be up to 20,000 characters")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and "/send" in r.url else None)
    box.press("Enter")
    page.get_by_role("button", name="Send", exact=True).click()
    # Said once, by the counter (it was said twice, the second copy squeezed into a narrow column).
    expect(counter).to_contain_text("This reply has 20,001 characters")
    expect(error).to_have_text("")
    assert page.get_by_text("This reply has 20,001 characters").count() == 1
    assert len(box.input_value()) == 20_002
    page.wait_for_timeout(500)
    assert posts == []
    assert Message.objects.filter(conversation=conversation, direction=Direction.OUT).count() == 3
    counter_box, bar_box = counter.bounding_box(), page.locator(".composer-bar").bounding_box()
    assert counter_box is not None and bar_box is not None
    assert counter_box["height"] < 60, counter_box  # a sentence across the bar, not a column


# --- 9. a closed conversation's disposition -------------------------------------------------------------


def test_a_closed_conversation_shows_its_disposition_who_closed_it_and_when(
    new_context, live_app, login, artifact_path, media, campaign, alice, sam
):
    billing = disposition_create(campaign=campaign, name="Billing")
    disposition_create(campaign=campaign, name="Refund", parent=billing)
    disposition_create(campaign=campaign, name="Invoice", parent=billing)
    conversation = carla_with_alice(campaign, alice)
    page = agent_page(new_context, live_app, login, alice)
    page.get_by_test_id("active-list").get_by_text("Carla Customer").click()
    page.get_by_role("button", name="Close", exact=True).click()
    page.get_by_label("Disposition").select_option(label="Billing › Refund")
    page.get_by_role("button", name="Close conversation").click()
    expect(page.locator("#toasts")).to_contain_text("Conversation closed.")
    closed = Conversation.objects.get(pk=conversation.pk)
    assert closed.state == ConversationState.CLOSED
    when = closed.closed_at.astimezone(MADRID)

    page.get_by_role("tab", name="History").click()
    row = page.get_by_test_id("history-list").locator("li.conv").first
    expect(row.get_by_test_id("history-closure")).to_have_text("Billing › Refund · closed by Alice")
    expect(row.locator("time")).to_have_text(f"{when.day} {when:%b, %H:%M}")
    page.screenshot(path=artifact_path("inbox_history_closed_1280.png"))
    row.click()
    closure = page.get_by_test_id("pane-closure")
    expect(closure).to_contain_text(f"Closed by Alice on {when.day} {when:%b %Y, %H:%M}")
    expect(closure).to_contain_text("Disposition: Billing › Refund")

    supervisor = new_context().new_page()
    login(supervisor, sam)
    supervisor.goto(f"{live_app}/recordings/{conversation.pk}/")
    closure = supervisor.get_by_test_id("transcript-closure")
    expect(closure).to_contain_text(f"Closed by Alice on {when.day} {when:%b %Y, %H:%M}")
    expect(closure).to_contain_text("Europe/Madrid")
    expect(closure).to_contain_text("Disposition: Billing › Refund")
    supervisor.screenshot(path=artifact_path("transcript_closed_1280.png"))


# --- 10. file names readable in both bubbles ------------------------------------------------------------

# The WCAG contrast ratio of an element's text colour against the first opaque background behind it.
CONTRAST = """
(element) => {
  const rgb = (value) => value.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => {
    const channel = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  let node = element, background = null;
  while (node && !background) {
    const value = getComputedStyle(node).backgroundColor;
    const parts = rgb(value);
    if (parts.length < 4 || parts[3] === 1) background = parts.slice(0, 3);
    node = node.parentElement;
  }
  const fore = luminance(rgb(getComputedStyle(element).color));
  const back = luminance(background || [255, 255, 255]);
  return (Math.max(fore, back) + 0.05) / (Math.min(fore, back) + 0.05);
}
"""


def test_file_names_are_readable_in_sent_and_received_bubbles(
    new_context, live_app, login, artifact_path, media, campaign, alice
):
    conversation = carla_with_alice(campaign, alice)
    received = Message.objects.create(
        conversation=conversation,
        direction=Direction.IN,
        sender_type=SenderType.CUSTOMER,
        page_id=conversation.contact.page_id,
        kind="attachment",
        created_at=clock.now() - dt.timedelta(minutes=1),
    )
    attach_file(received, "delivery-note.pdf")
    page = agent_page(new_context, live_app, login, alice)
    page.goto(f"{live_app}/inbox/{conversation.pk}/")
    for side, name in (("out", "receipt-2231.pdf"), ("in", "delivery-note.pdf")):
        chip = page.locator(f"li.ib-msg-{side}").get_by_test_id("att-file")
        expect(chip).to_contain_text(name)
        for part in (chip.locator(".att-name"), chip.locator(".muted")):
            ratio = part.evaluate(CONTRAST)
            assert ratio >= 4.5, f"{side} bubble: {part} has contrast {ratio:.2f}:1"
    page.locator("li.ib-msg-out").get_by_test_id("att-file").scroll_into_view_if_needed()
    page.screenshot(path=artifact_path("inbox_file_bubbles_1280.png"))
    page.set_viewport_size({"width": 375, "height": 740})
    page.screenshot(path=artifact_path("inbox_file_bubbles_375.png"))
