"""Issue 15 §3 in Chromium, through the Facebook simulator: ada makes Acme Sales "bot first" on the
campaign page; Carla writes on the simulator and her conversation stays with the bot (sam's board
shows "With the bot" 1, alice's inbox nothing); the bot answers and then hands off with its own API
token over real HTTP; alice, Available, gets Carla with the bot's part of the thread marked as the bot's.

The clock is frozen on the next Monday (see test_routing_journey.py): the bot timer is then due in
the future and does not fire during the test.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect

from pagedesk.accounts.models import User
from pagedesk.campaigns import schedule
from pagedesk.campaigns.models import Campaign, Strategy
from pagedesk.campaigns.services import MemberSpec, campaign_create, campaign_set_supervisors, membership_set
from pagedesk.conversations.models import ConversationEvent, ConversationState
from tests.e2e.simulated import acme_connected
from tests.e2e.test_routing_journey import (
    CARLA,
    TIMEOUT,
    active_names,
    agent_inbox,
    conversation_of,
    customer_chat,
    customer_writes,
    go_available,
    next_monday,
    wait_state,
)
from tests.factories_bot import integration_token, make_integration
from tests.integration.messenger.facebook_simulator import Simulator

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)


@pytest.fixture
def sales(transactional_db, alice: User, sam: User) -> Campaign:
    campaign = campaign_create(
        fields={
            "name": "Acme Sales",
            "page_name": "Acme Support",
            "timezone": "Europe/Madrid",
            "strategy": Strategy.LINEAR,
        },
        ranges=[schedule.Range(schedule.ALL_WEEKDAYS, 0, schedule.MINUTES_PER_DAY)],
    )
    membership_set(campaign=campaign, members=[MemberSpec(agent_id=alice.pk)])
    campaign_set_supervisors(campaign=campaign, supervisor_ids=[sam.pk])
    campaign.refresh_from_db()
    return campaign


@pytest.fixture
def fb(live_app: str, settings, tmp_path, frozen_clock, sales: Campaign) -> Iterator[Simulator]:
    settings.MEDIA_ROOT = tmp_path / "media"
    frozen_clock.set(next_monday(dt.time(10, 0)))
    with acme_connected(settings=settings, live_app=live_app, campaign=sales) as sim:
        yield sim


def test_bot_first_then_the_queue(new_context, live_app, login, artifact_path, fb, sales, ada, sam, alice):
    helpbot = make_integration("Helpbot", campaigns=[sales])
    token = integration_token(helpbot)

    # ada sets the bot on the campaign page.
    admin = new_context().new_page()
    admin.set_default_timeout(TIMEOUT)
    login(admin, ada)
    admin.goto(f"{live_app}/campaigns/{sales.pk}/")
    admin.get_by_label("Bot", exact=True).select_option(label="Helpbot")
    admin.get_by_label("Hand-off keywords").fill("agent, human")
    admin.get_by_role("button", name="Save").click()
    admin.wait_for_url(f"{live_app}/campaigns/")
    sales.refresh_from_db()
    assert (sales.bot_integration_id, sales.handoff_keywords) == (helpbot.pk, "agent, human")

    alice_page = agent_inbox(new_context, live_app, login, alice)
    go_available(alice_page)

    # Carla writes: the conversation stays with the bot, out of the queue and out of alice's inbox.
    chat = customer_chat(new_context, fb, "Carla Customer", psid=CARLA)
    customer_writes(chat, "Hi, what sizes do the chairs come in?")
    carla = conversation_of(sales, "Carla Customer")
    wait_state(carla, ConversationState.BOT, None)

    board = new_context().new_page()
    board.set_default_timeout(TIMEOUT)
    login(board, sam)
    board.goto(f"{live_app}/monitoring/campaigns/{sales.pk}/")
    expect(board.locator('[data-kpi="with_bot"]')).to_have_text("1")
    expect(board.locator('[data-kpi="queue_length"]')).to_have_text("0")
    board.screenshot(path=artifact_path("bot-first-board.png"))
    expect(alice_page.get_by_test_id("active-list").locator("li.conv")).to_have_count(0)

    # The bot answers through the API with its own token, and the customer sees it on the simulator.
    answered = httpx.post(
        f"{live_app}/api/v1/conversations/{carla.pk}/messages",
        headers={"Authorization": f"Bearer {token}"},
        json={"text": "Our chairs come in S, M and L."},
        timeout=10,
    )
    assert answered.status_code == 201, answered.text
    expect(
        chat.get_by_test_id("chat-message").filter(has_text="Our chairs come in S, M and L.")
    ).to_have_count(1)

    # The bot hands off over real HTTP with its own token: alice gets Carla.
    response = httpx.post(
        f"{live_app}/api/v1/conversations/{carla.pk}/handoff",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.json()["id"] == carla.pk
    wait_state(carla, ConversationState.ASSIGNED, alice)
    assert carla.queued_at is not None  # queued at the hand-off (the clock is frozen: same instant)
    [handoff] = ConversationEvent.objects.filter(conversation=carla, kind="handed_off")
    assert (handoff.actor_id, handoff.data) == (helpbot.user.pk, {"reason": "api"})

    expect(active_names(alice_page)).to_have_text(["Carla Customer"])
    alice_page.get_by_test_id("active-list").get_by_text("Carla Customer").click()
    messages = alice_page.get_by_test_id("messages")
    expect(messages.get_by_text("Hi, what sizes do the chairs come in?")).to_be_visible()
    bot_message = alice_page.locator("li.ib-msg-integration").filter(
        has_text="Our chairs come in S, M and L."
    )
    expect(bot_message).to_be_visible()
    expect(bot_message.get_by_test_id("integration-marker")).to_have_text("integration")
    alice_page.screenshot(path=artifact_path("bot-first-alice.png"))

    # Handing off again is refused: it is no longer with the bot.
    again = httpx.post(
        f"{live_app}/api/v1/conversations/{carla.pk}/handoff",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_with_bot"
