"""Issue 12 (part) in Chromium: the board's KPI cards fill every row they take, cards in a row are equally
wide, and no value wraps ("100.0 %", "1:02:05"), on a laptop and on a phone.
Screenshots: tests/artifacts/board-kpis-<width>.png."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from pagedesk.conversations.models import Contact, Conversation, ConversationState
from pagedesk.core import clock

pytestmark = pytest.mark.e2e
expect.set_options(timeout=10_000)

# For each row of cards (grouped by their top edge): how far the last card's right edge stops short of
# the strip's, and the spread of the cards' widths; for each value: whether it takes more than one line
# or is wider than its card.
MEASURE = """() => {
  const strip = document.querySelector('[data-testid=kpi-strip]').getBoundingClientRect();
  const rows = new Map();
  for (const card of document.querySelectorAll('[data-testid=kpi-strip] > .kpi')) {
    const box = card.getBoundingClientRect();
    const top = Math.round(box.top);
    if (!rows.has(top)) rows.set(top, []);
    rows.get(top).push(box);
  }
  const gaps = [], spreads = [];
  for (const boxes of rows.values()) {
    gaps.push(strip.right - Math.max(...boxes.map((b) => b.right)));
    const widths = boxes.map((b) => b.width);
    spreads.push(Math.max(...widths) - Math.min(...widths));
  }
  const wrapped = [];
  for (const value of document.querySelectorAll('[data-testid=kpi-strip] .kpi-value')) {
    const lineHeight = parseFloat(getComputedStyle(value).lineHeight);
    const card = value.closest('.kpi').getBoundingClientRect();
    const box = value.getBoundingClientRect();
    if (box.height > lineHeight * 1.5 || value.scrollWidth > value.clientWidth + 1 || box.right > card.right)
      wrapped.push(value.dataset.kpi + '=' + value.textContent.trim());
  }
  return { rows: rows.size, gaps, spreads, wrapped, stripOverflow: strip.right - document.documentElement.clientWidth };
}"""


def seed_long_figures(campaign, alice) -> None:
    """A day whose figures are as wide as they get: 100.0 % service level, hour-long durations."""
    now = clock.now()
    midnight = dt.datetime.combine(now.astimezone(campaign.tzinfo).date(), dt.time(), tzinfo=campaign.tzinfo)
    start = max(now - dt.timedelta(minutes=70), midnight + dt.timedelta(seconds=1))
    for index in range(3):
        contact = Contact.objects.create(page_id="page-e2e", psid=f"71000000000001{index}", first_name="Dora")
        Conversation.objects.create(
            campaign=campaign,
            contact=contact,
            state=ConversationState.CLOSED,
            agent=alice,
            created_at=start,
            queued_at=start,
            assigned_at=start + dt.timedelta(seconds=10),
            first_response_at=start + dt.timedelta(seconds=20),
            closed_at=now - dt.timedelta(seconds=5),
        )
    waiting = Contact.objects.create(page_id="page-e2e", psid="7100000000000199", first_name="Erik")
    Conversation.objects.create(
        campaign=campaign,
        contact=waiting,
        state=ConversationState.QUEUED,
        created_at=start,
        queued_at=start,
        queue_order=start,
    )


@pytest.mark.parametrize("width", [1280, 1000, 375])
def test_kpi_cards_fill_their_rows_and_values_never_wrap(
    width, new_context, live_app, login, artifact_path, campaign, sam, alice
):
    seed_long_figures(campaign, alice)
    page = new_context().new_page()
    page.set_viewport_size({"width": width, "height": 900})
    login(page, sam)
    page.goto(f"{live_app}/monitoring/campaigns/{campaign.pk}/")
    expect(page.locator("[data-kpi=service_level_pct]")).to_have_text("100.0 %")
    page.screenshot(path=artifact_path(f"board-kpis-{width}.png"), full_page=False)

    layout = page.evaluate(MEASURE)
    assert layout["wrapped"] == [], layout
    assert all(gap <= 1.5 for gap in layout["gaps"]), layout  # every row reaches the strip's right edge
    assert all(spread <= 1.5 for spread in layout["spreads"]), layout  # equal cards within a row
    assert layout["stripOverflow"] <= 0, layout
    if width >= 1280:
        assert layout["rows"] == 1, layout


LONG_REASON = "Training with the quality team (weekly coaching session) ☕"  # 58 of the 60 allowed


def test_a_long_break_reason_keeps_the_board_and_the_top_bar_whole(
    new_context, live_app, login, artifact_path, campaign, alice, bob, sam
):
    """A new team's 60-character break reason pushed Active now, Time in status and Set Offline out of the
    board's agents table at 1280 px, and widened every agent's top bar to two rows."""
    from pagedesk.accounts.models import Presence
    from pagedesk.accounts.services import break_reason_create
    from pagedesk.routing.services import presence_set

    reason = break_reason_create(name=LONG_REASON)
    presence_set(agent=alice, presence=Presence.BREAK, break_reason=reason)
    presence_set(agent=bob, presence=Presence.AVAILABLE)
    board = new_context().new_page()
    login(board, sam)
    board.goto(f"{live_app}/monitoring/")
    table = board.locator("#agents-table")
    expect(table).to_contain_text(LONG_REASON)
    fits = table.evaluate("t => t.scrollWidth <= t.parentElement.clientWidth + 1")
    assert fits, table.evaluate("t => [t.scrollWidth, t.parentElement.clientWidth]")
    for button in board.get_by_role("button", name="Set Offline").all():
        box = None
        for _ in range(50):  # the live board swaps its fragment in on connect: measure once it is there
            expect(button).to_be_visible()
            box = button.bounding_box()
            if box is not None:
                break
            board.wait_for_timeout(100)
        assert box is not None and box["x"] + box["width"] <= 1280, box
    board.screenshot(path=artifact_path("board-long-break-reason.png"))

    inbox = new_context().new_page()
    login(inbox, bob)
    inbox.goto(f"{live_app}/inbox/")
    bar = inbox.locator("header.topbar").bounding_box()
    assert bar is not None and bar["height"] <= 60, bar  # one row
