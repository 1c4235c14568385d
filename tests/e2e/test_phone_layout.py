"""Issue 12 (#11): every page of every role fits a 375 px phone — nothing wider than the screen.

A new team's first day found the inbox's emoji picker running off the left edge, the supervisor board
about 610 px wide and the inbox header taking ~180 of 812 px. This walks every page each role can reach
(ada admin, sam supervisor, alice agent, and the logged-out pages) with a day's realistic data — long
names and texts, a queue, assignments, canned responses, recordings — in a 375x812 touch viewport, and
asserts the document is no wider than the viewport and no visible element sticks out on either side
(naming the culprits). Screenshots: tests/artifacts/phone/<role>-<screen>.png (the first screen) and …-full.png.

The list is data-driven: `test_every_url_is_checked_or_excluded` walks the URL resolver, so a new URL
fails the suite until it is added to SCREENS or to EXCLUDED with a reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from playwright.sync_api import Browser, Page, expect

from pagedesk.accounts.models import Presence, User
from pagedesk.accounts.services import break_reason_create
from pagedesk.campaigns.models import Campaign, CannedResponse, Holiday, Integration
from pagedesk.campaigns.services import (
    MemberSpec,
    blocked_contact_add,
    campaign_create,
    campaign_set_supervisors,
    disposition_create,
    integration_create,
    integration_token_create,
    membership_set,
)
from pagedesk.conversations.models import (
    Contact,
    Conversation,
    ConversationEvent,
    ConversationState,
    SenderType,
)
from pagedesk.core import clock
from pagedesk.routing.services import presence_set
from tests.conftest import make_user
from tests.fixtures.traffic import build_traffic, message_row

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)

PHONE = {"width": 375, "height": 812}
# The top bar plus the agent's status bar on the inbox: a phone keeps ~90 % of its height for the work.
INBOX_HEADER_MAX = 100
PAGE_ID = "page-phone"

LONG_TEXT = (
    "Hello! I ordered the extra-large waterproof hiking backpack (order 2026-118-44721) three weeks ago "
    "and the tracking page https://tracking.example.com/parcel/NL-8812-4471-0093-2210-XX-PRIORITY-EXPRESS "
    "has said 'in transit' ever since. Could you please check with the courier?"
)
LONG_NAME = ("Maximiliana", "Wolfeschlegelsteinhausen-Bergerdorff")
BOT_NAME = "Northwind order-status bot (production, EU region)"


@dataclass
class Seed:
    campaign: Campaign
    open_conversation: Conversation
    recording: Conversation
    users: dict[str, User]


# --- the screens ---------------------------------------------------------------------------------------


def open_emoji(page: Page) -> None:
    page.get_by_role("button", name="Emoji").click()
    expect(page.locator("#emoji-pop .emoji-grid button").first).to_be_visible()


def open_canned(page: Page) -> None:
    page.get_by_role("button", name="Canned").click()
    expect(page.locator("#canned-pop")).to_be_visible()


def open_pending(page: Page) -> None:
    page.get_by_role("tab", name="Pending").click()
    expect(page.get_by_test_id("pending-list")).to_be_visible()


def open_help(page: Page) -> None:
    page.get_by_role("button", name="Keyboard shortcuts").click()
    expect(page.locator("#help-dialog")).to_be_visible()


def open_close_dialog(page: Page) -> None:
    page.get_by_role("button", name="Close", exact=True).click()
    expect(page.get_by_label("Disposition")).to_be_visible()


def api_docs_drawn(page: Page) -> None:
    # Swagger UI draws the operations from the schema after load; one expanded shows its parameters.
    page.locator(".opblock-summary").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()


def board_live(page: Page) -> None:
    page.wait_for_function("() => document.body.dataset.live === 'on'")


BOARD_PARTS = (".kpi-strip", ".board-agents", ".board-queue")


ADA, SAM, ALICE, ANON = "ada", "sam", "alice", "anonymous"
STAFF = frozenset({ADA, SAM})
EVERYONE = frozenset({ADA, SAM, ALICE})


@dataclass(frozen=True)
class Screen:
    """One page in one state: `url` is a URL name, `args` builds its arguments from the seed."""

    label: str
    url: str
    roles: frozenset[str]
    args: Callable[[Seed], dict[str, Any]] = field(default=lambda seed: {})
    query: str = ""
    status: int = 200
    then: Callable[[Page], None] | None = None
    # Containers that must fit whole, not scroll sideways inside themselves (a supervisor reads the
    # board at a glance; a table to pan across hides the agent's name or status).
    fits: tuple[str, ...] = ()
    # Whether content spilling out of its own box counts (off for a third party's page we don't style).
    check_spills: bool = True


def webhook_seeded(seed: Seed, args: dict[str, Any] | None = None) -> dict[str, Any]:
    """A failing endpoint with a long URL and a log of realistic rows (made once per run)."""
    from pagedesk.platform.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
    from pagedesk.platform.signing import secret_encrypt

    endpoint = WebhookEndpoint.objects.first()
    if endpoint is None:
        now = clock.now()
        endpoint = WebhookEndpoint.objects.create(
            url="https://integrations.example-crm-with-a-long-name.com/api/v2/webhooks/pagedesk/" + "x" * 60,
            description="Customer relationship sync for the Benelux support team",
            secret_encrypted=secret_encrypt("whsec_" + "s" * 40),
            event_types=["message.created", "conversation.assigned", "conversation.closed"],
            failing_since=now - dt.timedelta(hours=3),
            last_error="Could not connect: [Errno 111] Connection refused",
        )
        endpoint.campaigns.set([seed.campaign])
        for index in range(3):
            event = WebhookEvent.objects.create(
                type="message.created",
                campaign_ids=[seed.campaign.pk],
                ordering_key="conversation:1",
                data={},
            )
            WebhookDelivery.objects.create(
                endpoint=endpoint,
                event=event,
                event_type=event.type,
                ordering_key=event.ordering_key,
                state=["delivered", "failed", "cancelled"][index],
                retry_until=now,
                attempts=index + 1,
                last_status_code=[200, 422, None][index],
                last_error=["", "The receiver answered 422.", LONG_TEXT][index],
                last_duration_ms=12.5,
            )
    return {"endpoint_id": endpoint.pk} if args is None else args


def campaign_id(seed: Seed) -> dict[str, Any]:
    return {"campaign_id": seed.campaign.pk}


def integration_id(seed: Seed) -> dict[str, Any]:
    return {"integration_id": Integration.objects.get(name=BOT_NAME).pk}


SCREENS: list[Screen] = [
    Screen("login", "accounts:login", frozenset({ANON})),
    Screen("campaigns", "campaigns:list", STAFF),
    Screen("campaign-new", "campaigns:create", frozenset({ADA})),
    Screen("campaign-settings", "campaigns:edit", frozenset({ADA}), campaign_id),
    Screen("campaign-members", "campaigns:members", frozenset({ADA}), campaign_id),
    Screen("campaign-dispositions", "campaigns:dispositions", frozenset({ADA}), campaign_id),
    Screen("campaign-blocked", "campaigns:blocked", frozenset({ADA}), campaign_id),
    Screen("users", "accounts:user_list", frozenset({ADA})),
    Screen("user-new", "accounts:user_create", frozenset({ADA})),
    Screen(
        "user-edit", "accounts:user_edit", frozenset({ADA}), lambda seed: {"user_id": seed.users[ALICE].pk}
    ),
    Screen("break-reasons", "accounts:break_reasons", frozenset({ADA})),
    Screen("webhooks", "platform:webhook_list", frozenset({ADA}), lambda seed: webhook_seeded(seed, {})),
    Screen("webhook-new", "platform:webhook_create", frozenset({ADA})),
    # The delivery log fits whole: each delivery a block, Answer and Redeliver on screen (issue 15).
    Screen(
        "webhook",
        "platform:webhook_detail",
        frozenset({ADA}),
        lambda seed: webhook_seeded(seed),
        fits=("#webhook-log",),
    ),
    Screen("webhook-edit", "platform:webhook_edit", frozenset({ADA}), lambda seed: webhook_seeded(seed)),
    # A secret's page after it was shown (the once-only state is checked in tests/e2e/test_webhook_admin.py).
    Screen("webhook-secret", "platform:webhook_rotate", frozenset({ADA}), lambda seed: webhook_seeded(seed)),
    Screen("facebook-settings", "facebook:settings", frozenset({ADA})),
    # A token's row fits whole: its prefix on one line, Revoke on screen (issue 15).
    Screen("integrations", "platform:integration_list", frozenset({ADA}), fits=(".integration .table-wrap",)),
    Screen("integration-new", "platform:integration_create", frozenset({ADA})),
    Screen("integration-campaigns", "platform:integration_campaigns", frozenset({ADA}), integration_id),
    # A token's page after it was shown (shown once: tests/e2e/test_integrations.py, at phone width too).
    Screen("integration-token", "platform:integration_token_create", frozenset({ADA}), integration_id),
    Screen("api-tokens", "accounts:api_tokens", EVERYONE, fits=(".table-wrap",)),
    # The activation pop-up's problem page (the page picker needs the Facebook dialog's round trip).
    Screen("facebook-callback", "facebook:callback", frozenset({ADA}), status=403),
    Screen("board", "monitoring:board_all", STAFF, then=board_live, fits=BOARD_PARTS),
    Screen("board-campaign", "monitoring:board", STAFF, campaign_id, then=board_live, fits=BOARD_PARTS),
    Screen("my-work", "inbox:agent_home", EVERYONE),
    Screen("recordings", "recordings:list", EVERYONE),
    Screen("recordings-search", "recordings:list", EVERYONE, query="?q=backpack"),
    Screen(
        "transcript",
        "recordings:transcript",
        EVERYONE,
        lambda seed: {"conversation_id": seed.recording.pk},
    ),
    Screen("inbox", "inbox:inbox", frozenset({ALICE})),
    Screen("inbox-pending", "inbox:inbox", frozenset({ALICE}), then=open_pending),
    Screen("inbox-help", "inbox:inbox", frozenset({ALICE}), then=open_help),
    *[
        Screen(
            label,
            "inbox:conversation",
            frozenset({ALICE}),
            lambda seed: {"conversation_id": seed.open_conversation.pk},
            then=then,
        )
        for label, then in [
            ("conversation", None),
            ("conversation-emoji", open_emoji),
            ("conversation-canned", open_canned),
            ("conversation-close", open_close_dialog),
        ]
    ],
    # Swagger UI's own widgets overlap a little by design; the page must still fit the screen.
    Screen("api-docs", "api:openapi-view", EVERYONE, then=api_docs_drawn, check_spills=False),
    # The refusal pages are pages too.
    Screen("forbidden", "campaigns:list", frozenset({ALICE}), status=403),
    Screen(
        "not-found",
        "recordings:transcript",
        frozenset({ALICE}),
        lambda seed: {"conversation_id": 10**9},
        status=404,
    ),
]

# Every URL name that is not a page, with the reason; `test_every_url_is_checked_or_excluded` keeps
# this and SCREENS together covering the URL conf.
EXCLUDED_NAMESPACES = {
    "admin": "Django's own admin: its own stylesheet, for staff on a desk, not a pagedesk page",
}
EXCLUDED = {
    "home": "redirects to the role's first page (checked)",
    "healthz": "JSON for load balancers",
    "readyz": "JSON for load balancers",
    "metrics": "Prometheus text",
    "set_language": "POST only",
    "accounts:logout": "POST only",
    "facebook:parked_replay": "POST only (redirects to the Facebook settings page, checked)",
    "favicon": "a redirect to the icon file",
    "accounts:agent_home_moved": "a redirect to My work's address in the inbox (checked)",
    "accounts:user_unlock": "POST only (redirects to the users page, checked)",
    "accounts:api_token_revoke": "POST only (redirects to the tokens page, checked)",
    "platform:integration_token_revoke": "POST only (redirects to the integrations page, checked)",
    "platform:integration_revoke": "POST only (redirects to the integrations page, checked)",
    "inbox:presence_set": "POST only (an htmx fragment)",
    "campaigns:table": "htmx fragment of the campaign list (checked)",
    "campaigns:row": "htmx fragment of the campaign list (checked)",
    "campaigns:supervisors": "POST only",
    "campaigns:disposition_rename": "POST only",
    "campaigns:disposition_delete": "POST only",
    "campaigns:blocked_remove": "POST only",
    "inbox:lists": "fragment of the inbox (checked)",
    "inbox:history": "fragment of the inbox's History tab (checked)",
    "inbox:presence": "fragment of the inbox's status bar (checked)",
    "inbox:emoji": "fragment of the emoji picker (checked open)",
    "inbox:attachment": "a file download",
    "inbox:pane": "fragment of the open conversation (checked)",
    "inbox:messages": "fragment of the open conversation (checked)",
    "inbox:message": "fragment of one message (checked in the conversation)",
    "inbox:earlier": "fragment of an earlier conversation (checked in the conversation)",
    "inbox:retry": "POST only",
    "inbox:send": "POST only",
    "inbox:seen": "POST only",
    "inbox:typing": "POST only",
    "inbox:take": "POST only",
    "inbox:close": "POST only",
    "inbox:return": "POST only",
    "inbox:transfer": "POST only",
    "inbox:thread_take": "POST only",
    "inbox:thread_hand_back": "POST only",
    "monitoring:board_all_fragment": "htmx fragment of the board (checked)",
    "monitoring:board_fragment": "htmx fragment of the board (checked)",
    "monitoring:agent_force_offline": "POST only",
    "monitoring:conversation_return": "POST only",
    "recordings:export": "a CSV download",
    "recordings:transcript_body": "fragment of the transcript (checked)",
    "recordings:transcript_download": "a CSV download",
    "recordings:attachment": "a file download",
    "facebook:start": "redirects to Facebook's dialog",
    "facebook:choose_page": "POST only",
    "facebook:check": "POST only",
    "messenger:webhook": "Facebook's webhook, JSON",
    "platform:webhook_log": "fragment of the webhook page's delivery log (checked)",
    "platform:webhook_test": "POST only",
    "platform:webhook_enable": "POST only",
    "platform:webhook_delete": "POST only",
    "platform:webhook_redeliver": "POST only",
}
# The API's pages are JSON, except its docs (a screen above).
API_NAMESPACE = "api"


def url_names(patterns: list[Any] | None = None, namespace: str = "") -> Iterator[tuple[str, str | None]]:
    """(route, namespaced name or None) of every URL pattern under `patterns`."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            for route, name in url_names(entry.url_patterns, inner):
                yield f"{entry.pattern}{route}", name
        elif isinstance(entry, URLPattern):
            yield str(entry.pattern), f"{namespace}{entry.name}" if entry.name else None


