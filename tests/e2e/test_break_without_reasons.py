"""Issue 12 #12b: with no break reasons the agent's Break control is disabled and says why on the page
(a tooltip on a disabled button is invisible to touch and to most screen readers)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from pagedesk.accounts.models import BreakReason

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)

HINT = "No break reasons yet — an administrator adds them under Users › Break reasons"


@pytest.mark.parametrize("where", ["/inbox/me/", "/inbox/"])
def test_break_says_why_it_is_unavailable(live_app, page: Page, login, alice, campaign, artifact_path, where):
    assert not BreakReason.objects.exists()
    login(page, alice)
    page.goto(live_app + where)
    presence = page.locator("#presence")
    expect(presence.get_by_role("button", name="Break")).to_be_disabled()
    expect(presence.get_by_text(HINT)).to_be_visible()
    expect(presence.get_by_role("combobox", name="Break reason")).to_have_count(0)
    name = where.strip("/").replace("/", "-")
    for width in (1280, 1024, 375):
        page.set_viewport_size({"width": width, "height": 800})
        box = None
        for _ in range(50):  # the live page re-renders the control on connect: measure once it is there
            expect(presence.get_by_text(HINT)).to_be_visible()
            box = presence.get_by_text(HINT).bounding_box()
            if box is not None:
                break
            page.wait_for_timeout(100)
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (width, box)
        page.screenshot(path=artifact_path(f"break-hint-{name}-{width}.png"))


def test_with_a_reason_there_is_no_hint(live_app, page: Page, login, alice, lunch):
    login(page, alice)
    page.goto(f"{live_app}/inbox/me/")
    presence = page.locator("#presence")
    expect(presence.get_by_role("button", name="Break")).to_be_enabled()
    expect(presence.get_by_text(HINT)).to_have_count(0)
