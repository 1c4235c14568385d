"""What schemathesis found (tests/integration/api/test_api_schemathesis.py), one test per finding, fast.

The published schema and the answers disagreed: refusals were undocumented, omittable fields were
published as nullable but a null was refused, a JSON array was taken for an empty PATCH, a holiday's date
could be a number, and a NUL in a key the API ignores refused the whole body.
"""

from __future__ import annotations

import pytest
from django.test import Client

from tests.integration.api.conftest import error_of

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def openapi(db) -> dict:
    return Client().get("/api/v1/openapi.json").json()


def test_every_operation_documents_its_refusals_in_the_error_shape(openapi):
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            documented = set(operation["responses"])
            expected = {"401", "403", "404", "422"} | (
                {"400", "409"} if "requestBody" in operation else set()
            )
            assert expected <= documented, (method, path, documented)
            error = operation["responses"]["401"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/ErrorOut"}, (method, path)


def test_an_omittable_field_is_published_as_not_nullable(openapi):
    """Except a field its schema lists in `nullable`, where null means something (no bot)."""
    from pagedesk.api.campaigns_schemas import CampaignPatch

    nullable = {"CampaignPatch": CampaignPatch.nullable}
    assert nullable["CampaignPatch"] == {"bot_integration_id"}
    schemas = openapi["components"]["schemas"]
    for name in ("UserPatchIn", "CampaignPatch", "BreakReasonPatch", "CannedPatch", "MemberPatch"):
        for field, prop in schemas[name]["properties"].items():
            if field in nullable.get(name, ()):
                assert {"type": "null"} in prop["anyOf"], (name, field, prop)
                continue
            assert {"type": "null"} not in prop.get("anyOf", []), (name, field, prop)
            assert prop.get("type") != "null", (name, field)


def test_formats_the_validators_enforce_are_published(openapi):
    schemas = openapi["components"]["schemas"]
    assert schemas["RangeSchema"]["properties"]["weekdays"]["uniqueItems"] is True
    assert "pattern" in schemas["RangeSchema"]["properties"]["from"]
    stats = openapi["paths"]["/api/v1/campaigns/{campaign_id}/stats"]["get"]["parameters"]
    assert {p["name"]: p["schema"].get("format") for p in stats if p["in"] == "query"} == {
        "from": "date",
        "to": "date",
    }


@pytest.mark.parametrize("body", [[None, None], [], '"text"', 7])
def test_a_body_that_is_not_an_object_is_a_422_and_changes_nothing(admin_api, campaign, body):
    response = admin_api.patch(f"/campaigns/{campaign.pk}", body)
    assert response.status_code == 422, response.content
    assert error_of(response)["fields"] == {"__all__": ["The request body must be a JSON object."]}


def test_a_holiday_date_given_as_a_number_is_refused(admin_api, campaign):
    response = admin_api.put(f"/campaigns/{campaign.pk}/holidays", {"holidays": [{"date": 0, "name": ""}]})
    assert response.status_code == 422, response.content
    assert "holidays.0.date" in error_of(response)["fields"]
    assert not campaign.holidays.exists()


def test_a_nul_in_a_key_the_api_ignores_does_not_refuse_the_body(admin_api, campaign):
    response = admin_api.post(
        f"/campaigns/{campaign.pk}/dispositions", {"name": "Sale", "x": {"y": "\u0000"}}
    )
    assert response.status_code == 201, response.content
    nested = admin_api.put(
        f"/campaigns/{campaign.pk}/schedule",
        {"ranges": [{"weekdays": ["mon"], "from": "09:00", "to": "18:00", "note\u0000": "a\u0000"}]},
    )
    assert nested.status_code == 200, nested.content
    # A NUL in a declared field, nested too, is still refused naming it.
    refused = admin_api.put(
        f"/campaigns/{campaign.pk}/holidays", {"holidays": [{"date": "2026-12-25", "name": "X\u0000"}]}
    )
    assert refused.status_code == 422
    assert error_of(refused)["fields"] == {"holidays.0.name": ["Text cannot contain NUL characters."]}


def test_text_fields_publish_that_they_take_no_nul(openapi):
    schemas = openapi["components"]["schemas"]
    assert schemas["UserPatchIn"]["properties"]["first_name"]["pattern"] == "^[^\\x00]*$"
    assert schemas["CannedIn"]["properties"]["text"]["pattern"] == "^[^\\x00]*$"


def test_stats_document_the_400_of_an_inverted_range(openapi):
    assert "400" in openapi["paths"]["/api/v1/campaigns/{campaign_id}/stats"]["get"]["responses"]


def test_true_false_and_numbers_are_not_interchangeable(admin_api, campaign, alice, lunch):
    """pydantic read 0 as false and false as 0: `{"active": 0}` retired a break reason and
    `{"penalty": false}` set a penalty, though the schema says boolean and integer."""
    refused = {
        f"/break-reasons/{lunch.pk}": {"active": 0},
        f"/campaigns/{campaign.pk}": {"transfer_timeout_seconds": False},
        f"/campaigns/{campaign.pk}/members/{alice.pk}": {"position": True},
        f"/users/{alice.pk}": {"is_active": 0},
    }
    for path, body in refused.items():
        response = admin_api.patch(path, body)
        assert response.status_code == 422, (path, response.content)
        assert list(error_of(response)["fields"]) == list(body), path
    listed = admin_api.put(
        f"/campaigns/{campaign.pk}/members", {"members": [{"agent_id": alice.pk, "penalty": False}]}
    )
    assert error_of(listed)["fields"] == {"members.0.penalty": ["Send a number, not true or false."]}
    ids = admin_api.put(f"/campaigns/{campaign.pk}/supervisors", {"supervisor_ids": [True]})
    assert ids.status_code == 422, ids.content
    lunch.refresh_from_db()
    alice.refresh_from_db()
    assert lunch.active and alice.is_active
    # The real values still pass.
    assert admin_api.patch(f"/break-reasons/{lunch.pk}", {"active": False}).json()["active"] is False
