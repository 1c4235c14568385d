"""Issue 12 #12a: the Facebook settings page (webhook URL, verify token, redirect URI) is linked from where
an administrator looks — the admin nav and a campaign's activation area — not only reachable by URL."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)


def test_admin_reaches_facebook_settings_from_the_nav(live_app, page: Page, login, ada, artifact_path):
    login(page, ada)
    page.goto(f"{live_app}/campaigns/")
    page.locator("nav.mainnav").get_by_role("link", name="Facebook").click()
    expect(page.get_by_role("heading", name="Facebook settings")).to_be_visible()
    expect(page.locator("nav.mainnav").get_by_role("link", name="Facebook")).to_have_attribute(
        "aria-current", "page"
    )
    for width in (1280, 1024, 375):
        page.set_viewport_size({"width": width, "height": 800})
        link = page.locator("nav.mainnav").get_by_role("link", name="Facebook").bounding_box()
        assert link is not None and link["x"] + link["width"] <= width, (width, link)
        page.screenshot(path=artifact_path(f"facebook-nav-{width}.png"))


def test_the_campaign_activation_area_links_to_facebook_settings(live_app, page: Page, login, ada, campaign):
    login(page, ada)
    page.goto(f"{live_app}/campaigns/{campaign.pk}/")
    expect(page.get_by_test_id("activate-facebook")).to_be_visible()
    page.locator(".page-head").get_by_role("link", name="Facebook settings").click()
    expect(page.get_by_role("heading", name="Facebook settings")).to_be_visible()


def test_supervisors_get_no_facebook_link(live_app, page: Page, login, sam, campaign):
    login(page, sam)
    page.goto(f"{live_app}/campaigns/")
    expect(page.locator("nav.mainnav").get_by_role("link", name="Campaigns")).to_be_visible()
    expect(page.get_by_role("link", name="Facebook")).to_have_count(0)