def test_every_url_is_checked_or_excluded() -> None:
    checked = {screen.url for screen in SCREENS}
    unclassified = []
    seen = set()
    for route, name in url_names():
        namespace = name.partition(":")[0] if name and ":" in name else ""
        if namespace in EXCLUDED_NAMESPACES or route.startswith("django-admin/"):
            continue
        if namespace == API_NAMESPACE and name not in checked and name not in EXCLUDED:
            continue
        if name is None:
            unclassified.append(f"{route} (unnamed)")
            continue
        seen.add(name)
        if name not in checked and name not in EXCLUDED:
            unclassified.append(f"{route} ({name})")
    assert not unclassified, (
        "URL patterns neither checked at phone width (SCREENS) nor excluded with a reason (EXCLUDED): "
        + ", ".join(unclassified)
    )
    stale = (checked | set(EXCLUDED)) - seen
    assert not stale, f"SCREENS/EXCLUDED name URLs that no longer exist: {sorted(stale)}"


# --- a realistic day -----------------------------------------------------------------------------------


def contact(psid: str, first: str, last: str) -> Contact:
    return Contact.objects.create(page_id=PAGE_ID, psid=psid, first_name=first, last_name=last)


def seed_day(*, ada: User, sam: User, alice: User, bob: User, campaign: Campaign) -> Seed:
    now = clock.now()
    break_reason_create(name="Lunch")
    training = break_reason_create(name="Training with the quality team (weekly coaching session)")
    long_agent = make_user("maximiliana", "agent", last_name="Wolfeschlegelsteinhausen-Bergerdorff")
    campaign.sl_threshold_seconds = 30
    campaign.save(update_fields=["sl_threshold_seconds"])
    membership_set(
        campaign=campaign,
        members=[
            MemberSpec(agent_id=alice.pk),
            MemberSpec(agent_id=bob.pk, penalty=20),
            MemberSpec(agent_id=long_agent.pk, penalty=100),
        ],
    )
    other = campaign_create(
        fields={
            "name": "Northwind Customer Care — Returns & Exchanges (Iberia)",
            "page_name": "Northwind Outdoor Equipment España y Portugal Oficial",
            "timezone": "America/Argentina/Buenos_Aires",
        },
    )
    membership_set(
        campaign=other, members=[MemberSpec(agent_id=alice.pk), MemberSpec(agent_id=long_agent.pk)]
    )
    campaign_set_supervisors(campaign=other, supervisor_ids=[sam.pk])
    Holiday.objects.create(
        campaign=campaign, date=now.date() + dt.timedelta(days=30), name="Company anniversary day off"
    )
    for position, (title, text) in enumerate(
        [
            ("Greeting", "Hi {customer_first_name}, I'm {agent_first_name}. How can I help you today?"),
            ("Where is my parcel — courier delays over the holidays", LONG_TEXT),
            (
                "Refund policy",
                "Refunds reach the original payment method 5–10 business days after we receive the return.",
            ),
        ]
    ):
        CannedResponse.objects.create(campaign=campaign, title=title, text=text, position=position)
    solved = disposition_create(campaign=campaign, name="Solved on first contact")
    disposition_create(campaign=campaign, name="Refund issued to the original payment method", parent=solved)
    disposition_create(campaign=campaign, name="Escalated to the logistics partner's claims department")
    blocked_contact_add(
        campaign=campaign,
        psid="71000000000000000000123456789",
        note="Sent abusive messages and spam links to the page repeatedly over several days; reported to Meta.",
        by=ada,
    )

    # A day of traffic for the board's KPIs and tables, and the recordings list.
    build_traffic(
        campaign=campaign,
        agents=[alice, bob],
        day=now.astimezone(campaign.tzinfo).date(),
        conversations=40,
        now=now - dt.timedelta(minutes=2),
    )
    # Long names and texts where a phone is tightest: the queue, an assignment, the open conversation.
    for index in range(3):
        waiting = contact(
            f"72000000000000{index:02d}", "Bartholomew-Alexander", f"Fitzgerald-Montgomery {index}"
        )
        queued = Conversation.objects.create(
            campaign=campaign,
            contact=waiting,
            state=ConversationState.QUEUED,
            created_at=now - dt.timedelta(minutes=9 - index),
            queued_at=now - dt.timedelta(minutes=9 - index),
            queue_order=now - dt.timedelta(minutes=9 - index),
            last_customer_message_at=now - dt.timedelta(minutes=9 - index),
            last_message_at=now - dt.timedelta(minutes=9 - index),
        )
        message_row(
            queued, LONG_TEXT, sender=SenderType.CUSTOMER, at=queued.queued_at, page_id=PAGE_ID
        ).save()
    start = now - dt.timedelta(minutes=25)
    open_conversation = Conversation.objects.create(
        campaign=campaign,
        contact=contact("7300000000000001", *LONG_NAME),
        state=ConversationState.ASSIGNED,
        agent=alice,
        created_at=start,
        queued_at=start,
        queue_order=start,
        assigned_at=start + dt.timedelta(seconds=20),
        first_response_at=start + dt.timedelta(seconds=45),
        last_customer_message_at=now - dt.timedelta(minutes=1),
        last_message_at=now - dt.timedelta(minutes=1),
    )
    for seconds, sender, text in [
        (0, SenderType.CUSTOMER, LONG_TEXT),
        (45, SenderType.AGENT, "Hi Maximiliana, I'm Alice. Let me look at order 2026-118-44721 for you."),
        (
            120,
            SenderType.AGENT,
            "https://tracking.example.com/parcel/NL-8812-4471-0093-2210-XX-PRIORITY-EXPRESS",
        ),
        (
            24 * 60,
            SenderType.CUSTOMER,
            "Thanks!! 🙏🙏🙏 " + "Sooooooooooooooooooooooooooooooooooooooooooooo kind",
        ),
    ]:
        message_row(
            open_conversation,
            text,
            sender=sender,
            at=start + dt.timedelta(seconds=seconds),
            page_id=PAGE_ID,
            author=alice if sender == SenderType.AGENT else None,
        ).save()

    # An integration with a long name, a token, and a message in the open conversation (its marker).
    bot = integration_create(name=BOT_NAME, campaign_ids=[campaign.pk], created_by=ada)
    integration_token_create(integration=bot, name="production-eu-west-1-primary")
    message_row(
        open_conversation,
        "Your order 2026-118-44721 is out for delivery today.",
        sender=SenderType.INTEGRATION,
        at=start + dt.timedelta(seconds=150),
        page_id=PAGE_ID,
        author=bot.user,
    ).save()

    # A closed conversation to read in recordings, with its timeline.
    start = now - dt.timedelta(hours=3)
    recording = Conversation.objects.create(
        campaign=campaign,
        contact=contact("7300000000000002", "Dora-Elisabeth", "Lindqvist-Johannesdottir"),
        state=ConversationState.CLOSED,
        agent=alice,
        created_at=start,
        queued_at=start,
        assigned_at=start + dt.timedelta(seconds=25),
        first_response_at=start + dt.timedelta(seconds=40),
        closed_at=start + dt.timedelta(minutes=7),
        disposition=solved,
    )
    for seconds, sender, text in [
        (0, SenderType.CUSTOMER, LONG_TEXT),
        (40, SenderType.AGENT, "Hi Dora, I'm Alice. The courier has your backpack; it arrives tomorrow."),
        (150, SenderType.CUSTOMER, "Great, thank you!"),
    ]:
        message_row(
            recording,
            text,
            sender=sender,
            at=start + dt.timedelta(seconds=seconds),
            page_id=PAGE_ID,
            author=alice if sender == SenderType.AGENT else None,
        ).save()
    for seconds, kind, data in [
        (0, "queued", {"reason": "new"}),
        (25, "assigned", {"agent_id": alice.pk, "how": "routed"}),
        # A transfer note as long as the box allows, with no space in it (a pasted id, a URL).
        (60, "transferred", {"from_agent_id": bob.pk, "to_agent_id": alice.pk, "note": "N" * 1000}),
        (420, "closed", {}),
    ]:
        ConversationEvent.objects.create(
            conversation=recording,
            kind=kind,
            at=start + dt.timedelta(seconds=seconds),
            actor=alice if kind == "closed" else None,
            data=data,
        )

    presence_set(agent=alice, presence=Presence.AVAILABLE)
    presence_set(agent=bob, presence=Presence.BREAK, break_reason=training)
    presence_set(agent=long_agent, presence=Presence.AVAILABLE)
    return Seed(
        campaign=campaign,
        open_conversation=open_conversation,
        recording=recording,
        users={ADA: ada, SAM: sam, ALICE: alice},
    )


