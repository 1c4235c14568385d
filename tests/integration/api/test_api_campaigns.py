"""Campaigns over the API: scoped reads, admin writes, validation, disable instead of delete."""

from __future__ import annotations

import pytest

from pagedesk.accounts.models import Role
from pagedesk.campaigns.models import Campaign, CannedResponse, Holiday, ScheduleRange
from pagedesk.campaigns.services import MemberSpec, membership_set
from pagedesk.conversations.models import Contact, Conversation
from pagedesk.messenger.models import PageConnection
from tests.conftest import make_user
from tests.integration.api.conftest import error_of

pytestmark = pytest.mark.django_db

NEW = {"name": "Beta Sales", "page_name": "Beta"}


@pytest.fixture
def other(db) -> Campaign:
    """A campaign nobody but the admin sees."""
    from pagedesk.campaigns.services import campaign_create

    return campaign_create(fields={"name": "Zeta", "page_name": "Zeta page"})


def test_each_role_lists_only_the_campaigns_it_may_see(api_as, ada, sam, alice, campaign, other):
    carol = make_user("carol", Role.AGENT)
    membership_set(campaign=other, members=[MemberSpec(agent_id=carol.pk)])

    def names(user):  # type: ignore[no-untyped-def]
        return [c["name"] for c in api_as(user).get("/campaigns").json()]

    assert names(ada) == ["Acme Support", "Zeta"]
    assert names(sam) == ["Acme Support"]
    assert names(alice) == ["Acme Support"]
    assert names(carol) == ["Zeta"]


def test_campaign_output_has_schedule_holidays_members_token_and_open_now(admin_api, campaign, frozen_clock):
    Holiday.objects.create(campaign=campaign, date="2026-12-25", name="Christmas")
    PageConnection.objects.filter(campaign=campaign).update(token_status="active", page_id="1234")

    body = admin_api.get(f"/campaigns/{campaign.pk}").json()
    assert body["schedule"] == [
        {"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "from": "00:00", "to": "24:00"}
    ]
    assert body["holidays"] == [{"date": "2026-12-25", "name": "Christmas"}]
    assert (body["members_count"], body["token_status"], body["page_id"], body["is_open_now"]) == (
        2,
        "active",
        "1234",
        True,
    )


def test_unknown_campaign_is_404_for_the_admin(admin_api):
    response = admin_api.get("/campaigns/4242")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_create_with_defaults_gets_the_default_schedule(admin_api):
    response = admin_api.post("/campaigns", NEW)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["schedule"] == [
        {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00", "to": "18:00"}
    ]
    assert (body["strategy"], body["enabled"], body["members_count"], body["token_status"]) == (
        "ringall",
        True,
        0,
        "unknown",
    )


def test_create_with_every_field_schedule_holidays_and_canned_responses(admin_api):
    payload = {
        **NEW,
        "strategy": "wrandom",
        "timezone": "America/New_York",
        "service_level_target": 90,
        "sl_threshold_seconds": 30,
        "dropout_threshold_seconds": 0,
        "chat_time_threshold_seconds": 1200,
        "acd_threshold": 3,
        "max_interactions_per_agent": 5,
        "wrap_up_seconds": 60,
        "after_hours_message": "Closed, back at nine.",
        "human_agent_enabled": True,
        "close_queue_at_schedule_end": True,
        "transfer_timeout_seconds": 120,
        "enabled": False,
        "schedule": [
            {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00", "to": "12:00"},
            {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "from": "13:00", "to": "17:30"},
        ],
        "holidays": [{"date": "2026-07-04", "name": "Independence Day"}],
        "canned_responses": [{"title": "Hi", "text": "Hi {customer_first_name}!"}],
    }
    response = admin_api.post("/campaigns", payload)
    assert response.status_code == 201, response.content
    body = response.json()
    for key, value in payload.items():
        if key != "canned_responses":
            assert body[key] == value, key
    campaign = Campaign.objects.get(pk=body["id"])
    assert list(campaign.canned_responses.values_list("title", flat=True)) == ["Hi"]


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"service_level_target": "abc"}, 422, "service_level_target"),
        ({"service_level_target": 101}, 422, "service_level_target"),
        ({"service_level_target": -1}, 422, "service_level_target"),
        ({"max_interactions_per_agent": 0}, 422, "max_interactions_per_agent"),
        ({"acd_threshold": 0}, 422, "acd_threshold"),
        ({"wrap_up_seconds": 3601}, 422, "wrap_up_seconds"),
        ({"sl_threshold_seconds": 10**20}, 422, "sl_threshold_seconds"),
        ({"strategy": "fifo"}, 422, "strategy"),
        ({"timezone": "Mars/Olympus_Mons"}, 400, "timezone"),
        ({"name": ""}, 422, "name"),
        ({"name": "x" * 101}, 422, "name"),
        ({"page_name": "x" * 151}, 422, "page_name"),
        ({"after_hours_message": "x" * 2001}, 422, "after_hours_message"),
        ({"enabled": None}, 422, "__all__"),
        ({"name": "ACME SUPPORT"}, 409, "name"),
        ({"schedule": [{"weekdays": ["mon"], "from": "18:00", "to": "09:00"}]}, 400, "schedule"),
        ({"holidays": [{"date": "2026-13-01"}]}, 422, "holidays.0.date"),
        ({"canned_responses": [{"title": "", "text": "x"}]}, 422, "canned_responses.0.title"),
        ({"unknown_field": 1, "name": ""}, 422, "name"),
    ],
)
def test_create_rejects_bad_input_and_writes_nothing(admin_api, campaign, change, status, field):
    before = (Campaign.objects.count(), ScheduleRange.objects.count(), PageConnection.objects.count())
    response = admin_api.post("/campaigns", {**NEW, **change})
    assert response.status_code == status, response.content
    error = error_of(response)
    assert field in error.get("fields", {}), error
    assert (Campaign.objects.count(), ScheduleRange.objects.count(), PageConnection.objects.count()) == before


