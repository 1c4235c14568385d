"""The user and break-reason lists come a page at a time (pagedesk.api.pagination.PagePagination)."""

from __future__ import annotations

import pytest

from pagedesk.accounts.models import BreakReason, Role, User
from pagedesk.api.pagination import MAX_PAGE_SIZE, PAGE_SIZE
from tests.integration.api.conftest import BASE, error_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def many_agents(db):  # type: ignore[no-untyped-def]
    """PAGE_SIZE + 9 agents (no password hashing: bulk rows are enough to list)."""
    User.objects.bulk_create(User(username=f"agent{n:03d}", role=Role.AGENT) for n in range(PAGE_SIZE + 9))


def test_users_come_page_size_at_a_time_and_next_leads_to_the_rest(admin_api, many_agents):
    first = admin_api.get("/users")
    assert first.status_code == 200
    body = first.json()
    total = PAGE_SIZE + 10  # the agents and ada
    assert (body["count"], body["page"], body["page_size"], body["pages"]) == (total, 1, PAGE_SIZE, 2)
    assert len(body["items"]) == PAGE_SIZE
    assert body["previous"] is None
    assert body["next"] == f"{BASE}/users?page=2"

    second = admin_api.client.get(body["next"], **admin_api.headers).json()
    assert len(second["items"]) == 10
    assert (second["page"], second["next"], second["previous"]) == (2, None, f"{BASE}/users?page=1")

    usernames = [u["username"] for u in body["items"] + second["items"]]
    assert usernames == sorted(User.objects.values_list("username", flat=True))


def test_page_size_and_filters_carry_over_to_the_next_and_previous_links(admin_api, many_agents):
    seen: list[str] = []
    url = f"{BASE}/users?role=agent&page_size=25"
    pages = 0
    while url:
        body = admin_api.client.get(url, **admin_api.headers).json()
        assert body["page_size"] == 25 and len(body["items"]) <= 25
        assert {u["role"] for u in body["items"]} == {"agent"}
        seen += [u["username"] for u in body["items"]]
        if body["next"]:
            assert "role=agent" in body["next"] and "page_size=25" in body["next"]
        if body["page"] > 1:
            assert body["previous"] == f"{BASE}/users?role=agent&page_size=25&page={body['page'] - 1}"
        url = body["next"]
        pages += 1
    assert pages == body["pages"] == 3
    assert seen == sorted(User.objects.filter(role=Role.AGENT).values_list("username", flat=True))
    assert len(seen) == len(set(seen)) == PAGE_SIZE + 9


def test_an_empty_list_is_one_empty_page(admin_api):
    body = admin_api.get("/users", role="supervisor").json()
    assert (body["items"], body["count"], body["pages"], body["next"]) == ([], 0, 1, None)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"page": "0"}, "page"),
        ({"page": "-1"}, "page"),
        ({"page": "two"}, "page"),
        ({"page": ""}, "page"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": str(MAX_PAGE_SIZE + 1)}, "page_size"),
        ({"page_size": "all"}, "page_size"),
    ],
)
@pytest.mark.parametrize("url", ["/users", "/break-reasons"])
def test_a_malformed_page_or_size_is_a_422_naming_the_parameter(admin_api, url, query, field):
    response = admin_api.get(url, **query)
    assert response.status_code == 422, response.content
    error = error_of(response)
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [field]
    assert error["message"].startswith(f"{field}: ")


@pytest.mark.parametrize("page", ["3", str(10**30)])
def test_a_page_past_the_last_is_a_404_saying_how_many_there_are(admin_api, many_agents, page):
    response = admin_api.get("/users", page=page)
    assert response.status_code == 404
    error = error_of(response)
    assert (error["code"], error["field"]) == ("page_out_of_range", "page")
    assert error["message"] == (
        f"There is no page {page}: {PAGE_SIZE + 10} items make 2 page(s) of {PAGE_SIZE}."
    )


def test_role_checks_come_before_the_page(api_as, alice):
    response = api_as(alice).get("/users", page="99")
    assert (response.status_code, error_of(response)["code"]) == (403, "forbidden")
    assert api_as(None).get("/break-reasons", page="99").status_code == 401


def test_break_reasons_are_paginated_in_menu_order(api_as, admin_api, alice):
    for position, name in enumerate(["Lunch", "Coffee", "Training", "Meeting", "Retired"]):
        BreakReason.objects.create(name=name, position=position, active=name != "Retired")

    agent_pages = [api_as(alice).get("/break-reasons", page_size="3", page=str(n)).json() for n in (1, 2)]
    assert [[r["name"] for r in p["items"]] for p in agent_pages] == [
        ["Lunch", "Coffee", "Training"],
        ["Meeting"],
    ]
    assert agent_pages[0]["count"] == 4
    assert agent_pages[0]["next"] == f"{BASE}/break-reasons?page_size=3&page=2"

    everything = admin_api.get("/break-reasons", include_inactive="true", page_size="3", page="2").json()
    assert [r["name"] for r in everything["items"]] == ["Meeting", "Retired"]
    assert everything["count"] == 5


def test_the_openapi_document_describes_the_paged_lists(api_as):
    document = api_as(None).get("/openapi.json").json()
    for path, schema_name in (
        ("/api/v1/users", "PagedUserOut"),
        ("/api/v1/break-reasons", "PagedBreakReasonOut"),
    ):
        operation = document["paths"][path]["get"]
        params = {p["name"]: p for p in operation["parameters"]}
        assert {"page", "page_size"} <= set(params), path
        assert params["page"]["schema"]["minimum"] == 1
        assert params["page_size"]["schema"]["maximum"] == MAX_PAGE_SIZE
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert ref == f"#/components/schemas/{schema_name}"
        properties = document["components"]["schemas"][schema_name]["properties"]
        assert {"items", "count", "page", "page_size", "pages", "next", "previous"} <= set(properties)
    assert "role" in {p["name"] for p in document["paths"]["/api/v1/users"]["get"]["parameters"]}
