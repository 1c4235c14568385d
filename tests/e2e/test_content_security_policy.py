"""Issue 13 #7: every page of every role runs under the Content-Security-Policy without a violation.

The policy forbids inline scripts, inline event handlers and style attributes. Before the fix no page
sent a policy; with one, the Facebook pop-up's scripts, the users page's role filter (onchange) and the
cards' style="padding:0" were refused. This walks the phone-layout census (tests/e2e/test_phone_layout.py:
every page each role reaches, in the states the screens there open) at desktop width and fails on any
`securitypolicyviolation` event or console report of one.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, expect

from pagedesk.messenger.models import PageConnection
from tests.e2e import test_facebook_activation as activation
from tests.e2e.test_phone_layout import ADA, ALICE, ANON, SAM, screens_for, seed_day
from tests.integration.messenger.facebook_simulator import DEMO_ADMIN_ID

# The Facebook journey's fixtures (the simulator, a campaign), taken by name so pytest finds them here.
fb = activation.fb
acme = activation.acme

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)

# Runs before any of the page's own scripts, on every document, so a violation during parsing counts.
COLLECT_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.effectiveDirective} refused ${e.blockedURI || "inline"}`
    + (e.sourceFile ? ` (${e.sourceFile.split("/").pop()}:${e.lineNumber})` : "")
    + (e.sample ? ` "${e.sample}"` : ""));
});
"""


def violations(page: Page) -> list[str]:
    return page.evaluate("window.__csp || []")


@pytest.mark.parametrize("role", [ADA, SAM, ALICE, ANON])
def test_no_page_breaks_the_content_security_policy(
    role, page: Page, live_app, login, settings, tmp_path, ada, sam, alice, bob, campaign, artifact_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    seed = seed_day(ada=ada, sam=sam, alice=alice, bob=bob, campaign=campaign)
    page.add_init_script(COLLECT_VIOLATIONS)
    console: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            console.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    if role != ANON:
        login(page, seed.users[role])
    failures: dict[str, list[str]] = {}
    screens = screens_for(role)
    assert screens
    for screen in screens:
        path = reverse(screen.url, kwargs=screen.args(seed)) + screen.query
        response = page.goto(f"{live_app}{path}")
        assert response is not None and response.status == screen.status, (screen.label, path)
        assert "script-src 'self'" in response.headers["content-security-policy"], screen.label
        page.wait_for_load_state("load")
        if screen.then:
            screen.then(page)
        # Late work: htmx swaps and websocket-driven refreshes after load.
        page.wait_for_timeout(300)
        if found := violations(page):
            failures[f"{screen.label} ({path})"] = found
    page.screenshot(path=artifact_path(f"csp-{role}-last.png"))
    assert not failures and not console, (
        f"{role}: Content-Security-Policy violations:\n"
        + "\n".join(f"  {where}: {found}" for where, found in failures.items())
        + "".join(f"\n  console: {line}" for line in console)
    )


def test_the_facebook_pop_up_journey_runs_under_the_policy(
    context: BrowserContext, page: Page, live_app, login, ada, fb, artifact_path, transactional_db
):
    """The new-campaign form pre-opens the pop-up, the campaign page sends it to Facebook, the page
    picker and the "connected" page report back and close it: all scripts that were inline before."""
    context.add_init_script(COLLECT_VIOLATIONS)
    console: list[str] = []
    context.on(
        "console",
        lambda message: console.append(message.text) if "Content Security Policy" in message.text else None,
    )
    login(page, ada)
    page.goto(f"{live_app}/campaigns/new/")
    page.get_by_label("Name", exact=True).fill("Acme Support")
    page.get_by_label("Page name").fill("Acme Support")
    with page.expect_popup() as popup_info:
        page.get_by_role("button", name="Create campaign").click()
    popup = popup_info.value
    popup.get_by_test_id(f"fb-login-user-{DEMO_ADMIN_ID}").click()
    popup.get_by_test_id("fb-continue").click()
    popup.get_by_test_id("fb-done").click()
    popup.get_by_test_id("fb-ok").click()
    expect(popup.get_by_test_id("connect-page")).to_be_visible()
    assert violations(popup) == []
    popup.screenshot(path=artifact_path("csp-facebook-page-picker.png"))
    with popup.expect_event("close", timeout=10_000):
        popup.get_by_test_id("connect-page").click()
    assert PageConnection.objects.get(campaign__name="Acme Support").token_status == "active"
    assert violations(page) == []
    assert console == []


def test_the_users_role_filter_still_applies_on_change(page: Page, live_app, login, ada, alice):
    """It was an inline onchange="this.form.submit()", which the policy refuses; app.js does it now."""
    page.add_init_script(COLLECT_VIOLATIONS)
    login(page, ada)
    page.goto(f"{live_app}/accounts/users/")
    page.get_by_label("Role").select_option("agent")
    expect(page).to_have_url(f"{live_app}/accounts/users/?role=agent")
    expect(page.get_by_role("row").filter(has_text="ada")).to_have_count(0)
    assert violations(page) == []
