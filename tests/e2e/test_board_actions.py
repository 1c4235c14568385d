"""Issue 12 #1 in Chromium: the board's actions (Return to queue, Set Offline) keep sam on the board he
acted from, the all-campaigns one and a campaign's own, after live refreshes swapped the board's fragment
in and without JavaScript. Screenshot: tests/artifacts/board-after-return.png."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from pagedesk.accounts.models import Presence
from pagedesk.conversations.models import Contact, Conversation, ConversationState
from pagedesk.core import clock
from pagedesk.routing.services import presence_set

pytestmark = pytest.mark.e2e
expect.set_options(timeout=10_000)


def assigned_to(campaign, agent, *, psid: str, first: str, last: str) -> Conversation:
    now = clock.now()
    contact = Contact.objects.create(page_id="page-e2e", psid=psid, first_name=first, last_name=last)
    return Conversation.objects.create(
        campaign=campaign,
        contact=contact,
        state=ConversationState.ASSIGNED,
        agent=agent,
        created_at=now - dt.timedelta(minutes=3),
        queued_at=now - dt.timedelta(minutes=3),
        queue_order=now - dt.timedelta(minutes=3),
        assigned_at=now - dt.timedelta(minutes=2),
    )


def open_live_board(page: Page, url: str) -> None:
    """Open the board and wait for the fragment the socket's first snapshot fetches: from then on the
    board's forms are the fragment's, as they are for anyone who watched the board for a second."""
    with page.expect_response(lambda response: "/fragment/" in response.url and response.ok):
        page.goto(url)
    page.wait_for_function("() => document.body.dataset.live === 'on'")


@pytest.mark.parametrize("board", ["all", "campaign"])
def test_return_to_queue_stays_on_the_board(
    board, new_context, live_app, login, artifact_path, campaign, sam, alice, bob
):
    presence_set(agent=bob, presence=Presence.AVAILABLE)
    conversation = assigned_to(campaign, bob, psid="7100000000000011", first="Carla", last="Mendes")
    path = "/monitoring/" if board == "all" else f"/monitoring/campaigns/{campaign.pk}/"

    page = new_context().new_page()
    login(page, sam)
    open_live_board(page, f"{live_app}{path}")
    page.on("dialog", lambda dialog: dialog.accept())
    bob_row = page.locator(f"#agents-table tr[data-agent-id='{bob.pk}']")
    bob_row.get_by_role("button", name="Return Carla Mendes to the queue").click()

    expect(page.get_by_text("The conversation is back in the queue.")).to_be_visible()
    assert page.url == f"{live_app}{path}"
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.locator("#queue-table")).to_contain_text("Carla Mendes")
    expect(bob_row.locator(".conv-chip")).to_have_count(0)
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.QUEUED
    page.screenshot(path=artifact_path(f"board-after-return-{board}.png"), full_page=True)


def test_set_offline_stays_on_the_campaign_board(new_context, live_app, login, campaign, sam, alice):
    presence_set(agent=alice, presence=Presence.AVAILABLE)
    path = f"/monitoring/campaigns/{campaign.pk}/"

    page = new_context().new_page()
    login(page, sam)
    open_live_board(page, f"{live_app}{path}")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Set Offline Alice").click()

    expect(page.get_by_text("Alice is now Offline.")).to_be_visible()
    assert page.url == f"{live_app}{path}"
    alice_status = page.locator(f"#agents-table tr[data-agent-id='{alice.pk}'] [data-testid=agent-status]")
    expect(alice_status).to_have_text("Offline")


def test_board_actions_work_without_javascript(new_context, live_app, login, campaign, sam, alice, bob):
    """No script, no live refresh, no confirm: the forms still post and land back on the same board."""
    presence_set(agent=bob, presence=Presence.AVAILABLE)
    presence_set(agent=alice, presence=Presence.AVAILABLE)
    assigned_to(campaign, bob, psid="7100000000000012", first="Dora", last="Lindqvist")
    path = f"/monitoring/campaigns/{campaign.pk}/"

    page = new_context(java_script_enabled=False).new_page()
    login(page, sam)
    page.goto(f"{live_app}{path}")
    page.get_by_role("button", name="Return Dora Lindqvist to the queue").click()
    expect(page.get_by_text("The conversation is back in the queue.")).to_be_visible()
    assert page.url == f"{live_app}{path}"
    expect(page.locator("#queue-table")).to_contain_text("Dora Lindqvist")

    page.get_by_role("button", name="Set Offline Alice").click()
    expect(page.get_by_text("Alice is now Offline.")).to_be_visible()
    assert page.url == f"{live_app}{path}"
