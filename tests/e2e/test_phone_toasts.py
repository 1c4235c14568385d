"""At 375 px a toast must not cover the top of the inbox (its tabs, the customer's name) nor the
composer: found by a fresh-eyes pass of issue 15, where "Conversation closed." sat over the title."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_agent_inbox import agent_page
from tests.e2e.test_inbox_first_day import carla_with_alice

pytestmark = pytest.mark.e2e

PHONE = {"width": 375, "height": 812}


def _overlap(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_a_toast_on_a_phone_leaves_the_tabs_and_the_name_visible(
    new_context, live_app, login, artifact_path, campaign, alice
):
    carla_with_alice(campaign, alice)
    page = agent_page(new_context, live_app, login, alice)
    page.set_viewport_size(PHONE)
    page.get_by_test_id("active-list").get_by_text("Carla Customer").click()
    head = page.locator(".pane-head").bounding_box()
    composer = page.locator(".composer textarea").bounding_box()
    page.evaluate("() => import('/static/inbox/notices.js').then(m => m.toast('Conversation closed.', 'ok'))")
    toast = page.locator("#toasts .toast").first
    expect(toast).to_be_visible()
    box = toast.bounding_box()
    assert head is not None and composer is not None and box is not None
    assert not _overlap(box, head), (box, head)
    assert not _overlap(box, composer), (box, composer)  # nor where the agent types
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    page.screenshot(path=artifact_path("inbox_toast_375.png"))
