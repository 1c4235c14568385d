"""The campaign administration pages, through Django's test client: saving, refusing bad input, roles."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from pagedesk.accounts.models import User
from pagedesk.campaigns.models import (
    BlockedContact,
    Campaign,
    CannedResponse,
    Disposition,
    Holiday,
    Membership,
    ScheduleRange,
)
from pagedesk.campaigns.services import blocked_contact_add, disposition_create
from pagedesk.messenger.models import PageConnection, TokenStatus

pytestmark = pytest.mark.django_db


def campaign_post(**overrides: object) -> dict[str, object]:
    """A complete, valid create/edit POST: two ranges, a holiday, two canned responses."""
    data: dict[str, object] = {
        "name": "Billing",
        "page_name": "Acme Billing",
        "enabled": "on",
        "strategy": "linear",
        "timezone": "Europe/Madrid",
        "service_level_target": "80",
        "sl_threshold_seconds": "60",
        "dropout_threshold_seconds": "600",
        "chat_time_threshold_seconds": "900",
        "acd_threshold": "5",
        "max_interactions_per_agent": "3",
        "wrap_up_seconds": "30",
        "transfer_timeout_seconds": "0",
        "after_hours_message": "We are closed.",
        "range-0-day": ["0", "1", "2", "3", "4"],
        "range-0-start": "09:00",
        "range-0-end": "13:00",
        "range-1-day": ["0", "1", "2", "3", "4"],
        "range-1-start": "14:00",
        "range-1-end": "18:00",
        "holiday-0-date": "2026-12-25",
        "holiday-0-name": "Christmas",
        "canned-0-title": "Hello",
        "canned-0-text": "Hi {customer_first_name}, I'm {agent_first_name}.",
        "canned-1-title": "Bye",
        "canned-1-text": "Have a nice day!",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def counts() -> tuple[int, ...]:
    return (
        Campaign.objects.count(),
        ScheduleRange.objects.count(),
        Holiday.objects.count(),
        CannedResponse.objects.count(),
        PageConnection.objects.count(),
    )


def test_the_form_offers_every_campaign_field():
    from pagedesk.campaigns.forms import CampaignForm
    from pagedesk.campaigns.services import CAMPAIGN_FIELDS

    assert set(CampaignForm.base_fields) == set(CAMPAIGN_FIELDS)


# --- Create -------------------------------------------------------------------------------------------


def test_new_form_offers_every_section_and_the_default_schedule(client_for, ada: User):
    response = client_for(ada).get(reverse("campaigns:create"))
    assert response.status_code == 200
    html = response.content.decode()
    for heading in ("General", "Routing", "Thresholds", "Schedule", "Canned responses"):
        assert heading in html
    # Default: one range, Mon–Fri 09:00–18:00.
    assert 'name="range-0-start" value="09:00"' in html
    assert 'name="range-0-end" value="18:00"' in html
    assert 'name="range-1-start"' not in html
    assert html.count('name="range-0-day" value="4" checked') == 1
    assert 'name="range-0-day" value="5" checked' not in html
    # Strategy descriptions are the help, every strategy is offered, and time zones are searchable.
    assert "the first agent to click Take gets it" in html
    assert html.count('name="strategy"') == 6
    assert 'list="timezone-names"' in html and '<option value="Europe/Madrid">' in html
    assert "{customer_first_name}" in html and "{agent_first_name}" in html


def test_admin_creates_a_campaign_with_everything_in_one_save(client_for, ada: User):
    response = client_for(ada).post(reverse("campaigns:create"), campaign_post())
    campaign = Campaign.objects.get(name="Billing")
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:members", args=[campaign.pk])
    assert campaign.strategy == "linear"
    assert campaign.wrap_up_seconds == 30
    assert [(r.weekdays, r.start_minute, r.end_minute) for r in campaign.schedule_ranges.all()] == [
        (0b0011111, 540, 780),
        (0b0011111, 840, 1080),
    ]
    assert [(h.date, h.name) for h in campaign.holidays.all()] == [(dt.date(2026, 12, 25), "Christmas")]
    assert [c.title for c in campaign.canned_responses.all()] == ["Hello", "Bye"]
    assert campaign.page_connection.token_status == TokenStatus.UNKNOWN


def test_canned_responses_are_saved_in_the_posted_order(client_for, ada: User):
    # app.js renumbers rows in page order after "move up"; the server follows the numbers.
    data = campaign_post(
        **{
            "canned-0-title": "Bye",
            "canned-0-text": "Later!",
            "canned-1-title": "Hello",
            "canned-1-text": "Hi",
        }
    )
    client_for(ada).post(reverse("campaigns:create"), data)
    assert list(CannedResponse.objects.values_list("title", flat=True)) == ["Bye", "Hello"]


def test_rows_left_completely_empty_are_ignored(client_for, ada: User):
    data = campaign_post(
        **{
            "range-2-start": "",
            "range-2-end": "",
            "holiday-1-date": "",
            "holiday-1-name": "",
            "canned-2-title": "",
        }
    )
    response = client_for(ada).post(reverse("campaigns:create"), data)
    assert response.status_code == 302
    assert counts() == (1, 2, 1, 2, 1)


BAD_INPUT = [
    pytest.param(
        {"service_level_target": "101"}, "service_level_target", "less than or equal to 100", id="sl-101"
    ),
    pytest.param(
        {"max_interactions_per_agent": "0"},
        "max_interactions_per_agent",
        "greater than or equal to 1",
        id="max-0",
    ),
    pytest.param({"wrap_up_seconds": "ten"}, "wrap_up_seconds", "Enter a whole number", id="wrap-up-text"),
    pytest.param({"strategy": "roulette"}, "strategy", "Select a valid choice", id="unknown-strategy"),
    pytest.param({"name": "x" * 101}, "name", "at most 100 characters", id="oversize-name"),
    pytest.param(
        {"after_hours_message": "x" * 2001}, "after_hours_message", "at most 2000", id="oversize-message"
    ),
    pytest.param({"timezone": "Mars/Olympus"}, "timezone", "is not a known time zone", id="bad-timezone"),
    pytest.param({"name": ""}, "name", "This field is required", id="missing-name"),
    pytest.param({"acd_threshold": "-1"}, "acd_threshold", "greater than or equal to 1", id="acd-negative"),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_INPUT)
def test_bad_field_is_refused_beside_the_field_and_nothing_is_written(
    client_for, ada: User, overrides: dict[str, str], field: str, message: str
):
    response = client_for(ada).post(reverse("campaigns:create"), campaign_post(**overrides))
    assert response.status_code == 422
    form = response.context["form"]
    assert message in " ".join(form.errors[field])
    assert counts() == (0, 0, 0, 0, 0)
    # What the admin typed comes back, including the rows.
    html = response.content.decode()
    assert 'name="range-1-start" value="14:00"' in html
    assert "Have a nice day!" in html


SCHEDULE_ERRORS = [
    pytest.param(
        {"range-1-start": "12:00"}, "Ranges 1 and 2 overlap on Mon, Tue, Wed, Thu, Fri.", id="overlap"
    ),
    pytest.param(
        {"range-1-start": "18:00", "range-1-end": "14:00"},
        "Range 2: “To” (14:00) must be later than “From” (18:00).",
        id="inverted",
    ),
    pytest.param(
        {"range-0-start": "9h"}, "Range 1: “9h” is not a time in 24-hour HH:MM format.", id="bad-hhmm"
    ),
    pytest.param(
        {"range-0-end": "25:00"}, "Range 1: “25:00” is not a time in 24-hour HH:MM format.", id="hour-25"
    ),
    pytest.param(
        {"range-0-start": "24:00"},
        "Range 1: “24:00” is not a time in 24-hour HH:MM format.",
        id="24-as-start",
    ),
    pytest.param({"range-1-day": None}, "Range 2: choose at least one weekday.", id="no-weekday"),
]


@pytest.mark.parametrize(("overrides", "message"), SCHEDULE_ERRORS)
def test_bad_schedule_is_refused_above_the_schedule_and_rows_are_kept(
    client_for, ada: User, overrides: dict[str, str], message: str
):
    response = client_for(ada).post(reverse("campaigns:create"), campaign_post(**overrides))
    assert response.status_code == 422
    assert message in response.context["editor"].section_errors["schedule"]
    html = response.content.decode()
    assert 'id="schedule-errors"' in html
    assert html.index('id="schedule-errors"') < html.index('name="range-0-start"')
    assert 'name="range-1-end"' in html  # the admin's rows are re-displayed
    assert counts() == (0, 0, 0, 0, 0)


def test_24_00_is_allowed_as_end_time(client_for, ada: User):
    data = campaign_post(**{"range-1-end": "24:00"})
    assert client_for(ada).post(reverse("campaigns:create"), data).status_code == 302
    assert ScheduleRange.objects.order_by("position").last().end_minute == 1440  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"canned-1-text": ""}, "Response 2: give it both a title and a text."),
        ({"canned-0-title": "t" * 101}, "Response 1: the title is limited to 100 characters."),
        ({"canned-0-text": "t" * 2001}, "Response 1: the text is limited to 2,000 characters."),
    ],
)
def test_bad_canned_response_is_refused(client_for, ada: User, overrides: dict[str, str], message: str):
    response = client_for(ada).post(reverse("campaigns:create"), campaign_post(**overrides))
    assert response.status_code == 422
    assert message in response.context["editor"].section_errors["canned_responses"]
    assert counts() == (0, 0, 0, 0, 0)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"holiday-0-date": "25/12/2026"}, "Closed date 1: “25/12/2026” is not a date (YYYY-MM-DD)."),
        ({"holiday-1-date": "2026-12-25"}, "2026-12-25 is listed twice as a closed date."),
    ],
)
def test_bad_holiday_is_refused(client_for, ada: User, overrides: dict[str, str], message: str):
    response = client_for(ada).post(reverse("campaigns:create"), campaign_post(**overrides))
    assert response.status_code == 422
    assert message in response.context["editor"].section_errors["holidays"]
    assert counts() == (0, 0, 0, 0, 0)


def test_duplicate_name_is_an_error_on_the_name_field(client_for, ada: User, campaign: Campaign):
    before = counts()
    response = client_for(ada).post(reverse("campaigns:create"), campaign_post(name="acme support"))
    assert response.status_code == 422
    assert response.context["form"].errors["name"] == ["A campaign named “acme support” already exists."]
    assert counts() == before


# --- Edit ---------------------------------------------------------------------------------------------


def test_edit_form_shows_the_stored_rows(client_for, ada: User, campaign: Campaign):
    response = client_for(ada).get(reverse("campaigns:edit", args=[campaign.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="range-0-start" value="00:00"' in html and 'name="range-0-end" value="24:00"' in html
    assert 'value="Acme Support"' in html
    assert 'aria-current="page">Settings' in html


def test_edit_replaces_rows_in_one_save(client_for, ada: User, campaign: Campaign):
    response = client_for(ada).post(
        reverse("campaigns:edit", args=[campaign.pk]), campaign_post(name="Acme Support")
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.strategy == "linear"
    assert campaign.schedule_ranges.count() == 2
    assert campaign.canned_responses.count() == 2


def test_failed_edit_writes_nothing(client_for, ada: User, campaign: Campaign):
    stored = [(r.weekdays, r.start_minute, r.end_minute) for r in campaign.schedule_ranges.all()]
    data = campaign_post(name="Renamed", strategy="fewest", **{"range-1-start": "10:00"})
    response = client_for(ada).post(reverse("campaigns:edit", args=[campaign.pk]), data)
    assert response.status_code == 422
    campaign.refresh_from_db()
    assert (campaign.name, campaign.strategy) == ("Acme Support", "ringall")
    assert [(r.weekdays, r.start_minute, r.end_minute) for r in campaign.schedule_ranges.all()] == stored
    assert campaign.canned_responses.count() == 0
    # The page title keeps the stored name; the field keeps what was typed.
    html = response.content.decode()
    assert "<h1>Acme Support</h1>" in html and 'value="Renamed"' in html


def test_service_refusal_inside_the_transaction_rolls_everything_back(
    client_for, ada: User, campaign: Campaign
):
    # Canned responses are checked by the service after the campaign row and ranges were written.
    other = Campaign.objects.create(name="Other", page_name="Other")
    data = campaign_post(name="Acme Support", **{"canned-1-title": "Bye", "canned-1-text": "   "})
    response = client_for(ada).post(reverse("campaigns:edit", args=[campaign.pk]), data)
    assert response.status_code == 422
    campaign.refresh_from_db()
    assert campaign.strategy == "ringall"
    assert other.name == "Other"


def test_duplicate_name_on_edit(client_for, ada: User, campaign: Campaign):
    Campaign.objects.create(name="Sales", page_name="Sales")
    response = client_for(ada).post(
        reverse("campaigns:edit", args=[campaign.pk]), campaign_post(name="SALES")
    )
    assert response.status_code == 422
    assert "already exists" in response.context["form"].errors["name"][0]
    campaign.refresh_from_db()
    assert campaign.name == "Acme Support"


def test_disabling_keeps_every_row(client_for, ada: User, campaign: Campaign):
    disposition_create(campaign=campaign, name="Solved")
    blocked_contact_add(campaign=campaign, psid="123")
    data = campaign_post(name="Acme Support", enabled=None)
    assert client_for(ada).post(reverse("campaigns:edit", args=[campaign.pk]), data).status_code == 302
    campaign.refresh_from_db()
    assert campaign.enabled is False
    assert campaign.memberships.count() == 2
    assert campaign.dispositions.count() == 1
    assert campaign.blocked_contacts.count() == 1
    assert campaign.supervisors.count() == 1


# --- Table --------------------------------------------------------------------------------------------


def test_table_lists_campaigns_with_state_members_and_token(client_for, ada: User, campaign: Campaign):
    response = client_for(ada).get(reverse("campaigns:list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Acme Support" in html and "Ring all" in html
    assert "Within schedule" in html  # the fixture campaign is open around the clock
    assert '<td class="num">2</td>' in html
    assert 'data-refresh-on="campaign.changed campaign.token_status_changed"' in html
    assert 'hx-trigger="refresh"' in html
    assert reverse("campaigns:create") in html
    assert reverse("campaigns:edit", args=[campaign.pk]) in html


def test_out_of_schedule_campaign_shows_so(client_for, ada: User):
    from pagedesk.campaigns.services import campaign_create

    campaign_create(fields={"name": "Never", "page_name": "Never"}, ranges=[])
    html = client_for(ada).get(reverse("campaigns:list")).content.decode()
    assert "Out of schedule" in html


@pytest.mark.parametrize(
    ("status", "css", "label"),
    [
        (TokenStatus.ACTIVE, "token-active", "Active"),
        (TokenStatus.INVALID, "token-invalid", "Invalid"),
        (TokenStatus.UNKNOWN, "token-unknown", "Not activated"),
    ],
)
def test_token_badge_colour_follows_the_page_connection(
    client_for, ada: User, campaign: Campaign, status: str, css: str, label: str
):
    PageConnection.objects.filter(campaign=campaign).update(token_status=status)
    html = client_for(ada).get(reverse("campaigns:list")).content.decode()
    assert f'class="token {css}"' in html
    assert f'<span class="token-label">{label}</span>' in html


def test_refresh_button_checks_the_token_then_re_reads_the_row(client_for, ada: User, campaign: Campaign):
    client = client_for(ada)
    html = client.get(reverse("campaigns:list")).content.decode()
    # The check itself is tested with the simulator in tests/integration/messenger/test_token_health_checks.py.
    assert f'hx-post="{reverse("facebook:check", args=[campaign.pk])}"' in html
    PageConnection.objects.filter(campaign=campaign).update(
        token_status=TokenStatus.INVALID, token_invalid_reason="Revoked by the page admin"
    )
    row = client.get(reverse("campaigns:row", args=[campaign.pk])).content.decode()
    assert row.strip().startswith(f'<tr id="campaign-row-{campaign.pk}"')
    assert 'class="token token-invalid"' in row and 'title="Revoked by the page admin"' in row


def test_table_fragment_returns_the_table_contents(client_for, ada: User, campaign: Campaign):
    html = client_for(ada).get(reverse("campaigns:table")).content.decode()
    assert "<thead>" in html and "Acme Support" in html and "<html" not in html


def test_table_escapes_campaign_names(client_for, ada: User):
    from pagedesk.campaigns.services import campaign_create

    campaign_create(fields={"name": "<script>alert(1)</script>", "page_name": "<b>x</b>"})
    html = client_for(ada).get(reverse("campaigns:list")).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- Roles --------------------------------------------------------------------------------------------


def test_supervisor_sees_only_supervised_campaigns_read_only(client_for, sam: User, campaign: Campaign):
    from pagedesk.campaigns.services import campaign_create

    campaign_create(fields={"name": "Not Sams", "page_name": "Other"})
    response = client_for(sam).get(reverse("campaigns:list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Acme Support" in html and "Not Sams" not in html
    assert f'href="{reverse("campaigns:edit", args=[campaign.pk])}"' not in html
    assert reverse("campaigns:create") not in html
    assert ">Edit<" not in html
    # The row refresh works for them too.
    assert client_for(sam).get(reverse("campaigns:row", args=[campaign.pk])).status_code == 200


def admin_urls(campaign: Campaign) -> list[str]:
    return [
        reverse("campaigns:create"),
        reverse("campaigns:edit", args=[campaign.pk]),
        reverse("campaigns:members", args=[campaign.pk]),
        reverse("campaigns:dispositions", args=[campaign.pk]),
        reverse("campaigns:blocked", args=[campaign.pk]),
    ]


def test_supervisor_gets_403_on_every_edit_page(client_for, sam: User, campaign: Campaign):
    client = client_for(sam)
    for url in admin_urls(campaign):
        assert client.get(url).status_code == 403, url
    before = counts()
    assert client.post(reverse("campaigns:create"), campaign_post()).status_code == 403
    assert client.post(reverse("campaigns:edit", args=[campaign.pk]), campaign_post()).status_code == 403
    assert counts() == before
    campaign.refresh_from_db()
    assert campaign.strategy == "ringall"


def test_supervisor_gets_403_on_row_of_a_campaign_they_do_not_supervise(client_for, sam: User):
    from pagedesk.campaigns.services import campaign_create

    other = campaign_create(fields={"name": "Other", "page_name": "Other"})
    assert client_for(sam).get(reverse("campaigns:row", args=[other.pk])).status_code == 403


def test_agent_gets_403_everywhere(client_for, alice: User, campaign: Campaign):
    client = client_for(alice)
    urls = [
        reverse("campaigns:list"),
        reverse("campaigns:table"),
        reverse("campaigns:row", args=[campaign.pk]),
    ]
    for url in [*urls, *admin_urls(campaign)]:
        assert client.get(url).status_code == 403, url


def test_anonymous_is_sent_to_login(client, campaign: Campaign):
    for url in [reverse("campaigns:list"), *admin_urls(campaign)]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_unknown_campaign_is_404_for_admin(client_for, ada: User):
    assert client_for(ada).get(reverse("campaigns:edit", args=[9999])).status_code == 404


# --- Members ------------------------------------------------------------------------------------------


@pytest.fixture
def carol(db) -> User:
    from tests.conftest import make_user

    return make_user("carol", "agent")


def test_members_page_is_a_dual_list(client_for, ada: User, campaign: Campaign, carol: User):
    html = client_for(ada).get(reverse("campaigns:members", args=[campaign.pk])).content.decode()
    available = html[html.index('id="available-agents"') : html.index("</select>")]
    assert "Carol" in available and "Alice" not in available
    first = campaign.memberships.order_by("position").first()
    assert first is not None
    assert f'name="penalty-{first.agent_id}"' in html
    assert 'aria-current="page">Members' in html


def test_members_saved_in_order_with_penalties(client_for, ada: User, campaign: Campaign, carol, alice, bob):
    data = {"member": [str(carol.pk), str(alice.pk)], f"penalty-{carol.pk}": "10", f"penalty-{alice.pk}": "0"}
    response = client_for(ada).post(reverse("campaigns:members", args=[campaign.pk]), data)
    assert response.status_code == 302
    rows = list(
        Membership.objects.filter(campaign=campaign).order_by("position").values_list("agent_id", "penalty")
    )
    assert rows == [(carol.pk, 10), (alice.pk, 0)]


@pytest.mark.parametrize("penalty", ["101", "-1", "lots"])
def test_bad_penalty_is_refused_and_nothing_changes(
    client_for, ada: User, campaign: Campaign, carol, penalty
):
    before = list(Membership.objects.filter(campaign=campaign).values_list("agent_id", "penalty", "position"))
    data = {"member": [str(carol.pk)], f"penalty-{carol.pk}": penalty}
    response = client_for(ada).post(reverse("campaigns:members", args=[campaign.pk]), data)
    assert response.status_code == 422
    assert "Penalty for Carol" in response.content.decode()
    assert (
        list(Membership.objects.filter(campaign=campaign).values_list("agent_id", "penalty", "position"))
        == before
    )
    # The entered list is shown again (carol is a member row, not in the available list).
    assert (
        f'name="penalty-{carol.pk}" min="0" max="100" step="1" value="{penalty}"' in response.content.decode()
    )


def test_non_agent_member_is_refused(client_for, ada: User, sam: User, campaign: Campaign):
    data = {"member": [str(sam.pk)], f"penalty-{sam.pk}": "0"}
    response = client_for(ada).post(reverse("campaigns:members", args=[campaign.pk]), data)
    assert response.status_code == 422
    assert "Sam is not an agent; only agents can be members." in response.content.decode()
    assert campaign.memberships.count() == 2


def test_removing_every_member(client_for, ada: User, campaign: Campaign):
    response = client_for(ada).post(reverse("campaigns:members", args=[campaign.pk]), {})
    assert response.status_code == 302
    assert campaign.memberships.count() == 0


def test_supervisors_picker(client_for, ada: User, sam: User, campaign: Campaign):
    from tests.conftest import make_user

    sue = make_user("sue", "supervisor")
    client = client_for(ada)
    assert "Sue" in client.get(reverse("campaigns:members", args=[campaign.pk])).content.decode()
    response = client.post(
        reverse("campaigns:supervisors", args=[campaign.pk]), {"supervisors": [str(sue.pk)]}
    )
    assert response.status_code == 302
    assert list(campaign.supervisors.all()) == [sue]
    response = client.post(
        reverse("campaigns:supervisors", args=[campaign.pk]), {"supervisors": [str(ada.pk)]}
    )
    assert response.status_code == 422
    assert list(campaign.supervisors.all()) == [sue]


# --- Dispositions -------------------------------------------------------------------------------------


def test_dispositions_add_rename_delete(client_for, ada: User, campaign: Campaign):
    client = client_for(ada)
    url = reverse("campaigns:dispositions", args=[campaign.pk])
    assert client.post(url, {"name": "Solved"}).status_code == 302
    solved = Disposition.objects.get(name="Solved")
    assert client.post(url, {"name": "Refund", "parent": str(solved.pk)}).status_code == 302
    refund = Disposition.objects.get(name="Refund")
    assert refund.parent_id == solved.pk
    html = client.get(url).content.decode()
    assert "Solved" in html and "Refund" in html

    rename = reverse("campaigns:disposition_rename", args=[campaign.pk, refund.pk])
    assert client.post(rename, {"name": "Refunded"}).status_code == 302
    refund.refresh_from_db()
    assert refund.name == "Refunded"

    delete = reverse("campaigns:disposition_delete", args=[campaign.pk, solved.pk])
    assert client.post(delete).status_code == 302
    assert not Disposition.objects.exists()


def test_disposition_errors(client_for, ada: User, campaign: Campaign):
    client = client_for(ada)
    url = reverse("campaigns:dispositions", args=[campaign.pk])
    solved = disposition_create(campaign=campaign, name="Solved")
    refund = disposition_create(campaign=campaign, name="Refund", parent=solved)

    response = client.post(url, {"name": "solved"})
    assert response.status_code == 422
    assert "“solved” already exists at this level." in response.content.decode()

    response = client.post(url, {"name": "Deeper", "parent": str(refund.pk)})
    assert response.status_code == 422
    assert "Dispositions have two levels" in response.content.decode()

    response = client.post(url, {"name": "x" * 101})
    assert response.status_code == 422

    other = Campaign.objects.create(name="Other", page_name="Other")
    foreign = disposition_create(campaign=other, name="Theirs")
    response = client.post(url, {"name": "Mine", "parent": str(foreign.pk)})
    assert response.status_code == 422
    assert Disposition.objects.filter(campaign=campaign).count() == 2

    rename = reverse("campaigns:disposition_rename", args=[campaign.pk, refund.pk])
    response = client.post(rename, {"name": ""})
    assert response.status_code == 422
    refund.refresh_from_db()
    assert refund.name == "Refund"
    # Another campaign's disposition is not reachable through this one.
    assert (
        client.post(reverse("campaigns:disposition_delete", args=[campaign.pk, foreign.pk])).status_code
        == 404
    )


# --- Blocked contacts ---------------------------------------------------------------------------------


def test_block_and_unblock(client_for, ada: User, campaign: Campaign):
    client = client_for(ada)
    url = reverse("campaigns:blocked", args=[campaign.pk])
    assert client.post(url, {"psid": "1234567890", "note": "Spam"}).status_code == 302
    blocked = BlockedContact.objects.get()
    assert (blocked.psid, blocked.note, blocked.created_by) == ("1234567890", "Spam", ada)
    assert "1234567890" in client.get(url).content.decode()
    assert client.post(reverse("campaigns:blocked_remove", args=[campaign.pk, blocked.pk])).status_code == 302
    assert not BlockedContact.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"psid": "abc"}, "digits only"),
        ({"psid": ""}, "This field is required"),
        ({"psid": "1" * 65}, "at most 64 characters"),
        ({"psid": "123", "note": "n" * 301}, "at most 300 characters"),
    ],
)
def test_block_refuses_bad_input(client_for, ada: User, campaign: Campaign, data, message):
    response = client_for(ada).post(reverse("campaigns:blocked", args=[campaign.pk]), data)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not BlockedContact.objects.exists()


def test_block_twice_is_refused(client_for, ada: User, campaign: Campaign):
    blocked_contact_add(campaign=campaign, psid="123")
    response = client_for(ada).post(reverse("campaigns:blocked", args=[campaign.pk]), {"psid": "123"})
    assert response.status_code == 422
    assert "That PSID is already blocked in this campaign." in response.content.decode()


def test_a_disposition_a_conversation_was_closed_with_is_kept(
    client_for, ada: User, campaign: Campaign, alice
):
    """Deleting one cleared every closed conversation's disposition (SET_NULL): the transcript said
    "No disposition" and the CSV lost it. It is refused while used, on the page and in the API."""
    from pagedesk.conversations.models import Conversation
    from tests.integration.inbox.conftest import make_contact, make_conversation

    solved = disposition_create(campaign=campaign, name="Solved")
    refund = disposition_create(campaign=campaign, name="Refund", parent=solved)
    spare = disposition_create(campaign=campaign, name="Spare")
    conversation = make_conversation(campaign, contact=make_contact(first_name="Carla"), agent=alice)
    Conversation.objects.filter(pk=conversation.pk).update(state="closed", disposition=refund)
    client = client_for(ada)
    for used in (refund, solved):  # the leaf, and its category (which would take the leaf with it)
        answer = client.post(
            reverse("campaigns:disposition_delete", args=[campaign.pk, used.pk]), follow=True
        )
        assert "is the disposition of 1 conversation" in answer.content.decode()
    assert Conversation.objects.get(pk=conversation.pk).disposition_id == refund.pk
    response = client.delete(
        f"/api/v1/campaigns/{campaign.pk}/dispositions/{refund.pk}",
        HTTP_AUTHORIZATION=f"Bearer {_token(ada)}",
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "disposition_in_use"
    # An unused one still goes.
    client.post(reverse("campaigns:disposition_delete", args=[campaign.pk, spare.pk]))
    assert not Disposition.objects.filter(pk=spare.pk).exists()


def _token(user: User) -> str:
    from pagedesk.accounts.services import api_token_create

    return api_token_create(user=user, name="test")[1]


def test_blocked_contacts_show_since_in_the_campaigns_time_zone(client_for, ada: User, campaign: Campaign):
    """The Since column was UTC in the server's short format; everything else shows the campaign's zone."""
    import datetime as dt

    from pagedesk.campaigns.models import BlockedContact
    from pagedesk.campaigns.services import blocked_contact_add

    blocked = blocked_contact_add(campaign=campaign, psid="7000000000000009", note="spam", by=ada)
    BlockedContact.objects.filter(pk=blocked.pk).update(
        created_at=dt.datetime(2026, 12, 7, 7, 31, tzinfo=dt.UTC)
    )
    html = client_for(ada).get(reverse("campaigns:blocked", args=[campaign.pk])).content.decode()
    assert "7 Dec 2026, 08:31" in html  # Europe/Madrid, UTC+1 in December


def test_a_canned_response_with_an_unknown_placeholder_is_refused(campaign: Campaign):
    """ "Hi {customer_name}" reached the customer as typed: only the placeholders the inbox fills are taken."""
    from pagedesk.campaigns.services import canned_response_create
    from pagedesk.core.errors import ApplicationError

    with pytest.raises(ApplicationError) as refused:
        canned_response_create(
            campaign=campaign, title="Hi", text="Hi {customer_name}, I'm {agent_first_name}."
        )
    assert refused.value.code == "unknown_placeholder"
    assert "{customer_name}" in refused.value.message and "{customer_first_name}" in refused.value.message
    canned_response_create(campaign=campaign, title="Hi", text="Hi {customer_first_name} :-{ {} {1}")
