"""Thread control in Chromium, through the simulator: a Page admin gives Carla's thread to the Page inbox,
Carla writes (a standby copy), alice sees it marked, takes control, replies, Carla receives it, and alice
hands the thread back to the Page inbox."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from pagedesk.conversations.models import Contact, ConversationEvent, Message
from pagedesk.conversations.thread import PAGE_INBOX_APP_ID
from tests.e2e.simulated import acme_connected
from tests.e2e.test_agent_inbox import agent_page, available, customer_page, customer_writes, wait_live
from tests.integration.messenger.facebook_simulator import ACME_PAGE_ID

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)

CARLA = "7000000000000001"


@pytest.fixture
def sim(live_app, settings, tmp_path, campaign, alice) -> Iterator[object]:
    settings.MEDIA_ROOT = tmp_path / "media"
    with acme_connected(settings=settings, live_app=live_app, campaign=campaign) as simulator:
        yield simulator


def thread_owner(sim) -> str | None:
    return sim.http.get(f"/_control/pages/{ACME_PAGE_ID}/threads/{CARLA}").json()["owner_app_id"]


def test_standby_take_control_reply_and_hand_back(new_context, live_app, login, artifact_path, sim, alice):
    available(alice)
    page = agent_page(new_context, live_app, login, alice)
    wait_live(page)
    chat = customer_page(new_context, sim)
    customer_writes(chat, "Hello, my parcel is late")
    page.get_by_role("tab", name=re.compile("Pending")).click()
    page.get_by_role("button", name="Take the conversation with Carla Customer").click()
    expect(page.get_by_test_id("messages").get_by_text("Hello, my parcel is late")).to_be_visible()

    # A Page admin moves the conversation to Facebook's Page inbox; the open pane hears it live.
    sim.http.post(
        f"/_control/pages/{ACME_PAGE_ID}/threads/{CARLA}", json={"owner": "page_inbox"}
    ).raise_for_status()
    banner = page.get_by_test_id("thread-owner")
    expect(banner).to_contain_text("the Facebook Page inbox")
    expect(page.get_by_test_id("composer-thread-owner")).to_be_visible()
    expect(page.get_by_label("Message to Carla Customer")).to_have_count(0)

    # Carla writes again: pagedesk gets a standby copy, shown apart, and it stays alice's conversation.
    customer_writes(chat, "Is anyone from the shop there?")
    standby = page.locator("#messages li.ib-msg-standby")
    expect(standby).to_have_count(1)
    expect(standby).to_contain_text("Is anyone from the shop there?")
    expect(standby.get_by_test_id("standby-label")).to_have_text(
        "Sent while the Page inbox had this conversation"
    )
    page.screenshot(path=artifact_path("thread_control_standby.png"))

    # Take control: Facebook gives pagedesk the thread, the composer is back.
    page.get_by_test_id("thread-take").click()
    expect(page.get_by_test_id("thread-ours")).to_be_visible()
    assert thread_owner(sim) == sim.http.get("/_control/config").json()["app_id"]
    box = page.get_by_label("Message to Carla Customer")
    box.fill("Hi Carla, Alice here: I have your order in front of me.")
    box.press("Enter")
    expect(chat.get_by_test_id("chat-message").filter(has_text="Alice here")).to_have_count(1)

    # Hand back: the Page inbox has the thread again, and the composer says so.
    page.get_by_test_id("thread-hand-back").click()
    expect(page.get_by_test_id("thread-owner")).to_be_visible()
    assert thread_owner(sim) == PAGE_INBOX_APP_ID
    contact = Contact.objects.get(page_id=ACME_PAGE_ID, psid=CARLA)
    assert contact.thread_owner_app_id == PAGE_INBOX_APP_ID
    hows = list(
        ConversationEvent.objects.filter(kind="thread_control")
        .order_by("pk")
        .values_list("data__how", "actor")
    )
    assert hows == [("passed", None), ("taken", alice.pk), ("handed_back", alice.pk)]
    kept = Message.objects.get(text="Is anyone from the shop there?")
    assert kept.extra["standby"] is True and kept.conversation.agent_id == alice.pk
    page.screenshot(path=artifact_path("thread_control_handed_back.png"))
