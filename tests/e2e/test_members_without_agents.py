"""Issue 12 #12c: on a fresh install (no agents) the Members tab says there are no agents yet and links to
creating one, instead of "Every active agent is already a member"."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from pagedesk.campaigns.services import campaign_create

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)


def test_members_tab_without_agents_links_to_creating_one(live_app, page: Page, login, ada, artifact_path):
    campaign = campaign_create(fields={"name": "First", "page_name": "First page", "timezone": "UTC"})
    login(page, ada)
    page.goto(f"{live_app}/campaigns/{campaign.pk}/members/")
    expect(page.get_by_text("Every active agent is already a member.")).to_be_hidden()
    expect(page.get_by_text("There are no agents yet.")).to_be_visible()
    page.screenshot(path=artifact_path("members-no-agents-1280.png"))
    page.get_by_role("link", name="Create an agent").click()
    expect(page.get_by_role("heading", name="New user")).to_be_visible()
    expect(page.get_by_label("Role")).to_have_value("agent")


def test_members_tab_when_every_agent_is_a_member(live_app, page: Page, login, ada, campaign):
    login(page, ada)
    page.goto(f"{live_app}/campaigns/{campaign.pk}/members/")
    expect(page.get_by_text("Every active agent is already a member.")).to_be_visible()
    expect(page.get_by_text("There are no agents yet.")).to_have_count(0)
