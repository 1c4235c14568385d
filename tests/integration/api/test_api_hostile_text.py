"""NUL and lone surrogates at the API, the pages' query strings and Graph answers (issue 13, finding 2).

On PostgreSQL a NUL in any stored text made the write answer an HTML 500 (`UntranslatableCharacter`), and
on SQLite it was stored and went on to CSV exports. Now a NUL in a JSON body is a 422 in the documented
shape naming the field, a lone surrogate is stored as U+FFFD, and a NUL in a query string is removed.
"""

from __future__ import annotations

import pytest

from pagedesk.campaigns.models import Campaign
from tests.integration.api.conftest import error_of

NUL = "a\u0000b"


def assert_refused_for_nul(response, field: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.content
    assert response["Content-Type"].startswith("application/json")
    error = error_of(response)
    assert error["code"] == "invalid"
    assert error["fields"] == {field: ["Text cannot contain NUL characters."]}


@pytest.mark.django_db
def test_nul_in_any_written_text_is_a_422_naming_the_field(admin_api, campaign, alice):
    base = f"/campaigns/{campaign.pk}"
    assert_refused_for_nul(admin_api.patch(base, {"name": NUL}), "name")
    assert_refused_for_nul(admin_api.patch(base, {"after_hours_message": NUL}), "after_hours_message")
    assert_refused_for_nul(admin_api.post(f"{base}/canned-responses", {"title": "Hi", "text": NUL}), "text")
    assert_refused_for_nul(admin_api.post(f"{base}/dispositions", {"name": NUL}), "name")
    assert_refused_for_nul(admin_api.patch(f"/users/{alice.pk}", {"first_name": NUL}), "first_name")
    assert_refused_for_nul(admin_api.post("/break-reasons", {"name": NUL}), "name")
    # Nothing was written.
    campaign.refresh_from_db()
    assert "\x00" not in campaign.name and not campaign.canned_responses.filter(text__contains="b").exists()
    alice.refresh_from_db()
    assert alice.first_name == "Alice"


@pytest.mark.django_db
def test_a_lone_surrogate_is_stored_as_the_replacement_character(admin_api, campaign):
    response = admin_api.patch(f"/campaigns/{campaign.pk}", '{"name": "Acme \\ud800 Support"}')
    assert response.status_code == 200, response.content
    assert Campaign.objects.get(pk=campaign.pk).name == "Acme \ufffd Support"


@pytest.mark.django_db
def test_a_nul_in_a_query_string_is_removed(client_for, alice, campaign, admin_api):
    assert client_for(alice).get("/inbox/history/?q=abc%00def").status_code == 200
    assert admin_api.get("/users", q="ad\x00a").status_code == 200


@pytest.mark.django_db
def test_a_graph_profile_name_with_nul_is_stored_cleaned(campaign, monkeypatch):
    from pagedesk.conversations.models import Contact
    from pagedesk.messenger import client, profiles
    from pagedesk.messenger.models import PageConnection
    from pagedesk.messenger.tokens import page_token_set

    connection = PageConnection.objects.get(campaign=campaign)
    connection.page_id = "104729538012345"
    page_token_set(page_connection=connection, token="PAGE-TOKEN")
    connection.save()
    contact = Contact.objects.create(page_id=connection.page_id, psid="6789012345678901")
    monkeypatch.setattr(
        client,
        "get",
        lambda *a, **k: {"first_name": "Car\u0000la", "last_name": "C\ud800", "profile_pic": ""},
    )
    assert profiles.contact_profile_refresh(contact_id=contact.pk, attempt=0) == "fetched"
    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name) == ("Carla", "C\ufffd")


@pytest.mark.django_db
def test_a_body_too_large_is_refused_in_the_apis_json_shape(admin_api, campaign):
    """A 5 MB JSON body got Django's HTML "Bad Request (400)" page: Django refuses it before any view."""
    response = admin_api.patch(f"/campaigns/{campaign.pk}", '{"name": "' + "x" * 5_000_000 + '"}')
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert error_of(response)["code"] == "too_large"
