"""Issue 12 #2 in Chromium: alice holds two chats and goes Offline from her inbox's status control;
it asks "Return 2 conversations to the queue?", and on her yes bob, who is Available, gets both at
once, live. On a Break she keeps them, and sam's board marks a customer who writes meanwhile as
waiting, live."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from playwright.sync_api import Page, expect

from pagedesk.accounts.models import Presence, User
from pagedesk.campaigns.models import Campaign
from pagedesk.campaigns.services import campaign_set_supervisors
from pagedesk.conversations.models import Contact, Conversation, ConversationState
from pagedesk.conversations.services import contact_lock
from pagedesk.routing.inbound import message_receive
from pagedesk.routing.services import presence_set
from tests.e2e.test_board_and_recordings import off_loop
from tests.integration.routing.conftest import arrive, make_campaign

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)


@pytest.fixture
def support(transactional_db, alice: User, bob: User) -> Campaign:
    return make_campaign("Acme Support", agents=[alice, bob], strategy="linear", max_interactions_per_agent=3)


def inbox(new_context, live_app: str, login, user: User) -> Page:
    page = new_context().new_page()
    page.set_viewport_size({"width": 1280, "height": 800})
    page.set_default_timeout(15_000)
    login(page, user)
    page.goto(f"{live_app}/inbox/")
    page.wait_for_function("() => document.body.dataset.live === 'on'")
    return page


def test_alice_goes_offline_with_two_chats_and_bob_gets_them(
    new_context, live_app, login, alice, bob, support, artifact_path
):
    off_loop(presence_set, agent=alice, presence=Presence.AVAILABLE)
    held = []
    for psid, first in (("9100", "Carla"), ("9101", "Peter")):
        Contact.objects.create(
            page_id=f"page-{support.pk}", psid=psid, first_name=first, last_name="Customer"
        )
        held.append(off_loop(arrive, support, psid=psid))
    assert [(c.state, c.agent_id) for c in held] == [(ConversationState.ASSIGNED, alice.pk)] * 2

    bob_page = inbox(new_context, live_app, login, bob)
    bob_page.locator("#presence").get_by_role("button", name="Available", exact=True).click()
    expect(bob_page.get_by_test_id("presence-state")).to_have_text("Available")
    expect(bob_page.get_by_test_id("active-list").locator("li.conv")).to_have_count(0)

    page = inbox(new_context, live_app, login, alice)
    alice_list = page.get_by_test_id("active-list").locator("li.conv")
    expect(alice_list).to_have_count(2)

    # Offline asks first, and nothing moves until she says yes.
    page.locator("#presence").get_by_role("button", name="Offline", exact=True).click()
    question = page.get_by_test_id("offline-confirm")
    expect(question).to_contain_text("Return 2 conversations to the queue?")
    page.screenshot(path=artifact_path("presence-offline-confirm-1280.png"))
    expect(page.get_by_test_id("presence-state")).to_have_text("Available")
    page.set_viewport_size({"width": 375, "height": 740})
    expect(question).to_be_in_viewport()
    page.screenshot(path=artifact_path("presence-offline-confirm-375.png"))
    page.set_viewport_size({"width": 1280, "height": 800})

    # "Stay" has the focus, so Enter keeps everything as it was; Esc answers the same.
    expect(question.get_by_role("button", name="Stay")).to_be_focused()
    for key in ("Enter", "Escape"):
        if key == "Escape":
            page.locator("#presence").get_by_role("button", name="Offline", exact=True).click()
            expect(question).to_be_visible()
        page.keyboard.press(key)
        expect(question).to_have_count(0)
        expect(page.get_by_test_id("presence-state")).to_have_text("Available")
        expect(alice_list).to_have_count(2)

    page.locator("#presence").get_by_role("button", name="Offline", exact=True).click()
    page.get_by_test_id("offline-confirm").get_by_role("button", name="Return and go Offline").click()
    expect(page.get_by_test_id("presence-state")).to_have_text("Offline")
    expect(alice_list).to_have_count(0)

    bob_list = bob_page.get_by_test_id("active-list").locator("li.conv")
    expect(bob_list).to_have_count(2)
    expect(bob_page.get_by_test_id("active-list")).to_contain_text("Carla Customer")
    expect(bob_page.get_by_test_id("active-list")).to_contain_text("Peter Customer")
    bob_page.screenshot(path=artifact_path("presence-offline-bob-1280.png"))
    for conversation in held:
        conversation.refresh_from_db()
        assert (conversation.state, conversation.agent_id) == (ConversationState.ASSIGNED, bob.pk)


def test_on_a_break_alice_keeps_her_chat_and_the_board_marks_the_customer_waiting(
    new_context, live_app, login, alice, bob, sam, lunch, support, artifact_path
):
    campaign_set_supervisors(campaign=support, supervisor_ids=[sam.pk])
    off_loop(presence_set, agent=alice, presence=Presence.AVAILABLE)
    Contact.objects.create(
        page_id=f"page-{support.pk}", psid="9200", first_name="Carla", last_name="Customer"
    )
    chat = off_loop(arrive, support, psid="9200")
    # alice answered: her reply is the conversation's last message (all the board reads of it).
    Conversation.objects.filter(pk=chat.pk).update(
        last_message_at=chat.last_message_at + dt.timedelta(seconds=5)
    )

    page = new_context().new_page()
    page.set_viewport_size({"width": 1280, "height": 800})
    login(page, sam)
    page.goto(f"{live_app}/monitoring/campaigns/{support.pk}/")
    page.wait_for_function("() => document.body.dataset.live === 'on'")
    alice_row = page.locator(f"#agents-table tr[data-agent-id='{alice.pk}']")
    expect(alice_row.locator(".conv-chip")).to_contain_text("Carla Customer")

    off_loop(presence_set, agent=alice, presence=Presence.BREAK, break_reason=lunch, changed_by=alice)
    expect(alice_row.get_by_test_id("agent-status")).to_have_text("Break · Lunch")
    expect(alice_row.locator(".conv-chip")).to_contain_text("Carla Customer")  # she keeps it
    expect(alice_row.get_by_test_id("chip-waiting")).to_have_count(0)

    def customer_writes() -> None:
        with transaction.atomic():
            contact = contact_lock(page_id=f"page-{support.pk}", psid="9200")
            message_receive(
                contact=contact,
                campaign=support,
                page_id=contact.page_id,
                mid="m-9200-2",
                kind="text",
                text="Hello?",
            )

    off_loop(customer_writes)
    waiting = alice_row.get_by_test_id("chip-waiting")
    expect(waiting).to_contain_text("waiting")
    ticking = waiting.locator("[data-tick-from]").inner_text()
    page.wait_for_function(
        "(first) => document.querySelector('[data-testid=chip-waiting] [data-tick-from]').textContent.trim() !== first",
        arg=ticking,
        timeout=5000,
    )
    page.screenshot(path=artifact_path("presence-break-waiting-board-1280.png"))
    page.set_viewport_size({"width": 375, "height": 740})
    alice_row.scroll_into_view_if_needed()
    page.screenshot(path=artifact_path("presence-break-waiting-board-375.png"))
    chat.refresh_from_db()
    assert (chat.state, chat.agent_id) == (ConversationState.ASSIGNED, alice.pk)
