"""Issue 12 (part) in Chromium: each role lands where its day starts after logging in — a supervisor on
the Board, an agent in the Inbox, an admin on Campaigns (where setting up starts)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e
expect.set_options(timeout=10_000)


@pytest.mark.parametrize(
    ("persona", "path", "nav"),
    [("sam", "/monitoring/", "Board"), ("alice", "/inbox/", "Inbox"), ("ada", "/campaigns/", "Campaigns")],
)
def test_each_role_lands_on_its_start_page(
    persona, path, nav, request, new_context, live_app, login, campaign
):
    user = request.getfixturevalue(persona)
    page = new_context().new_page()
    login(page, user)
    page.wait_for_load_state()
    assert page.url == f"{live_app}{path}"
    main = page.get_by_role("navigation", name="Main")
    expect(main.get_by_role("link", name=nav, exact=True)).to_have_attribute("aria-current", "page")
