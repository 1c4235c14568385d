from __future__ import annotations

import datetime as dt

import pytest

from pagedesk.campaigns import schedule
from pagedesk.campaigns.models import Campaign, CannedResponse, Holiday, ScheduleRange
from pagedesk.campaigns.selectors import campaign_get_for_user, campaign_is_open, campaign_list_for_user
from pagedesk.campaigns.services import (
    CannedSpec,
    HolidaySpec,
    MemberSpec,
    blocked_contact_add,
    campaign_create,
    campaign_update,
    canned_response_create,
    canned_response_delete,
    canned_response_reorder,
    disposition_create,
    membership_set,
    membership_update,
)
from pagedesk.core.errors import ApplicationError, PermissionDenied
from pagedesk.messenger.models import TokenStatus

pytestmark = pytest.mark.django_db

OFFICE = schedule.Range(schedule.DEFAULT_WEEKDAYS, 9 * 60, 18 * 60)


def test_new_campaign_gets_the_default_schedule_and_an_unactivated_page():
    campaign = campaign_create(fields={"name": "Help", "page_name": "Help Page"})
    [rng] = campaign.schedule_ranges.all()
    assert (rng.weekdays, rng.start_minute, rng.end_minute) == (0b0011111, 540, 1080)
    assert campaign.page_connection.token_status == TokenStatus.UNKNOWN


def test_campaign_saved_whole_with_ranges_holidays_and_canned_responses():
    campaign = campaign_create(
        fields={"name": "Help", "page_name": "Help Page", "timezone": "America/Bogota"},
        ranges=[schedule.Range(0b11111, 540, 780), schedule.Range(0b11111, 840, 1080)],
        holidays=[HolidaySpec(dt.date(2026, 12, 25), "Christmas")],
        canned_responses=[CannedSpec("Hi", "Hi {customer_first_name}"), CannedSpec("Bye", "Bye!")],
    )
    assert campaign.schedule_ranges.count() == 2
    assert list(campaign.canned_responses.values_list("title", flat=True)) == ["Hi", "Bye"]
    assert campaign.holidays.get().name == "Christmas"


