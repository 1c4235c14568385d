"""Issue 12's whole day, as a team lives it, through the browser only.

Customers write from the simulator's Messenger page (signed webhooks to the live pagedesk); alice and bob
work in their inboxes, sam on the board and in recordings. Nothing is set up behind the pages' backs
once the day starts: the database is read only to check what the pages showed.

1. Carla writes while nobody is Available: she waits (sam's board shows her in the queue).
2. alice turns Available, takes Carla from Pending and replies with text, a canned response, an emoji,
   a file and a 3,000-character reply (two Messenger messages, in order, nothing cut).
3. alice transfers Carla to bob with a note: her pane closes quietly ("Transferred to Bob", no error);
   bob reads alice's messages under her name and closes with "Billing › Refund issued".
4. Peter writes; alice takes him and goes Offline: "Return 1 conversation to the queue?"; Peter is back
   in the queue and bob takes him.
5. Dora writes; bob takes her; sam returns Dora to the queue from the board and stays on the board.
6. sam finds Carla's and Peter's conversations in recordings by agent alice (she took part in both),
   opens both transcripts, exports the CSV and finds in it exactly what the screen shows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from pagedesk.accounts.models import Presence, User
from pagedesk.campaigns.models import Campaign, CannedResponse
from pagedesk.campaigns.services import disposition_create
from pagedesk.conversations.models import Conversation, ConversationState, Direction, Message
from tests.e2e.simulated import acme_connected
from tests.integration.messenger.facebook_simulator import ACME_PAGE_ID, Simulator

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)

CARLA = "7000000000000001"  # seeded on Acme Support in the simulator
PETER = "7000000000000002"
TIMEOUT = 15_000
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a3c2ec5b0000000049454e44ae426082"
)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def day(live_app, settings, media, campaign: Campaign) -> Iterator[Simulator]:
    """The ringall Acme Support campaign (alice and bob members, sam supervising) on the simulator."""
    settings.AGENT_DISCONNECT_GRACE_SECONDS = 120
    billing = disposition_create(campaign=campaign, name="Billing")
    disposition_create(campaign=campaign, name="Refund issued", parent=billing)
    CannedResponse.objects.create(
        campaign=campaign, title="Greeting", text="Hi {customer_first_name}, I'm {agent_first_name}."
    )
    with acme_connected(settings=settings, live_app=live_app, campaign=campaign) as sim:
        yield sim


def signed_in(new_context, live_app: str, login, user: User, path: str) -> Page:
    page = new_context().new_page()
    page.set_default_timeout(TIMEOUT)
    errors: list[str] = []
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    page.errors = errors  # type: ignore[attr-defined]
    login(page, user)
    page.goto(f"{live_app}{path}")
    page.wait_for_function("() => document.body.dataset.live === 'on'")
    return page


def customer(new_context, sim: Simulator, *, psid: str = "", name: str = "") -> Page:
    page = new_context().new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{sim.url}/chat?page={ACME_PAGE_ID}" + (f"&psid={psid}" if psid else ""))
    if not psid:
        page.get_by_test_id("chat-new-customer-name").fill(name)
        page.get_by_test_id("chat-new-customer-create").click()
    return page


def writes(chat: Page, text: str) -> None:
    chat.get_by_test_id("chat-input").fill(text)
    chat.get_by_test_id("chat-input").press("Enter")
    expect(
        chat.locator('[data-testid=chat-message][data-from="customer"]').filter(has_text=text)
    ).to_have_count(1)


def take(page: Page, name: str) -> None:
    page.get_by_role("tab", name=re.compile("Pending")).click()
    page.get_by_role("button", name=f"Take the conversation with {name}").click()
    expect(page.get_by_test_id("pane-state")).to_have_text("Assigned")
    page.get_by_role("tab", name=re.compile("Active")).click()


def conversation_of(campaign: Campaign, psid: str) -> Conversation:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = Conversation.objects.filter(campaign=campaign, contact__psid=psid).order_by("-pk").first()
        if found is not None:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no conversation for {psid}")


def test_a_whole_day_of_a_team(new_context, live_app, login, artifact_path, day, campaign, alice, bob, sam):
    sam_page = signed_in(new_context, live_app, login, sam, "/monitoring/")
    alice_page = signed_in(new_context, live_app, login, alice, "/inbox/")
    bob_page = signed_in(new_context, live_app, login, bob, "/inbox/")

    # 1. Carla writes while nobody is Available: she waits, and the board says so.
    carla_chat = customer(new_context, day, psid=CARLA)
    writes(carla_chat, "Hello, I was charged twice for order 4411.")
    expect(sam_page.locator("#queue-table")).to_contain_text("Carla Customer")
    expect(sam_page.locator("[data-kpi=queue_length]")).to_have_text("1")

    # 2. alice turns Available, takes Carla and replies five ways.
    alice_page.locator("#presence").get_by_role("button", name="Available", exact=True).click()
    expect(alice_page.get_by_test_id("presence-state")).to_have_text("Available")
    take(alice_page, "Carla Customer")
    box = alice_page.get_by_label("Message to Carla Customer")
    box.fill("Let me check the charge.")
    box.press("Enter")
    box.fill("/greet")
    box.press("Enter")
    expect(box).to_have_value("Hi Carla, I'm Alice.")
    box.press("Enter")
    alice_page.get_by_role("button", name="Emoji").click()
    alice_page.get_by_label("Search emoji").fill("thumbs up")
    alice_page.locator("#emoji-pop button[data-emoji]:not([hidden])").first.click()
    expect(box).to_have_value("👍")
    box.press("Enter")
    alice_page.locator("#composer-files").set_input_files(
        files=[{"name": "refund-form.png", "mimeType": "image/png", "buffer": PNG}]
    )
    alice_page.get_by_role("button", name="Send", exact=True).click()
    long_reply = " ".join(f"part{i:03d}" for i in range(375))[:3000].rstrip()
    box.focus()
    alice_page.keyboard.insert_text(long_reply)
    expect(alice_page.get_by_test_id("composer-count")).to_contain_text("will be sent as 2 messages")
    box.press("Enter")
    carla_conv = conversation_of(campaign, CARLA)
    # The customer gets every reply, in order; the long one as two messages, nothing cut.
    from_page = carla_chat.locator('[data-testid=chat-message][data-from="page"]')
    expect(from_page).to_have_count(6)  # three short replies, the file, the long reply in two
    expect(carla_chat.get_by_test_id("chat-attachment")).to_have_count(1)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        texts = [
            m.text
            for m in Message.objects.filter(conversation=carla_conv, direction=Direction.OUT).order_by("pk")
            if m.text
        ]
        if len(texts) == 5:
            break
        time.sleep(0.1)
    assert texts[:3] == ["Let me check the charge.", "Hi Carla, I'm Alice.", "👍"]
    assert " ".join(texts[3:]) == long_reply and all(len(t) <= 2000 for t in texts[3:])

    # 3. alice transfers Carla to bob with a note; her page closes the pane without an error.
    bob_page.locator("#presence").get_by_role("button", name="Available", exact=True).click()
    expect(bob_page.get_by_test_id("presence-state")).to_have_text("Available")
    alice_page.get_by_role("button", name="Transfer").click()
    alice_page.get_by_label(re.compile(r"Bob \(available\)")).check()
    alice_page.get_by_label("Note for the receiver (optional)").fill(
        "Double charge confirmed, please refund."
    )
    alice_page.locator("#transfer-dialog").get_by_role("button", name="Transfer").click()
    expect(alice_page.locator("#toasts")).to_contain_text("Transferred to Bob")
    expect(alice_page.locator("#toasts")).not_to_contain_text("You cannot open this conversation")
    expect(alice_page.locator("[data-pane-empty]")).to_be_visible()
    bob_item = bob_page.get_by_test_id("active-list").locator("li.conv").filter(has_text="Carla Customer")
    expect(bob_item).to_contain_text("Alice:")  # alice's long reply, under her name
    bob_item.click()
    expect(bob_page.get_by_test_id("transfer-note")).to_contain_text("Double charge confirmed")
    bob_page.get_by_role("button", name="Close", exact=True).click()
    bob_page.get_by_label("Disposition").select_option(label="Billing › Refund issued")
    bob_page.get_by_role("button", name="Close conversation").click()
    expect(bob_page.get_by_test_id("pane-state")).to_have_text("Closed")
    expect(bob_page.get_by_test_id("pane")).to_contain_text("Billing › Refund issued")

    # 4. Peter writes; alice takes him, then goes Offline: he goes back to the queue and bob takes him.
    peter_chat = customer(new_context, day, psid=PETER)
    writes(peter_chat, "Is my parcel on its way?")
    take(alice_page, "Peter Chang")
    alice_page.get_by_label("Message to Peter Chang").fill("Checking now.")
    alice_page.get_by_label("Message to Peter Chang").press("Enter")
    expect(peter_chat.locator('[data-testid=chat-message][data-from="page"]')).to_have_count(1)
    alice_page.locator("#presence").get_by_role("button", name="Offline", exact=True).click()
    confirm = alice_page.get_by_test_id("offline-confirm")
    expect(confirm).to_contain_text("Return 1 conversation to the queue?")
    confirm.get_by_role("button", name="Return and go Offline").click()
    expect(alice_page.get_by_test_id("presence-state")).to_have_text("Offline")
    expect(alice_page.get_by_test_id("active-list").locator("li.conv")).to_have_count(0)
    take(bob_page, "Peter Chang")
    peter_conv = conversation_of(campaign, PETER)
    peter_conv.refresh_from_db()
    assert (peter_conv.state, peter_conv.agent_id) == (ConversationState.ASSIGNED, bob.pk)

    # 5. Dora writes; bob takes her; sam returns her to the queue from the board and stays there.
    dora_chat = customer(new_context, day, name="Dora Diaz")
    writes(dora_chat, "Hi, can I change my delivery address?")
    take(bob_page, "Dora Diaz")
    bob_row = sam_page.locator(f"#agents-table tr[data-agent-id='{bob.pk}']")
    expect(bob_row.locator(".conv-chip")).to_have_count(2)
    sam_page.on("dialog", lambda dialog: dialog.accept())
    bob_row.get_by_role("button", name="Return Dora Diaz to the queue").click()
    expect(sam_page.locator("#queue-table")).to_contain_text("Dora Diaz")
    assert sam_page.url.rstrip("/").endswith("/monitoring")
    expect(sam_page.get_by_role("navigation").first).to_be_visible()
    sam_page.screenshot(path=artifact_path("team-day-board.png"))

    # 6. sam finds both of alice's conversations in recordings, reads them and exports what he sees.
    sam_page.get_by_role("link", name="Recordings").click()
    sam_page.get_by_label("Agent").select_option(label="Alice")
    sam_page.get_by_role("button", name="Search").click()
    expect(sam_page.get_by_test_id("result-count")).to_have_text("2 conversations")
    rows = sam_page.locator("#recordings-table tbody tr")
    screen = [[cell.inner_text().strip() for cell in row.locator("td").all()[:6]] for row in rows.all()]
    sam_page.screenshot(path=artifact_path("team-day-recordings.png"))
    customers = sorted(row[1].splitlines()[0] for row in screen)
    assert customers == ["Carla Customer", "Peter Chang"]
    for name, expected in (("Carla Customer", "Billing › Refund issued"), ("Peter Chang", "Checking now.")):
        sam_page.get_by_role("link", name=name).click()
        expect(sam_page.locator("main")).to_contain_text(expected)
        sam_page.go_back()
    with sam_page.expect_download() as download_info:
        sam_page.get_by_role("link", name="Export CSV").click()
    exported = list(csv.DictReader(io.StringIO(download_info.value.path().read_text(encoding="utf-8-sig"))))
    assert len(exported) == len(screen) == 2
    zone = ZoneInfo(campaign.timezone)
    for line in screen:
        started, name, campaign_name, agent, _state, disposition = line
        row = next(
            r
            for r in exported
            if f"{r['customer_first_name']} {r['customer_last_name']}" == name.splitlines()[0]
        )
        assert row["campaign"] == campaign_name
        assert row["agent"] == agent  # the full name the screen shows
        assert (row["disposition"] or "—") == disposition
        local = dt.datetime.fromisoformat(row["created_at"])
        assert local.utcoffset() == local.astimezone(zone).utcoffset()
        assert local.strftime("%Y-%m-%d %H:%M") == started
        assert dt.datetime.fromisoformat(row["created_at_utc"].replace("Z", "+00:00")) == local

    for page in (sam_page, alice_page, bob_page):
        assert page.errors == [], page.errors  # type: ignore[attr-defined]
    alice.refresh_from_db()
    assert alice.presence == Presence.OFFLINE
