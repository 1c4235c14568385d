"""Issue 7's "Done when" in Chromium: sam watches the board while alice goes on Break and a customer
writes — both appear without a reload — then finds that customer's words in recordings and opens the
transcript. Screenshots: tests/artifacts/board.png and tests/artifacts/transcript.png."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time

import pytest
from django.db import transaction
from django.db.models import F
from playwright.sync_api import BrowserContext, Page, expect

from pagedesk.accounts.models import Presence
from pagedesk.conversations.models import (
    Contact,
    Conversation,
    ConversationEvent,
    ConversationState,
    SenderType,
)
from pagedesk.conversations.services import contact_lock
from pagedesk.core import clock
from pagedesk.routing.inbound import message_receive
from pagedesk.routing.services import presence_set
from tests.fixtures.traffic import build_traffic, message_row

pytestmark = pytest.mark.e2e
expect.set_options(timeout=10_000)

PAGE_ID = "page-e2e"


def seed_history(campaign, alice, bob) -> Conversation:
    """Earlier today: a generated mix for the KPI strip, and one closed conversation to search for."""
    now = clock.now()
    build_traffic(
        campaign=campaign,
        agents=[alice, bob],
        day=now.astimezone(campaign.tzinfo).date(),
        conversations=60,
        now=now - dt.timedelta(minutes=5),
    )
    # Settle what the generator left open, so the live queue starts empty and the test's customer is #1.
    Conversation.objects.filter(state=ConversationState.QUEUED).update(
        state=ConversationState.ABANDONED, abandoned_at=now - dt.timedelta(minutes=4)
    )
    Conversation.objects.filter(state=ConversationState.ASSIGNED).update(
        state=ConversationState.CLOSED, closed_at=F("assigned_at") + dt.timedelta(minutes=6)
    )
    # bob is in a chat that has run past the chat-time threshold (15 min): a red row and chip.
    erik = Contact.objects.create(
        page_id=PAGE_ID, psid="7100000000000007", first_name="Erik", last_name="Sund"
    )
    Conversation.objects.create(
        campaign=campaign,
        contact=erik,
        state=ConversationState.ASSIGNED,
        agent=bob,
        created_at=now - dt.timedelta(minutes=21),
        queued_at=now - dt.timedelta(minutes=21),
        assigned_at=now - dt.timedelta(minutes=20),
        first_response_at=now - dt.timedelta(minutes=19),
    )
    contact = Contact.objects.create(
        page_id=PAGE_ID, psid="7100000000000042", first_name="Dora", last_name="Lindqvist"
    )
    start = now - dt.timedelta(hours=2)
    conversation = Conversation.objects.create(
        campaign=campaign,
        contact=contact,
        state=ConversationState.CLOSED,
        agent=alice,
        created_at=start,
        queued_at=start,
        assigned_at=start + dt.timedelta(seconds=25),
        first_response_at=start + dt.timedelta(seconds=40),
        closed_at=start + dt.timedelta(minutes=7),
    )
    lines = [
        (0, SenderType.CUSTOMER, None, "Hi! My umbrella order never arrived, can you check?"),
        (40, SenderType.AGENT, alice, "Hi Dora, I'm Alice. Let me look at your order."),
        (95, SenderType.AGENT, alice, "It left the warehouse yesterday; it arrives tomorrow before noon."),
        (150, SenderType.CUSTOMER, None, "Great, thank you!"),
    ]
    for seconds, sender, author, text in lines:
        at = start + dt.timedelta(seconds=seconds)
        message_row(conversation, text, sender=sender, at=at, page_id=PAGE_ID, author=author).save()
    for seconds, kind, data in [
        (0, "queued", {"reason": "new"}),
        (25, "assigned", {"agent_id": alice.pk, "how": "routed"}),
        (420, "closed", {}),
    ]:
        ConversationEvent.objects.create(
            conversation=conversation,
            kind=kind,
            at=start + dt.timedelta(seconds=seconds),
            actor=alice if kind == "closed" else None,
            data=data,
        )
    return conversation


def off_loop(fn, *args, **kwargs):
    """Run a service call in its own thread: publish() uses async_to_sync, which refuses to run in the
    main thread where Playwright's event loop lives. Waits for it and closes the thread's connection."""
    result: list[object] = []
    errors: list[BaseException] = []

    def run() -> None:
        from django.db import connection

        try:
            result.append(fn(*args, **kwargs))
        except BaseException as exc:  # re-raised in the test thread
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if errors:
        raise errors[0]
    return result[0] if result else None


def customer_writes(campaign, text: str) -> Conversation:
    with transaction.atomic():
        contact = contact_lock(page_id=PAGE_ID, psid="7100000000000099")
        contact.first_name, contact.last_name = "Carla", "Mendes"
        contact.save(update_fields=["first_name", "last_name"])
        received = message_receive(
            contact=contact, campaign=campaign, page_id=PAGE_ID, mid="m-e2e-1", kind="text", text=text
        )
    assert received.conversation is not None
    return received.conversation


def test_sam_watches_the_board_then_reads_a_recording(
    new_context, live_app, login, artifact_path, campaign, sam, alice, bob, lunch
):
    presence_set(agent=alice, presence=Presence.AVAILABLE)
    presence_set(agent=bob, presence=Presence.AVAILABLE)
    seed_history(campaign, alice, bob)

    context: BrowserContext = new_context()
    page: Page = context.new_page()
    login(page, sam)
    page.goto(f"{live_app}/monitoring/campaigns/{campaign.pk}/")
    page.wait_for_function("() => document.body.dataset.live === 'on'")
    alice_status = page.locator(f"#agents-table tr[data-agent-id='{alice.pk}'] [data-testid=agent-status]")
    expect(alice_status).to_have_text("Free")
    expect(page.locator("#queue-table")).to_contain_text("Nobody is waiting.")

    # alice takes a break: the board shows it without a reload.
    started = time.monotonic()
    off_loop(presence_set, agent=alice, presence=Presence.BREAK, break_reason=lunch, changed_by=alice)
    expect(alice_status).to_have_text("Break · Lunch")
    break_seen = time.monotonic() - started

    # A customer writes: a new queued conversation appears in the queue table.
    started = time.monotonic()
    off_loop(customer_writes, campaign, "Hello, is anyone there?")
    row = page.locator("#queue-table tbody tr").first
    expect(row).to_contain_text("Carla Mendes")
    expect(row.locator("td").first).to_have_text("1")
    queue_seen = time.monotonic() - started
    # Issue 7: visible within one second (generous on a shared CI box: the refresh itself is ~0.5 s).
    assert break_seen < 3 and queue_seen < 3, (break_seen, queue_seen)
    expect(page.locator("[data-kpi=queue_length]")).to_have_text("1")
    bob_row = page.locator(f"#agents-table tr[data-agent-id='{bob.pk}']")
    expect(bob_row.locator(".messenger-icon")).to_have_count(1)
    expect(bob_row).to_have_class(re.compile("row-alarm"))
    expect(bob_row.locator(".conv-chip")).to_contain_text("Erik Sund")

    # The "on hold" timer ticks client-side.
    hold = row.locator("[data-tick-from]")
    first = hold.inner_text()
    # Queried afresh each time: a live refresh may have replaced the row meanwhile.
    page.wait_for_function(
        "(first) => document.querySelector('#queue-table tbody tr [data-tick-from]').textContent.trim() !== first",
        arg=first,
        timeout=5000,
    )

    # Sorting by a header button, from the keyboard.
    page.get_by_role("button", name="Agent").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#agents-table th[aria-sort=descending]")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page.locator("#agents-table th[aria-sort=ascending]")).to_have_count(1)
    page.screenshot(path=artifact_path("board.png"), full_page=True)

    # Recordings: search by a word the customer wrote, open the transcript.
    page.get_by_role("link", name="Recordings").click()
    page.get_by_label("Words in messages").fill("umbrella")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("result-count")).to_have_text("1 conversation")
    page.get_by_role("link", name="Dora Lindqvist").click()
    expect(page.locator(".msg").first).to_contain_text("My umbrella order never arrived")
    expect(page.locator(".timeline")).to_contain_text("Assigned to Alice")
    expect(page.locator(".msg-agent").first).to_contain_text("Read")
    page.screenshot(path=artifact_path("transcript.png"), full_page=True)
    context.close()
