"""Canned responses, dispositions and blocked contacts over the API."""

from __future__ import annotations

import pytest

from pagedesk.campaigns.models import BlockedContact, CannedResponse, Disposition
from pagedesk.campaigns.services import campaign_create, canned_response_create, disposition_create
from tests.integration.api.conftest import error_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def other(db):  # type: ignore[no-untyped-def]
    return campaign_create(fields={"name": "Zeta", "page_name": "Zeta page"})


def titles(campaign):  # type: ignore[no-untyped-def]
    return list(campaign.canned_responses.order_by("position").values_list("title", flat=True))


# --- Canned responses ------------------------------------------------------------------------------


def test_canned_responses_create_list_update_reorder_delete(admin_api, api_as, alice, campaign):
    base = f"/campaigns/{campaign.pk}/canned-responses"
    first = admin_api.post(base, {"title": "Hi", "text": "Hi {customer_first_name}!"})
    assert first.status_code == 201
    second = admin_api.post(base, {"title": "Bye", "text": "Bye from {agent_first_name}"}).json()
    assert second["position"] == 1

    assert [c["title"] for c in api_as(alice).get(base).json()] == ["Hi", "Bye"]

    updated = admin_api.patch(f"{base}/{first.json()['id']}", {"text": "Hello!"}).json()
    assert (updated["title"], updated["text"]) == ("Hi", "Hello!")

    reordered = admin_api.put(f"{base}/order", {"ids": [second["id"], first.json()["id"]]})
    assert [c["title"] for c in reordered.json()] == ["Bye", "Hi"]

    assert admin_api.delete(f"{base}/{second['id']}").status_code == 204
    assert [(c["title"], c["position"]) for c in admin_api.get(base).json()] == [("Hi", 0)]


@pytest.mark.parametrize(
    "body",
    [
        {"title": "", "text": "x"},
        {"title": "x", "text": ""},
        {"title": "x" * 101, "text": "x"},
        {"title": "x", "text": "x" * 2001},
        {"title": 1, "text": "x"},
        {"text": "x"},
    ],
)
def test_canned_response_bad_input_writes_nothing(admin_api, campaign, body):
    response = admin_api.post(f"/campaigns/{campaign.pk}/canned-responses", body)
    assert response.status_code == 422
    error_of(response)
    assert not CannedResponse.objects.exists()


def test_blank_after_trimming_is_refused_too(admin_api, campaign):
    response = admin_api.post(f"/campaigns/{campaign.pk}/canned-responses", {"title": "   ", "text": "x"})
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_canned_response"


def test_canned_update_and_reorder_refusals(admin_api, campaign, other):
    base = f"/campaigns/{campaign.pk}/canned-responses"
    hi = canned_response_create(campaign=campaign, title="Hi", text="Hello")
    bye = canned_response_create(campaign=campaign, title="Bye", text="Goodbye")
    elsewhere = canned_response_create(campaign=other, title="Zeta", text="z")

    assert admin_api.patch(f"{base}/{hi.pk}", {"title": "x" * 101}).status_code == 422
    assert admin_api.patch(f"{base}/{hi.pk}", {"title": None}).status_code == 422
    # Another campaign's canned response is not addressable through this one.
    assert admin_api.patch(f"{base}/{elsewhere.pk}", {"title": "Stolen"}).status_code == 404
    assert admin_api.delete(f"{base}/{elsewhere.pk}").status_code == 404
    for ids in ([hi.pk], [hi.pk, hi.pk], [hi.pk, bye.pk, elsewhere.pk], [bye.pk, 4242]):
        response = admin_api.put(f"{base}/order", {"ids": ids})
        assert response.status_code == 400, ids
        assert error_of(response)["code"] == "invalid_order"
    assert titles(campaign) == ["Hi", "Bye"]
    elsewhere.refresh_from_db()
    assert elsewhere.title == "Zeta"


# --- Dispositions ----------------------------------------------------------------------------------


