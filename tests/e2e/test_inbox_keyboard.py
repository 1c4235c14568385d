"""The inbox's keyboard shortcuts (its help dialog lists them) and the pickers' keys, walked end to end.

Written against the one-file inbox script before it was split into ES modules, and kept so the split
(and any later change) keeps every key doing what it did: Alt+↑/↓ between conversations, ← → between the
list tabs, ? for help outside the reply box, "/" canned responses with ↑ ↓ Enter, the canned search box,
Alt+E and Enter in the emoji picker, Esc back to the reply box, and the mute button remembered.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import test_agent_inbox
from tests.e2e.test_agent_inbox import agent_page, seed_inbox, wait_live

# seed_inbox's attachments are saved under a temporary MEDIA_ROOT; the fixture is taken by name.
media = test_agent_inbox.media

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)


def open_id(page: Page) -> str:
    return page.locator("#pane-root").get_attribute("data-conversation-id") or ""


def test_the_inbox_keys_and_pickers(new_context, live_app, login, media, alice, bob, campaign):
    seed_inbox(campaign, alice)
    page = agent_page(new_context, live_app, login, alice)
    wait_live(page)
    items = page.get_by_test_id("active-list").locator("li[data-conversation-id]")
    expect(items).to_have_count(3)
    ids = [items.nth(i).get_attribute("data-conversation-id") for i in range(3)]

    # Alt+↓ with nothing open opens the first conversation; Alt+↓/↑ step through the list, and stop at its ends.
    page.keyboard.press("Alt+ArrowDown")
    expect(page).to_have_url(re.compile(rf"/inbox/{ids[0]}/$"))
    box = page.locator("#composer-text")
    expect(box).to_be_focused()
    page.keyboard.press("Alt+ArrowDown")
    expect(page).to_have_url(re.compile(rf"/inbox/{ids[1]}/$"))
    page.keyboard.press("Alt+ArrowDown")
    expect(page).to_have_url(re.compile(rf"/inbox/{ids[2]}/$"))
    # At the end it opens the last one again. Waited for: each pane is shown when its answer comes, so
    # after a quick ↓ then ↑ the page could end on either.
    with page.expect_response(lambda response: response.url.endswith(f"/inbox/{ids[2]}/pane/")):
        page.keyboard.press("Alt+ArrowDown")
    page.keyboard.press("Alt+ArrowUp")
    expect(page).to_have_url(re.compile(rf"/inbox/{ids[1]}/$"))
    page.keyboard.press("Alt+ArrowUp")
    expect(page).to_have_url(re.compile(rf"/inbox/{ids[0]}/$"))
    assert open_id(page) == ids[0]
    # Back and forward follow the conversations opened.
    page.go_back()
    expect(page).to_have_url(re.compile(rf"/inbox/{ids[1]}/$"))
    expect(page.locator("#pane-root")).to_have_attribute("data-conversation-id", ids[1])
    page.go_forward()
    expect(page.locator("#pane-root")).to_have_attribute("data-conversation-id", ids[0])

    # ? in the reply box is a question mark; outside it, the help.
    box.focus()
    page.keyboard.press("?")
    expect(box).to_have_value("?")
    expect(page.locator("#help-dialog")).not_to_be_visible()
    box.fill("")
    page.get_by_role("tab", name=re.compile("Active")).focus()
    page.keyboard.press("?")
    expect(page.locator("#help-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#help-dialog")).not_to_be_visible()

    # ← → move between the tabs and wrap around.
    page.get_by_role("tab", name=re.compile("Active")).focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name=re.compile("Pending"))).to_be_focused()
    expect(page.get_by_role("tab", name=re.compile("Pending"))).to_have_attribute("aria-selected", "true")
    expect(page.locator("#panel-pending")).to_be_visible()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="History")).to_be_focused()
    expect(page.locator("#panel-history")).to_be_visible()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name=re.compile("Active"))).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_role("tab", name="History")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#panel-active")).to_be_visible()

    # "/" opens the canned responses on the first; ↓ ↑ move (and wrap), Enter inserts in place of "/".
    canned = page.locator("#canned-pop")
    chosen = canned.locator('.canned-item[aria-selected="true"]')
    box.focus()
    page.keyboard.type("/")
    expect(canned).to_be_visible()
    expect(page.get_by_role("button", name="Canned")).to_have_attribute("aria-expanded", "true")
    expect(chosen).to_contain_text("Greeting")
    page.keyboard.press("ArrowDown")
    expect(chosen).to_contain_text("Goodbye")
    page.keyboard.press("ArrowDown")
    expect(chosen).to_contain_text("Greeting")
    page.keyboard.press("ArrowUp")
    expect(chosen).to_contain_text("Goodbye")
    page.keyboard.press("Enter")
    expect(canned).to_be_hidden()
    expect(box).to_have_value("Have a great day!")
    expect(box).to_be_focused()
    # A second line closes a picker "/" opened.
    box.fill("")
    page.keyboard.type("/")
    expect(canned).to_be_visible()
    page.keyboard.press("Shift+Enter")
    expect(canned).to_be_hidden()
    expect(box).to_have_value("/\n")
    box.fill("")

    # The Canned button: its search box takes the keys; Enter inserts at the cursor.
    page.keyboard.type("Thanks. ")
    page.get_by_role("button", name="Canned").click()
    expect(page.locator("#canned-search")).to_be_focused()
    page.keyboard.type("day")
    expect(canned.locator(".canned-item:visible")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(box).to_have_value("Thanks. Have a great day!")
    # Clicking the button again, or Esc, closes the picker and gives the reply box its focus back.
    page.get_by_role("button", name="Canned").click()
    expect(canned).to_be_visible()
    page.get_by_role("button", name="Canned").click()
    expect(canned).to_be_hidden()
    expect(box).to_be_focused()
    page.get_by_role("button", name="Canned").click()
    page.keyboard.press("Escape")
    expect(canned).to_be_hidden()
    expect(box).to_be_focused()

    # Alt+E opens the emoji picker; Enter in its search inserts the first one shown and closes it.
    page.keyboard.press("End")
    page.keyboard.press("Alt+e")
    emoji = page.locator("#emoji-pop")
    expect(emoji).to_be_visible()
    expect(page.locator("#emoji-search")).to_be_focused()
    page.keyboard.type("thumbs up")
    expect(emoji.locator(".emoji-none")).to_be_hidden()
    page.keyboard.press("Enter")
    expect(emoji).to_be_hidden()
    expect(box).to_have_value("Thanks. Have a great day!👍")
    page.keyboard.press("Alt+e")
    page.keyboard.type("no such emoji at all")
    expect(emoji.locator(".emoji-none")).to_be_visible()
    page.keyboard.press("Escape")
    expect(emoji).to_be_hidden()
    expect(box).to_be_focused()
    # A click outside a picker closes it.
    page.get_by_role("button", name="Emoji").click()
    expect(emoji).to_be_visible()
    page.get_by_test_id("pane-title").click()
    expect(emoji).to_be_hidden()

    # The mute button: pressed, and still pressed after a reload.
    mute = page.get_by_role("button", name="Mute the new-message sound")
    expect(mute).to_have_attribute("aria-pressed", "false")
    mute.click()
    expect(mute).to_have_attribute("aria-pressed", "true")
    expect(mute.locator('[data-mute-icon="off"]')).to_be_visible()
    page.reload()
    wait_live(page)
    expect(mute).to_have_attribute("aria-pressed", "true")
    # The draft came back with the reload, and Enter in it still sends.
    expect(box).to_have_value("Thanks. Have a great day!👍")
    box.press("Enter")
    expect(box).to_have_value("")
    expect(page.get_by_test_id("messages").get_by_text("Thanks. Have a great day!👍")).to_be_visible()