@pytest.mark.parametrize(
    ("fields", "kwargs", "code"),
    [
        ({"service_level_target": 101}, {}, "invalid"),
        ({"max_interactions_per_agent": 0}, {}, "invalid"),
        ({"strategy": "random"}, {}, "invalid"),
        ({"timezone": "Mars/Olympus"}, {}, "invalid"),
        ({"after_hours_message": "x" * 2001}, {}, "invalid"),
        ({"colour": "blue"}, {}, "unknown_field"),
        ({}, {"ranges": [OFFICE, schedule.Range(0b1, 600, 700)]}, "invalid_schedule"),
        ({}, {"ranges": [schedule.Range(0b1, 700, 600)]}, "invalid_schedule"),
        ({}, {"canned_responses": [CannedSpec("", "text")]}, "invalid_canned_response"),
        ({}, {"canned_responses": [CannedSpec("t", "x" * 2001)]}, "too_long"),
        (
            {},
            {"holidays": [HolidaySpec(dt.date(2026, 1, 1)), HolidaySpec(dt.date(2026, 1, 1))]},
            "duplicate_holiday",
        ),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(fields, kwargs, code):
    with pytest.raises(ApplicationError) as refused:
        campaign_create(fields={"name": "Help", "page_name": "Help Page", **fields}, **kwargs)
    assert refused.value.code == code
    assert not Campaign.objects.exists()
    assert not ScheduleRange.objects.exists()
    assert not CannedResponse.objects.exists()


def test_failed_update_keeps_the_old_configuration():
    campaign = campaign_create(
        fields={"name": "Help", "page_name": "Help Page"},
        holidays=[HolidaySpec(dt.date(2026, 12, 25))],
        canned_responses=[CannedSpec("Hi", "Hello")],
    )
    with pytest.raises(ApplicationError):
        campaign_update(
            campaign=campaign,
            fields={"page_name": "Changed"},
            ranges=[OFFICE, OFFICE],
            holidays=[],
            canned_responses=[],
        )
    campaign = Campaign.objects.get(pk=campaign.pk)
    assert campaign.page_name == "Help Page"
    assert campaign.schedule_ranges.count() == 1
    assert Holiday.objects.count() == 1
    assert CannedResponse.objects.count() == 1


def test_names_are_unique_ignoring_case():
    campaign_create(fields={"name": "Help", "page_name": "P"})
    with pytest.raises(ApplicationError) as refused:
        campaign_create(fields={"name": " help ", "page_name": "P"})
    assert (refused.value.code, refused.value.status, refused.value.field) == ("duplicate_name", 409, "name")


def test_disabling_keeps_all_data(campaign, alice):
    canned_response_create(campaign=campaign, title="Hi", text="Hello")
    disposition_create(campaign=campaign, name="Solved")
    blocked_contact_add(campaign=campaign, psid="123", note="spam")
    campaign_update(campaign=campaign, fields={"enabled": False})
    campaign.refresh_from_db()
    assert campaign.enabled is False
    assert campaign.memberships.count() == 2
    assert campaign.canned_responses.count() == 1
    assert campaign.dispositions.count() == 1
    assert campaign.blocked_contacts.count() == 1


def test_only_agents_can_be_members(campaign, sam, alice, bob):
    with pytest.raises(ApplicationError) as refused:
        membership_set(campaign=campaign, members=[MemberSpec(alice.pk), MemberSpec(sam.pk)])
    assert refused.value.code == "not_an_agent"
    with pytest.raises(ApplicationError):
        membership_set(campaign=campaign, members=[MemberSpec(alice.pk, penalty=101)])
    with pytest.raises(ApplicationError):
        membership_set(campaign=campaign, members=[MemberSpec(alice.pk), MemberSpec(alice.pk)])
    with pytest.raises(ApplicationError):
        membership_set(campaign=campaign, members=[MemberSpec(999_999)])
    assert list(campaign.memberships.values_list("agent__username", flat=True)) == ["alice", "bob"]


def test_member_order_and_penalty(campaign, alice, bob):
    membership_set(campaign=campaign, members=[MemberSpec(bob.pk, 10), MemberSpec(alice.pk, 0)])
    assert list(campaign.memberships.values_list("agent__username", "penalty")) == [("bob", 10), ("alice", 0)]
    membership_update(membership=campaign.memberships.get(agent=alice), position=0, penalty=50)
    assert list(campaign.memberships.values_list("agent__username", "penalty")) == [
        ("alice", 50),
        ("bob", 10),
    ]


def test_canned_responses_reorder_and_delete(campaign):
    a = canned_response_create(campaign=campaign, title="A", text="a")
    b = canned_response_create(campaign=campaign, title="B", text="b")
    c = canned_response_create(campaign=campaign, title="C", text="c")
    canned_response_reorder(campaign=campaign, ordered_ids=[c.pk, a.pk, b.pk])
    assert list(campaign.canned_responses.values_list("title", flat=True)) == ["C", "A", "B"]
    with pytest.raises(ApplicationError):
        canned_response_reorder(campaign=campaign, ordered_ids=[c.pk, a.pk])
    canned_response_delete(canned=a)
    assert list(campaign.canned_responses.values_list("title", "position")) == [("C", 0), ("B", 1)]


def test_dispositions_have_two_levels(campaign):
    solved = disposition_create(campaign=campaign, name="Solved")
    refund = disposition_create(campaign=campaign, name="Refund", parent=solved)
    with pytest.raises(ApplicationError) as too_deep:
        disposition_create(campaign=campaign, name="Partial", parent=refund)
    assert too_deep.value.code == "too_deep"
    with pytest.raises(ApplicationError):
        disposition_create(campaign=campaign, name="solved")
    assert str(refund) == "Solved › Refund"


def test_blocked_contacts_need_a_psid(campaign):
    for bad in ("", "abc", "1" * 65):
        with pytest.raises(ApplicationError):
            blocked_contact_add(campaign=campaign, psid=bad)
    blocked_contact_add(campaign=campaign, psid="42")
    with pytest.raises(ApplicationError) as duplicate:
        blocked_contact_add(campaign=campaign, psid="42")
    assert duplicate.value.status == 409


def test_visibility_by_role(campaign, ada, sam, alice):
    other = campaign_create(fields={"name": "Other", "page_name": "Other"})
    assert set(campaign_list_for_user(user=ada)) == {campaign, other}
    assert list(campaign_list_for_user(user=sam)) == [campaign]
    assert list(campaign_list_for_user(user=alice)) == [campaign]
    with pytest.raises(PermissionDenied):
        campaign_get_for_user(user=alice, campaign_id=other.pk)
    with pytest.raises(PermissionDenied):
        campaign_get_for_user(user=sam, campaign_id=campaign.pk, manage=True)


def test_campaign_is_open_uses_its_own_timezone_and_holidays():
    campaign = campaign_create(
        fields={"name": "Madrid", "page_name": "M", "timezone": "Europe/Madrid"},
        holidays=[HolidaySpec(dt.date(2026, 1, 6), "Reyes")],
    )
    monday_0830_utc = dt.datetime(2026, 1, 12, 8, 30, tzinfo=dt.UTC)  # 09:30 in Madrid
    assert campaign_is_open(campaign=campaign, at=monday_0830_utc) is True
    assert campaign_is_open(campaign=campaign, at=dt.datetime(2026, 1, 6, 10, 0, tzinfo=dt.UTC)) is False