def test_dispositions_tree_create_rename_delete(admin_api, api_as, alice, campaign):
    base = f"/campaigns/{campaign.pk}/dispositions"
    solved = admin_api.post(base, {"name": "Solved"})
    assert solved.status_code == 201
    solved_id = solved.json()["id"]
    refund = admin_api.post(base, {"name": "Refund", "parent_id": solved_id}).json()
    assert refund["parent_id"] == solved_id
    admin_api.post(base, {"name": "Not solved"})

    tree = api_as(alice).get(base).json()
    assert [(d["name"], [c["name"] for c in d["children"]]) for d in tree] == [
        ("Solved", ["Refund"]),
        ("Not solved", []),
    ]

    renamed = admin_api.patch(f"{base}/{refund['id']}", {"name": "Refunded"})
    assert renamed.json()["name"] == "Refunded"

    assert admin_api.delete(f"{base}/{solved_id}").status_code == 204
    assert [d["name"] for d in admin_api.get(base).json()] == ["Not solved"]
    assert not Disposition.objects.filter(name="Refunded").exists()


def test_disposition_refusals(admin_api, campaign, other):
    base = f"/campaigns/{campaign.pk}/dispositions"
    solved = disposition_create(campaign=campaign, name="Solved")
    refund = disposition_create(campaign=campaign, name="Refund", parent=solved)
    foreign = disposition_create(campaign=other, name="Foreign")
    before = Disposition.objects.count()

    cases = [
        ({"name": "solved"}, 409, "duplicate_name"),
        ({"name": "Deeper", "parent_id": refund.pk}, 400, "too_deep"),
        ({"name": "Orphan", "parent_id": 4242}, 400, "unknown_disposition"),
        ({"name": "Stray", "parent_id": foreign.pk}, 400, "unknown_disposition"),
        ({"name": ""}, 422, "invalid"),
        ({"name": "x" * 101}, 422, "invalid"),
        ({"name": "   "}, 400, "invalid_name"),
    ]
    for body, status, code in cases:
        response = admin_api.post(base, body)
        assert (response.status_code, error_of(response)["code"]) == (status, code), body
    assert Disposition.objects.count() == before

    # The same name is fine at another level.
    assert admin_api.post(base, {"name": "Solved", "parent_id": solved.pk}).status_code == 201

    clash = admin_api.patch(f"{base}/{solved.pk}", {"name": "SOLVED "})
    assert clash.status_code == 200  # renaming to itself (case/space changes) is not a clash
    other_top = disposition_create(campaign=campaign, name="Not solved")
    clash = admin_api.patch(f"{base}/{other_top.pk}", {"name": "solved"})
    assert (clash.status_code, error_of(clash)["code"]) == (409, "duplicate_name")
    assert admin_api.patch(f"{base}/{foreign.pk}", {"name": "Mine"}).status_code == 404
    assert admin_api.delete(f"{base}/{foreign.pk}").status_code == 404


# --- Blocked contacts ------------------------------------------------------------------------------


def test_block_list_and_unblock_a_contact(admin_api, api_as, sam, ada, campaign):
    base = f"/campaigns/{campaign.pk}/blocked-contacts"
    response = admin_api.post(base, {"psid": "1234567890", "note": "Abusive"})
    assert response.status_code == 201
    blocked = response.json()
    assert (blocked["psid"], blocked["note"], blocked["created_by_id"]) == ("1234567890", "Abusive", ada.pk)

    assert [b["psid"] for b in api_as(sam).get(base).json()] == ["1234567890"]
    assert admin_api.delete(f"{base}/{blocked['id']}").status_code == 204
    assert admin_api.get(base).json() == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"psid": "12ab"}, 400, "invalid_psid"),
        ({"psid": "1" * 65}, 422, "invalid"),
        ({"psid": ""}, 422, "invalid"),
        ({"psid": 1234}, 422, "invalid"),
        ({"psid": "123", "note": "x" * 301}, 422, "invalid"),
        ({"psid": "555"}, 409, "duplicate_psid"),
    ],
)
def test_blocked_contact_bad_input(admin_api, campaign, body, status, code):
    base = f"/campaigns/{campaign.pk}/blocked-contacts"
    admin_api.post(base, {"psid": "555"})
    response = admin_api.post(base, body)
    assert (response.status_code, error_of(response)["code"]) == (status, code)
    assert BlockedContact.objects.count() == 1


def test_another_campaigns_block_is_not_removable_here(admin_api, campaign, other):
    foreign = admin_api.post(f"/campaigns/{other.pk}/blocked-contacts", {"psid": "777"}).json()
    assert admin_api.delete(f"/campaigns/{campaign.pk}/blocked-contacts/{foreign['id']}").status_code == 404
    assert BlockedContact.objects.filter(pk=foreign["id"]).exists()
