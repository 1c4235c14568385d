"""Weekly schedule and holidays over the API; a refused PUT leaves the stored list intact."""

from __future__ import annotations

import datetime as dt

import pytest

from pagedesk.campaigns.models import Holiday
from tests.integration.api.conftest import error_of

pytestmark = pytest.mark.django_db

WEEKDAYS = {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00", "to": "18:00"}


def stored_ranges(campaign):  # type: ignore[no-untyped-def]
    return list(campaign.schedule_ranges.values_list("weekdays", "start_minute", "end_minute"))


def test_get_schedule_shows_ranges_timezone_and_state(api_as, alice, campaign, frozen_clock):
    body = api_as(alice).get(f"/campaigns/{campaign.pk}/schedule").json()
    assert body == {
        "timezone": "Europe/Madrid",
        "ranges": [
            {"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "from": "00:00", "to": "24:00"}
        ],
        "is_open_now": True,
        "next_change": None,
    }


def test_put_schedule_replaces_the_ranges(admin_api, campaign, frozen_clock):
    # 2026-03-02 10:00 UTC is Monday 11:00 in Madrid.
    ranges = [
        WEEKDAYS,
        {"weekdays": ["sat"], "from": "10:00", "to": "14:00"},
        {"weekdays": ["sun"], "from": "22:00", "to": "24:00"},
    ]
    response = admin_api.put(f"/campaigns/{campaign.pk}/schedule", {"ranges": ranges})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ranges"] == ranges
    assert body["is_open_now"] is True
    assert body["next_change"] == "2026-03-02T17:00:00Z"
    assert admin_api.get(f"/campaigns/{campaign.pk}/schedule").json()["ranges"] == ranges
    assert stored_ranges(campaign) == [(0b11111, 540, 1080), (0b100000, 600, 840), (0b1000000, 1320, 1440)]


def test_touching_ranges_are_allowed(admin_api, campaign):
    ranges = [
        {"weekdays": ["mon"], "from": "09:00", "to": "12:00"},
        {"weekdays": ["mon"], "from": "12:00", "to": "18:00"},
    ]
    assert admin_api.put(f"/campaigns/{campaign.pk}/schedule", {"ranges": ranges}).status_code == 200


def test_an_empty_schedule_means_always_closed(admin_api, campaign):
    body = admin_api.put(f"/campaigns/{campaign.pk}/schedule", {"ranges": []}).json()
    assert (body["ranges"], body["is_open_now"]) == ([], False)


@pytest.mark.parametrize(
    ("bad_range", "status", "needle"),
    [
        ({"weekdays": ["mon"], "from": "10:00", "to": "19:00"}, 400, "overlap"),  # overlaps the good range
        ({"weekdays": ["sat"], "from": "18:00", "to": "09:00"}, 400, "later than"),  # inverted
        ({"weekdays": ["sat"], "from": "09:00", "to": "09:00"}, 400, "later than"),  # empty
        ({"weekdays": ["sat"], "from": "9am", "to": "18:00"}, 422, "HH:MM"),
        ({"weekdays": ["sat"], "from": "09:00", "to": "25:00"}, 422, "HH:MM"),
        ({"weekdays": ["sat"], "from": "09:60", "to": "18:00"}, 422, "HH:MM"),
        ({"weekdays": ["sat"], "from": "24:00", "to": "24:00"}, 422, "HH:MM"),
        ({"weekdays": ["funday"], "from": "09:00", "to": "18:00"}, 422, "mon"),
        ({"weekdays": [], "from": "09:00", "to": "18:00"}, 422, "weekdays"),
        ({"weekdays": ["sat", "sat"], "from": "09:00", "to": "18:00"}, 422, "twice"),
        ({"weekdays": "sat", "from": "09:00", "to": "18:00"}, 422, "weekdays"),
        ({"weekdays": ["sat"], "from": 900, "to": "18:00"}, 422, "from"),
        ({"weekdays": ["sat"], "to": "18:00"}, 422, "from"),
    ],
)
def test_one_bad_range_leaves_the_old_schedule_intact(admin_api, campaign, bad_range, status, needle):
    before = stored_ranges(campaign)
    response = admin_api.put(f"/campaigns/{campaign.pk}/schedule", {"ranges": [WEEKDAYS, bad_range]})
    assert response.status_code == status, response.content
    error = error_of(response)
    assert needle in error["message"], error
    assert stored_ranges(campaign) == before


def test_too_many_ranges_are_refused(admin_api, campaign):
    ranges = [{"weekdays": ["mon"], "from": f"{h:02d}:00", "to": f"{h:02d}:30"} for h in range(24)] * 3
    response = admin_api.put(f"/campaigns/{campaign.pk}/schedule", {"ranges": ranges})
    assert response.status_code == 422


# --- Holidays --------------------------------------------------------------------------------------


def test_holidays_get_and_replace(api_as, admin_api, sam, campaign):
    Holiday.objects.create(campaign=campaign, date=dt.date(2026, 1, 1), name="New Year")
    assert api_as(sam).get(f"/campaigns/{campaign.pk}/holidays").json() == {
        "holidays": [{"date": "2026-01-01", "name": "New Year"}]
    }
    new = [{"date": "2026-12-25", "name": "Christmas"}, {"date": "2026-12-24", "name": ""}]
    body = admin_api.put(f"/campaigns/{campaign.pk}/holidays", {"holidays": new}).json()
    assert body == {
        "holidays": [{"date": "2026-12-24", "name": ""}, {"date": "2026-12-25", "name": "Christmas"}]
    }


def test_a_holiday_closes_the_campaign_all_day(admin_api, campaign, frozen_clock):
    admin_api.put(f"/campaigns/{campaign.pk}/holidays", {"holidays": [{"date": "2026-03-02"}]})
    assert admin_api.get(f"/campaigns/{campaign.pk}").json()["is_open_now"] is False


@pytest.mark.parametrize(
    ("holidays", "status"),
    [
        ([{"date": "2026-12-25"}, {"date": "2026-12-25", "name": "again"}], 400),
        ([{"date": "2026-02-30"}], 422),
        ([{"date": "Christmas"}], 422),
        ([{"date": "2026-12-25", "name": "x" * 101}], 422),
        ([{"name": "no date"}], 422),
    ],
)
def test_bad_holidays_leave_the_old_ones(admin_api, campaign, holidays, status):
    Holiday.objects.create(campaign=campaign, date=dt.date(2026, 1, 1), name="New Year")
    response = admin_api.put(f"/campaigns/{campaign.pk}/holidays", {"holidays": holidays})
    assert response.status_code == status, response.content
    error_of(response)
    assert list(campaign.holidays.values_list("name", flat=True)) == ["New Year"]
