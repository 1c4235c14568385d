"""Issue 12 #8: an account locked out by wrong passwords can be let back in by an administrator.

Before the fix the lock-out page told bob to ask for a password reset, and after ada reset it bob still got
the 429 page: the lock-out lives in django-axes' attempts, which nothing but the cool-off cleared.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from pagedesk.accounts.models import User

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)

NEW_PASSWORD = "a-fresh-Passphrase-for-bob"


def fail_until_locked(page: Page, live_app: str, user: User) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        page.goto(f"{live_app}/accounts/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill("not-the-password")
        page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Too many failed log-ins")).to_be_visible()


def try_login(page: Page, live_app: str, user: User, password: str) -> int:
    page.goto(f"{live_app}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    with page.expect_response(lambda r: r.request.method == "POST" and "/accounts/login/" in r.url) as info:
        page.get_by_role("button", name="Log in").click()
    return info.value.status


def test_the_locked_out_page_says_what_helps(live_app, page: Page, bob, artifact_path):
    fail_until_locked(page, live_app, bob)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("unlock")
    expect(alert).to_contain_text(f"{settings.AXES_COOLOFF_TIME * 60:.0f} minutes")
    page.screenshot(path=artifact_path("lockout-page.png"))


def test_an_admin_unlocks_a_locked_account_from_the_users_page(
    live_app, new_context, login, ada, bob, alice, artifact_path
):
    from tests.conftest import PASSWORD

    bob_page = new_context().new_page()
    fail_until_locked(bob_page, live_app, bob)

    admin_page = new_context().new_page()
    login(admin_page, ada)
    admin_page.goto(f"{live_app}/accounts/users/")
    bob_row = admin_page.get_by_role("row").filter(has_text="Bob")
    alice_row = admin_page.get_by_role("row").filter(has_text="Alice")
    expect(bob_row.get_by_text("Locked")).to_be_visible()
    expect(alice_row.get_by_text("Locked")).to_have_count(0)
    expect(alice_row.get_by_role("button", name="Unlock")).to_have_count(0)
    admin_page.screenshot(path=artifact_path("users-locked-1280.png"), full_page=True)
    admin_page.set_viewport_size({"width": 375, "height": 800})
    # The table scrolls inside its card; the page itself must not grow wider than the phone.
    assert admin_page.evaluate("document.documentElement.scrollWidth") <= 375
    admin_page.screenshot(path=artifact_path("users-locked-375.png"), full_page=True)
    admin_page.set_viewport_size({"width": 1280, "height": 900})

    bob_row.get_by_role("button", name="Unlock").click()
    expect(admin_page.get_by_role("status")).to_contain_text("unlocked")
    expect(admin_page.get_by_role("row").filter(has_text="Bob").get_by_text("Locked")).to_have_count(0)

    assert try_login(bob_page, live_app, bob, PASSWORD) == 302
    expect(bob_page).not_to_have_url(f"{live_app}/accounts/login/")


def test_a_password_reset_by_an_admin_lifts_the_lock_out(live_app, new_context, login, ada, bob):
    bob_page = new_context().new_page()
    fail_until_locked(bob_page, live_app, bob)

    admin_page = new_context().new_page()
    login(admin_page, ada)
    admin_page.goto(f"{live_app}/accounts/users/{bob.pk}/")
    admin_page.get_by_label("New password").fill(NEW_PASSWORD)
    admin_page.get_by_role("button", name="Save").click()
    expect(admin_page.get_by_role("status")).to_contain_text("saved")

    assert try_login(bob_page, live_app, bob, NEW_PASSWORD) == 302
