"""A page whose user loses access leaves for the login page by itself (issue 13, finding 1): the server
closes the socket (4403 when deactivated, 4401 when the session ended) and app.js follows."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from pagedesk.accounts.services import user_update

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)


def open_inbox(new_context, live_app, login, user):  # type: ignore[no-untyped-def]
    page = new_context().new_page()
    login(page, user)
    page.goto(f"{live_app}/inbox/")
    page.wait_for_function("() => document.body.dataset.live === 'on'")
    return page


def test_a_deactivated_agents_open_inbox_goes_to_the_login_page(
    new_context, live_app, login, alice, campaign
):
    page = open_inbox(new_context, live_app, login, alice)
    user_update(user=alice, is_active=False)
    page.wait_for_url(lambda url: "/accounts/login/" in url)
    expect(page.get_by_label("Username")).to_be_visible()


def test_logging_out_in_one_tab_sends_the_other_tab_to_the_login_page(
    new_context, live_app, login, alice, campaign
):
    context = new_context()
    first = context.new_page()
    login(first, alice)
    first.goto(f"{live_app}/inbox/")
    second = context.new_page()
    second.goto(f"{live_app}/inbox/")
    second.wait_for_function("() => document.body.dataset.live === 'on'")
    first.get_by_role("button", name="Log out").click()
    first.wait_for_url(lambda url: "/accounts/login/" in url)
    second.wait_for_url(lambda url: "/accounts/login/" in url)
