"""Issue 3's "Done when": ada creates a campaign with two ranges, canned responses and both agents as members."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from pagedesk.accounts.models import User
from pagedesk.campaigns.models import Campaign

pytestmark = pytest.mark.e2e


def fill_range(page: Page, index: int, *, days: list[str], start: str, end: str) -> None:
    row = page.locator(".range-row").nth(index)
    for day in ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]:
        box = row.get_by_label(day, exact=True)
        box.set_checked(day in days)
    row.get_by_label("From").fill(start)
    row.get_by_label("To", exact=True).fill(end)


def screenshot_whole_page(page: Page, path: str) -> None:
    """The whole page at once: a tall viewport instead of full_page, so sticky bars stay in place."""
    height = page.evaluate("document.documentElement.scrollHeight")
    size = page.viewport_size or {"width": 1280, "height": 900}
    page.set_viewport_size({"width": size["width"], "height": height})
    page.screenshot(path=path)
    page.set_viewport_size(size)


def start_new_campaign(page: Page, live_app: str, name: str) -> None:
    page.goto(f"{live_app}/campaigns/")
    page.get_by_role("link", name="New campaign").click()
    expect(page.get_by_role("heading", name="New campaign")).to_be_visible()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Page name").fill("Acme Billing")


def test_admin_creates_a_campaign_and_sees_it_in_the_table(
    page: Page, live_app: str, login, artifact_path, ada: User, alice: User, bob: User
):
    login(page, ada)
    start_new_campaign(page, live_app, "Billing")
    page.get_by_role("radio", name=re.compile("Round robin with memory")).check()
    page.get_by_label("Time zone").fill("Europe/Madrid")

    # The default range is Mon–Fri 09:00–18:00; split it into a morning and an afternoon.
    expect(page.locator(".range-row")).to_have_count(1)
    expect(page.locator(".range-row").first.get_by_label("From")).to_have_value("09:00")
    fill_range(page, 0, days=["Mon", "Tue", "Wed", "Thu", "Fri"], start="09:00", end="13:00")
    page.get_by_role("button", name="Add a range").click()
    expect(page.locator(".range-row")).to_have_count(2)
    fill_range(page, 1, days=["Mon", "Tue", "Wed", "Thu", "Fri"], start="14:00", end="18:00")

    # Two canned responses, entered in the wrong order and then moved with the keyboard-usable buttons.
    page.get_by_role("button", name="Add a response").click()
    first = page.locator(".canned-row").nth(0)
    first.get_by_label("Title").fill("Goodbye")
    first.get_by_label("Text").fill("Thanks for writing, {customer_first_name}!")
    page.get_by_role("button", name="Add a response").click()
    second = page.locator(".canned-row").nth(1)
    second.get_by_label("Title").fill("Greeting")
    second.get_by_label("Text").fill("Hi {customer_first_name}, I'm {agent_first_name}. How can I help?")
    second.get_by_role("button", name="Move this response up").click()
    expect(page.locator(".canned-row").nth(0).get_by_label("Title")).to_have_value("Greeting")

    screenshot_whole_page(page, artifact_path("campaign_form.png"))
    page.get_by_role("button", name="Create campaign").click()

    # Saved whole; the members page is next.
    expect(page.get_by_text("Campaign “Billing” created.")).to_be_visible()
    expect(page.get_by_role("link", name="Members")).to_have_attribute("aria-current", "page")
    page.get_by_label("Available agents").select_option(label=["Alice", "Bob"])
    page.get_by_role("button", name="Add").click()
    members = page.locator(".member-row")
    expect(members).to_have_count(2)
    members.nth(1).get_by_label("Penalty").fill("10")
    page.screenshot(path=artifact_path("campaign_members.png"))
    page.get_by_role("button", name="Save members").click()
    expect(page.get_by_text("Members of “Billing” saved.")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    row = page.locator("#campaign-table tbody tr", has_text="Billing")
    expect(row).to_contain_text("Acme Billing")
    expect(row).to_contain_text("Round robin with memory")
    expect(row).to_contain_text("Enabled")
    expect(row.locator("td.num").first).to_have_text("2")
    expect(row.get_by_test_id("token-status")).to_have_attribute("data-status", "unknown")
    # The table listens for live campaign events over the websocket.
    page.wait_for_function("() => document.body.dataset.live === 'on'", timeout=5000)
    row.get_by_role("button", name="Refresh the token status of Billing").click()
    expect(page.locator("#campaign-table tbody tr", has_text="Billing")).to_contain_text("Not activated")
    page.screenshot(path=artifact_path("campaign_list.png"))

    campaign = Campaign.objects.get(name="Billing")
    assert campaign.strategy == "rrmemory"
    assert campaign.timezone == "Europe/Madrid"
    assert [(r.weekdays, r.start_minute, r.end_minute) for r in campaign.schedule_ranges.all()] == [
        (0b0011111, 9 * 60, 13 * 60),
        (0b0011111, 14 * 60, 18 * 60),
    ]
    assert [c.title for c in campaign.canned_responses.all()] == ["Greeting", "Goodbye"]
    assert [(m.agent.username, m.penalty) for m in campaign.memberships.select_related("agent")] == [
        ("alice", 0),
        ("bob", 10),
    ]


def test_overlapping_ranges_are_refused_in_the_browser(
    page: Page, live_app: str, login, artifact_path, ada: User
):
    login(page, ada)
    start_new_campaign(page, live_app, "Overlap")
    fill_range(page, 0, days=["Mon", "Tue", "Wed", "Thu", "Fri"], start="09:00", end="13:00")
    page.get_by_role("button", name="Add a range").click()
    fill_range(page, 1, days=["Fri", "Sat"], start="12:00", end="18:00")
    page.get_by_role("button", name="Create campaign").click()

    errors = page.locator("#schedule-errors")
    expect(errors).to_have_text("Ranges 1 and 2 overlap on Fri.")
    expect(page.get_by_text("Nothing was saved.")).to_be_visible()
    # The admin's rows are shown again, as typed.
    expect(page.locator(".range-row")).to_have_count(2)
    expect(page.locator(".range-row").nth(1).get_by_label("From")).to_have_value("12:00")
    expect(page.locator(".range-row").nth(1).get_by_label("Sat", exact=True)).to_be_checked()
    errors.scroll_into_view_if_needed()
    page.screenshot(path=artifact_path("campaign_form_overlap.png"))
    assert not Campaign.objects.filter(name="Overlap").exists()

    # Removing the second range with its "−" button fixes it.
    page.locator(".range-row").nth(1).get_by_role("button", name="Remove this range").click()
    expect(page.locator(".range-row")).to_have_count(1)
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_text("Campaign “Overlap” created.")).to_be_visible()
    assert Campaign.objects.get(name="Overlap").schedule_ranges.count() == 1


def test_dispositions_and_blocked_contacts(
    page: Page, live_app: str, login, artifact_path, ada: User, campaign: Campaign
):
    login(page, ada)
    page.goto(f"{live_app}/campaigns/{campaign.pk}/")
    page.get_by_role("navigation", name="Campaign sections").get_by_role("link", name="Dispositions").click()
    page.get_by_label("New category").fill("Solved")
    page.get_by_role("button", name="Add category").click()
    page.get_by_label("New category").fill("Not solved")
    page.get_by_role("button", name="Add category").click()
    page.get_by_label("New sub-disposition of Solved").fill("Refund")
    page.get_by_label("New sub-disposition of Solved").press("Enter")
    page.get_by_label("New sub-disposition of Solved").fill("refund")
    page.get_by_label("New sub-disposition of Solved").press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("“refund” already exists at this level.")
    page.screenshot(path=artifact_path("campaign_dispositions.png"))
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete Not solved").click()
    expect(page.get_by_text("Disposition “Not solved” deleted.")).to_be_visible()
    assert [d.name for d in campaign.dispositions.order_by("id")] == ["Solved", "Refund"]

    page.get_by_role("link", name="Blocked contacts").click()
    page.get_by_label("PSID").fill("not-a-psid")
    page.get_by_role("button", name="Block", exact=True).click()
    expect(page.get_by_text("digits only")).to_be_visible()
    page.get_by_label("PSID").fill("24681357")
    page.get_by_label("Note").fill("Abusive language")
    page.get_by_role("button", name="Block", exact=True).click()
    expect(page.get_by_role("cell", name="24681357", exact=True)).to_be_visible()
    page.screenshot(path=artifact_path("campaign_blocked.png"))
    assert list(campaign.blocked_contacts.values_list("psid", flat=True)) == ["24681357"]


def test_table_follows_changes_made_elsewhere_live(
    page: Page, new_context, live_app: str, login, ada: User, sam: User, campaign: Campaign
):
    # sam watches the table; ada disables the campaign in another browser; sam's row updates by itself.
    login(page, sam)
    page.goto(f"{live_app}/campaigns/")
    row = page.locator("#campaign-table tbody tr", has_text="Acme Support")
    expect(row).to_contain_text("Enabled")
    expect(row.get_by_role("link")).to_have_count(0)  # read-only for a supervisor
    page.wait_for_function("() => document.body.dataset.live === 'on'", timeout=5000)

    admin = new_context().new_page()
    login(admin, ada)
    admin.goto(f"{live_app}/campaigns/{campaign.pk}/")
    admin.get_by_label("Enabled", exact=True).uncheck()
    admin.get_by_role("button", name="Save").click()
    expect(admin.get_by_text("Campaign “Acme Support” saved.")).to_be_visible()

    expect(page.locator("#campaign-table tbody tr", has_text="Acme Support")).to_contain_text("Disabled")
