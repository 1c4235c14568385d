"""The campaign table's token check and the Facebook settings page's parked events, through /api/v1/pages:
the same services and roles (check: supervisors of the campaign and admins; parked events: admins)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from pagedesk.campaigns.services import campaign_create, campaign_set_supervisors
from pagedesk.messenger import fixtures, payloads
from pagedesk.messenger.models import InboundEvent, PageConnection, TokenStatus
from pagedesk.messenger.tokens import page_token_set
from tests.integration.api.conftest import error_of
from tests.integration.messenger.conftest import fb, simulator_server  # noqa: F401 (fixtures)
from tests.integration.messenger.facebook_simulator import ACME_PAGE_ID, ACME_SEED_PAGE_TOKEN
from tests.integration.messenger.webhook_door import SECRET, URL, facebook_settings, page  # noqa: F401

# --- check ------------------------------------------------------------------------------------------


@pytest.fixture
def acme(db, sam) -> PageConnection:
    """A campaign whose page the simulator knows, activated, supervised by sam."""
    campaign = campaign_create(fields={"name": "Acme Support", "page_name": "Acme Support"})
    campaign_set_supervisors(campaign=campaign, supervisor_ids=[sam.pk])
    connection = PageConnection.objects.get(campaign=campaign)
    connection.page_id = ACME_PAGE_ID
    connection.token_status = TokenStatus.ACTIVE
    page_token_set(page_connection=connection, token=ACME_SEED_PAGE_TOKEN)
    connection.save()
    return connection


@pytest.mark.django_db
def test_a_check_finds_a_revoked_token_and_answers_the_new_status(fb, acme, api_as, ada):  # noqa: F811
    working = api_as(ada).post(f"/pages/{acme.campaign_id}/check")
    assert working.status_code == 200, working.content
    body = working.json()
    assert (body["campaign_id"], body["page_id"], body["token_status"]) == (
        acme.campaign_id,
        ACME_PAGE_ID,
        "active",
    )
    assert body["last_checked_at"] is not None

    fb.revoke_page(ACME_PAGE_ID)
    revoked = api_as(ada).post(f"/pages/{acme.campaign_id}/check").json()
    assert revoked["token_status"] == "invalid" and revoked["token_invalid_reason"]
    acme.refresh_from_db()
    assert acme.token_status == TokenStatus.INVALID


@pytest.mark.django_db
def test_a_check_is_for_the_campaigns_supervisors_and_admins(fb, acme, api_as, sam, alice, ada):  # noqa: F811
    fb.revoke_page(ACME_PAGE_ID)
    refused = api_as(alice).post(f"/pages/{acme.campaign_id}/check")
    assert (refused.status_code, error_of(refused)["code"]) == (403, "forbidden")
    other = campaign_create(fields={"name": "Acme Billing", "page_name": "Acme Billing"})
    assert api_as(sam).post(f"/pages/{other.pk}/check").status_code == 403
    acme.refresh_from_db()
    assert acme.token_status == TokenStatus.ACTIVE  # nothing was checked for a refused caller
    assert api_as(sam).post(f"/pages/{acme.campaign_id}/check").json()["token_status"] == "invalid"
    assert api_as(ada).post("/pages/999999/check").status_code == 404


@pytest.mark.django_db
def test_a_campaign_never_activated_has_no_token_to_check(api_as, ada):
    campaign = campaign_create(fields={"name": "Acme Billing", "page_name": "Acme Billing"})
    refused = api_as(ada).post(f"/pages/{campaign.pk}/check")
    assert (refused.status_code, error_of(refused)["code"]) == (409, "page_not_activated")
    assert "activate it with Facebook" in error_of(refused)["message"]


# --- parked events ----------------------------------------------------------------------------------


def park_one(mid: str = "m_deep") -> InboundEvent:
    """A message Facebook sent that pagedesk parks: metadata nested deeper than it reads."""
    deep: object = "x"
    for _ in range(40):
        deep = {"d": deep}
    item = {
        "sender": {"id": fixtures.PSID},
        "recipient": {"id": fixtures.PAGE_ID},
        "timestamp": 1764070000000,
        "message": {"mid": mid, "text": "hello", "metadata": deep},
    }
    raw = json.dumps(
        {"object": "page", "entry": [{"id": fixtures.PAGE_ID, "time": 1764070000000, "messaging": [item]}]}
    )
    response = Client().post(
        URL,
        data=raw.encode(),
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=fixtures.sign(raw.encode(), SECRET),
    )
    assert response.status_code == 200
    (kept,) = InboundEvent.objects.filter(status="parked")
    return kept


@pytest.mark.django_db(transaction=True)
def test_admins_list_and_replay_a_pages_parked_events(page, api_as, ada, monkeypatch):  # noqa: F811
    kept = park_one()
    admin = api_as(ada)
    listed = admin.get(f"/pages/{page.campaign_id}/parked")
    assert listed.status_code == 200, listed.content
    ((shown),) = listed.json()
    assert shown["id"] == kept.pk and "nested deeper" in shown["error"]

    # Before the fix it stays parked, with its reason, and the call still answers.
    before = admin.post(f"/pages/{page.campaign_id}/parked/replay", {}).json()
    assert before["replayed"] == []
    assert [(s["event_id"], s["code"]) for s in before["still_parked"]] == [(kept.pk, "still_parked")]

    monkeypatch.setattr(payloads, "MAX_DEPTH", 64)  # the fix
    after = admin.post(f"/pages/{page.campaign_id}/parked/replay", {"event_ids": [kept.pk]})
    assert after.status_code == 200, after.content
    assert after.json() == {"replayed": [{"event_id": kept.pk, "stored": 1}], "still_parked": []}
    kept.refresh_from_db()
    assert kept.status == "ignored"
    assert InboundEvent.objects.filter(status="pending").count() == 1
    assert admin.get(f"/pages/{page.campaign_id}/parked").json() == []
    # No longer parked: replaying it again is a 404, as on the settings page.
    again = admin.post(f"/pages/{page.campaign_id}/parked/replay", {"event_ids": [kept.pk]})
    assert (again.status_code, error_of(again)["field"]) == (404, "event_ids")


@pytest.mark.django_db(transaction=True)
def test_parked_events_are_for_admins_and_for_their_own_page(page, api_as, ada, sam, alice):  # noqa: F811
    kept = park_one()
    for user in (sam, alice):
        assert error_of(api_as(user).get(f"/pages/{page.campaign_id}/parked"))["code"] == "forbidden"
        refused = api_as(user).post(f"/pages/{page.campaign_id}/parked/replay", {"event_ids": [kept.pk]})
        assert refused.status_code == 403
    other = campaign_create(fields={"name": "Acme Billing", "page_name": "Acme Billing"})
    PageConnection.objects.filter(campaign=other).update(page_id="200000000000002")
    admin = api_as(ada)
    assert admin.get(f"/pages/{other.pk}/parked").json() == []
    assert admin.post(f"/pages/{other.pk}/parked/replay", {"event_ids": [kept.pk]}).status_code == 404
    kept.refresh_from_db()
    assert kept.status == "parked"


@pytest.mark.django_db
def test_a_page_never_activated_has_nothing_parked_to_ask_for(api_as, ada):
    campaign = campaign_create(fields={"name": "Acme Billing", "page_name": "Acme Billing"})
    # Its page id is empty, like a body unreadable as a whole: those stay on the settings page.
    refused = api_as(ada).get(f"/pages/{campaign.pk}/parked")
    assert (refused.status_code, error_of(refused)["code"]) == (409, "page_not_activated")
