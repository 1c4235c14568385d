"""The agent's top bar — nav (with "My work"), the inbox's presence status bar, name and Log out — fits
at every width, and neither the "My work" page nor the inbox slides under it.

The bug this guards: with the "My work" link the bar no longer fit on one 52px row below ~1130px; the
link's label wrapped out of the bar, and the inbox's presence controls and Log out were pushed past the
right edge (the inbox clips overflow, so they could not even be scrolled to).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from pagedesk.accounts.models import User

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)

WIDTHS = (1280, 1100, 1024, 900, 800, 720, 600, 375)
Box = dict[str, float]


def box_of(page: Page, selector: str) -> Box:
    locator = page.locator(selector)
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    assert box is not None, selector
    return box


def intersect(a: Box, b: Box) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def assert_top_bar_fits(page: Page, width: int, *, parts: dict[str, str]) -> Box:
    """Every part lies inside the bar and the viewport, and no two parts overlap; returns the bar."""
    bar = box_of(page, "header.topbar")
    boxes = {name: box_of(page, selector) for name, selector in parts.items()}
    for name, part in boxes.items():
        where = f"{name} at {width}px: {part}, bar {bar}"
        assert part["x"] >= 0 and part["x"] + part["width"] <= width + 0.5, where
        assert part["y"] >= bar["y"] - 0.5, where
        assert part["y"] + part["height"] <= bar["y"] + bar["height"] + 0.5, where
    names = list(boxes)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            assert not intersect(boxes[first], boxes[second]), (width, first, second, boxes)
    return bar


def assert_below(bar: Box, content: Box, what: str, width: int) -> None:
    assert not intersect(bar, content), f"{what} under the top bar at {width}px: {content}, bar {bar}"
    assert content["y"] >= bar["y"] + bar["height"] - 0.5, (what, width, content, bar)


NAV_PARTS = {
    "brand": "header.topbar .brand",
    "inbox link": "nav.mainnav >> text=Inbox",
    "my work link": "nav.mainnav >> text=My work",
    "recordings link": "nav.mainnav >> text=Recordings",
    "api link": "nav.mainnav >> text=API",
    "name": "header.topbar .whoami",
    "log out": "header.topbar >> role=button[name='Log out']",
}


def test_my_work_page_stays_clear_of_the_top_bar_at_every_width(
    page: Page, live_app: str, login, alice: User, campaign, lunch, artifact_path
):
    login(page, alice)
    page.goto(f"{live_app}/inbox/me/")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        bar = assert_top_bar_fits(page, width, parts=NAV_PARTS)
        assert_below(bar, box_of(page, "main h1"), "the greeting", width)
        assert_below(bar, box_of(page, "main #presence"), "the presence switch", width)
        if width in (1280, 900, 375):
            page.screenshot(path=artifact_path(f"agent_home_{width}.png"), full_page=True)

    # Still a working switch at the narrowest width, and the bar still fits with the new state.
    page.locator("main #presence").get_by_role("button", name="Available").click()
    expect(page.locator("main [data-testid=presence-state]")).to_contain_text("Available")
    assert_top_bar_fits(page, WIDTHS[-1], parts=NAV_PARTS)


A_TIME = re.compile(r"^\d+ (s|min)$")  # e.g. "12 s", "3 min": alice's status changed moments ago


def test_my_work_page_shows_the_time_in_status_and_keeps_it_ticking(
    page: Page, live_app: str, login, alice: User, campaign, lunch, artifact_path
):
    """The counter beside the status used to stay empty outside the inbox (only inbox.js filled it)."""
    login(page, alice)
    page.goto(f"{live_app}/inbox/me/")
    counter = page.locator("main #presence [data-since]")
    expect(counter).to_have_text(A_TIME)
    page.screenshot(path=artifact_path("agent_home_time_in_status.png"))
    shown = counter.inner_text()
    expect(counter).not_to_have_text(shown)  # it ticks (within a few seconds)
    expect(counter).to_have_text(A_TIME)

    # A status change swaps the switch in; the new counter starts again from a few seconds.
    page.locator("main #presence").get_by_role("button", name="Break").click()
    expect(page.locator("main [data-testid=presence-state]")).to_contain_text("Break · Lunch")
    expect(page.locator("main #presence [data-since]")).to_have_text(re.compile(r"^\d s$"))
    page.screenshot(path=artifact_path("agent_home_time_in_status_break.png"))


def test_inbox_status_bar_shares_the_top_bar_with_my_work_at_every_width(
    page: Page, live_app: str, login, alice: User, campaign, lunch, artifact_path
):
    login(page, alice)
    page.goto(f"{live_app}/inbox/")
    parts = {**NAV_PARTS, "status bar": "header.topbar .inbox-presence"}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        bar = assert_top_bar_fits(page, width, parts=parts)
        assert_below(bar, box_of(page, "#inbox .inbox-side"), "the conversation lists", width)
        # Every control of the status bar is on screen (none pushed past the edge and clipped).
        for name in ("Available", "Break", "Offline"):
            button = box_of(page, f"header.topbar .inbox-presence >> role=button[name='{name}']")
            assert button["x"] + button["width"] <= width + 0.5, (width, name, button)
        if width in (1280, 1024, 800, 375):
            page.screenshot(path=artifact_path(f"inbox_top_bar_{width}.png"))

    page.set_viewport_size({"width": 1024, "height": 800})
    page.locator("header.topbar .inbox-presence").get_by_role("button", name="Break").click()
    expect(page.locator("header.topbar [data-testid=presence-state]")).to_contain_text("Break · Lunch")
    assert_top_bar_fits(page, 1024, parts=parts)