def test_patch_changes_only_the_given_fields(admin_api, campaign):
    response = admin_api.patch(
        f"/campaigns/{campaign.pk}", {"strategy": "linear", "service_level_target": 95}
    )
    assert response.status_code == 200
    campaign.refresh_from_db()
    assert (campaign.strategy, campaign.service_level_target, campaign.name, campaign.timezone) == (
        "linear",
        95,
        "Acme Support",
        "Europe/Madrid",
    )


def test_disabling_keeps_every_row(admin_api, campaign):
    CannedResponse.objects.create(campaign=campaign, title="Hi", text="Hello")
    body = admin_api.patch(f"/campaigns/{campaign.pk}", {"enabled": False}).json()
    assert body["enabled"] is False
    assert body["members_count"] == 2
    assert campaign.schedule_ranges.count() == 1
    assert campaign.canned_responses.count() == 1


def test_patch_bad_input_leaves_the_campaign_unchanged(admin_api, campaign, other):
    for change, status in (
        ({"strategy": "linear", "name": "zeta"}, 409),
        ({"strategy": "linear", "max_interactions_per_agent": 51}, 422),
        ({"strategy": "linear", "timezone": "Nowhere"}, 400),
        ({"strategy": "linear", "name": None}, 422),
    ):
        response = admin_api.patch(f"/campaigns/{campaign.pk}", change)
        assert response.status_code == status, change
        error_of(response)
    campaign.refresh_from_db()
    assert (campaign.strategy, campaign.name, campaign.timezone) == (
        "ringall",
        "Acme Support",
        "Europe/Madrid",
    )


def test_put_replaces_settings_and_resets_omitted_ones(admin_api, campaign):
    admin_api.patch(f"/campaigns/{campaign.pk}", {"wrap_up_seconds": 30, "strategy": "fewest"})
    response = admin_api.put(
        f"/campaigns/{campaign.pk}",
        {
            "name": "Acme Care",
            "page_name": "Acme",
            "schedule": [{"weekdays": ["sat"], "from": "10:00", "to": "14:00"}],
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["wrap_up_seconds"], body["strategy"], body["timezone"]) == (
        "Acme Care",
        0,
        "ringall",
        "UTC",
    )
    assert body["schedule"] == [{"weekdays": ["sat"], "from": "10:00", "to": "14:00"}]
    assert body["members_count"] == 2  # members are not campaign settings


def test_put_with_a_bad_range_changes_nothing(admin_api, campaign):
    response = admin_api.put(
        f"/campaigns/{campaign.pk}",
        {
            "name": "Renamed",
            "page_name": "Acme",
            "schedule": [
                {"weekdays": ["mon"], "from": "09:00", "to": "12:00"},
                {"weekdays": ["mon", "tue"], "from": "11:00", "to": "13:00"},
            ],
        },
    )
    assert response.status_code == 400
    assert "overlap" in error_of(response)["message"]
    campaign.refresh_from_db()
    assert campaign.name == "Acme Support"
    assert list(campaign.schedule_ranges.values_list("start_minute", "end_minute")) == [(0, 1440)]


def test_delete_refuses_a_campaign_with_conversations_and_says_to_disable(admin_api, campaign):
    contact = Contact.objects.create(page_id="1", psid="2")
    Conversation.objects.create(campaign=campaign, contact=contact)
    response = admin_api.delete(f"/campaigns/{campaign.pk}")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "campaign_has_conversations"
    assert "enabled=false" in error["message"]
    assert Campaign.objects.filter(pk=campaign.pk).exists()


def test_delete_removes_a_campaign_without_conversations(admin_api, campaign):
    assert admin_api.delete(f"/campaigns/{campaign.pk}").status_code == 204
    assert not Campaign.objects.filter(pk=campaign.pk).exists()
    assert not PageConnection.objects.filter(campaign_id=campaign.pk).exists()
    assert admin_api.get(f"/campaigns/{campaign.pk}").status_code == 404


def test_supervisor_reads_but_cannot_write_a_campaign_they_supervise(api_as, sam, campaign):
    api = api_as(sam)
    assert api.get(f"/campaigns/{campaign.pk}").status_code == 200
    for response in (
        api.patch(f"/campaigns/{campaign.pk}", {"enabled": False}),
        api.delete(f"/campaigns/{campaign.pk}"),
        api.put(f"/campaigns/{campaign.pk}/schedule", {"ranges": []}),
    ):
        assert response.status_code == 403
        assert error_of(response)["code"] == "forbidden"
    campaign.refresh_from_db()
    assert campaign.enabled is True


def test_campaign_list_queries_do_not_grow_with_the_number_of_campaigns(
    admin_api, campaign, django_assert_max_num_queries
):
    from pagedesk.campaigns.services import campaign_create

    admin_api.get("/campaigns")  # warm the token's last_used_at write
    with django_assert_max_num_queries(8) as few:
        assert len(admin_api.get("/campaigns").json()) == 1
    for n in range(5):
        campaign_create(fields={"name": f"Extra {n}", "page_name": "P"})
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(admin_api.get("/campaigns").json()) == 6