# --- the check -----------------------------------------------------------------------------------------

# Elements whose visible part lies outside the screen (a table scrolled inside its own container is
# fine; the page scrolling sideways or zooming out is not), and content spilling out of its own box.
OVERFLOW_JS = """
(checkSpills) => {
  // The layout viewport: a phone browser zooms out to show a page wider than the screen, and then
  // innerWidth (the visual viewport) grows with it; clientWidth stays the device's width.
  const vw = document.documentElement.clientWidth;
  const culprits = [];
  const flagged = new Set();
  const spills = [];
  const clipOf = (el) => {
    let left = -Infinity, right = Infinity;
    for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      const style = getComputedStyle(a);
      // A scroll container may hold what sticks out (the user can scroll to it), and so may a line cut
      // short with an ellipsis on purpose. What any other hidden overflow cuts off at the screen's edge
      // is lost: the inbox clips its body, which hid the emoji picker's left part.
      const scrolls = style.overflowX === 'auto' || style.overflowX === 'scroll';
      const ellipsis = style.overflowX !== 'visible' && style.textOverflow === 'ellipsis';
      if (scrolls || ellipsis) {
        const r = a.getBoundingClientRect();
        left = Math.max(left, r.left); right = Math.min(right, r.right);
      }
      if (style.position === 'fixed') break;
    }
    return [left, right];
  };
  const describe = (el) => {
    let d = el.tagName.toLowerCase();
    if (el.id) d += '#' + el.id;
    if (el.classList.length) d += '.' + [...el.classList].join('.');
    const text = (el.innerText || el.value || '').trim().replace(/\\s+/g, ' ').slice(0, 40);
    return text ? `${d} "${text}"` : d;
  };
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1) continue;              // visually-hidden labels, empty boxes
    if (el.closest('.skip-link:not(:focus)')) continue;       // off-screen until focused, on purpose
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || el.closest('[hidden], dialog:not([open])')) continue;
    // A closed <details> keeps its content's boxes (content-visibility: hidden) but paints none of it.
    const closed = el.closest('details:not([open])');
    if (closed && closed !== el && !el.closest('summary')) continue;
    const [clipLeft, clipRight] = clipOf(el);
    const left = Math.max(r.left, clipLeft), right = Math.min(r.right, clipRight);
    if (right - left <= 1) continue;                          // scrolled out of its container
    // Content spilling out of its own box onto its neighbours (a long name under the next field).
    if (checkSpills && style.overflowX === 'visible' && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 2
        && !flagged.has(el.parentElement) && style.display !== 'inline') {
      spills.push(`${describe(el)} holds ${el.scrollWidth} px in ${el.clientWidth} px`);
    }
    if (right > vw + 0.5 || left < -0.5) {
      flagged.add(el);
      // The outermost culprit names the fix; its descendants only stick out with it.
      if (!flagged.has(el.parentElement)) {
        culprits.push(`${describe(el)} [${Math.round(left)}..${Math.round(right)}]`);
      }
    }
  }
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    culprits,
    spills,
  };
}
"""


FITS_JS = """
(selectors) => selectors.flatMap((selector) => [...document.querySelectorAll(selector)]
  .filter((el) => el.scrollWidth > el.clientWidth + 1)
  .map((el) => `${selector} scrolls sideways: ${el.scrollWidth} px of content in ${el.clientWidth} px`))
"""


def overflow_problems(page: Page, screen: Screen) -> list[str]:
    fits = screen.fits
    found = page.evaluate(OVERFLOW_JS, screen.check_spills)
    problems: list[str] = page.evaluate(FITS_JS, list(fits)) if fits else []
    for selector in fits:
        if page.locator(selector).count() == 0:
            problems.append(f"{selector} is not on the page")
    if found["scrollWidth"] > PHONE["width"] or found["innerWidth"] > PHONE["width"]:
        problems.append(
            f"document is {found['scrollWidth']} px wide on a {PHONE['width']} px screen"
            f" (the browser zoomed out to {found['innerWidth']} px)"
        )
    problems += found["culprits"][:8]
    if len(found["culprits"]) > 8:
        problems.append(f"… and {len(found['culprits']) - 8} more elements")
    problems += found["spills"][:8]
    return problems


def screens_for(role: str) -> list[Screen]:
    return [screen for screen in SCREENS if role in screen.roles]


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    # Its own context: the session's browser_context_args fix a desktop viewport.
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2, locale="en-US"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.mark.parametrize("role", [ADA, SAM, ALICE, ANON])
def test_every_page_fits_a_phone(
    role, phone, live_app, login, artifact_path, settings, tmp_path, ada, sam, alice, bob, campaign
):
    settings.MEDIA_ROOT = tmp_path / "media"
    seed = seed_day(ada=ada, sam=sam, alice=alice, bob=bob, campaign=campaign)
    page = phone
    visited: set[str] = set()
    if role != ANON:
        login(page, seed.users[role])
        # Every page the role's menu offers is among its screens.
        nav = page.eval_on_selector_all(".mainnav a", "links => links.map(a => new URL(a.href).pathname)")
        mine = {reverse(screen.url, kwargs=screen.args(seed)) for screen in screens_for(role)}
        assert set(nav) <= mine, f"{role}'s menu links to pages this test does not check: {set(nav) - mine}"

    failures: dict[str, list[str]] = {}
    for screen in screens_for(role):
        path = reverse(screen.url, kwargs=screen.args(seed)) + screen.query
        response = page.goto(f"{live_app}{path}")
        assert response is not None and response.status == screen.status, (screen.label, path, response)
        page.wait_for_load_state("load")
        if screen.then:
            screen.then(page)
        visited.add(screen.label)
        problems = overflow_problems(page, screen)
        # The inbox's own page keeps its header short; "My work" (also the inbox app's) is an ordinary page.
        if screen.url.startswith("inbox:") and screen.url != "inbox:agent_home":
            header = page.evaluate(
                "(() => { const r = document.querySelector('header.topbar').getBoundingClientRect();"
                " return r.bottom; })()"
            )
            if header > INBOX_HEADER_MAX:
                problems.append(f"the inbox header takes {round(header)} of {PHONE['height']} px")
        # What the phone shows first, and the whole page.
        page.screenshot(path=artifact_path(f"phone/{role}-{screen.label}.png"))
        page.screenshot(path=artifact_path(f"phone/{role}-{screen.label}-full.png"), full_page=True)
        if problems:
            failures[f"{screen.label} ({path})"] = problems
    assert visited
    assert not failures, f"{role} at {PHONE['width']} px:\n" + "\n".join(
        f"  {where}:\n    " + "\n    ".join(problems) for where, problems in failures.items()
    )
