"""The API's read side of the work: conversations (list, filters, detail), messages (cursor pages both
ways), transcripts (JSON and the CSV download), attachments, contacts, recordings and pages; hostile
input, and query counts that do not grow with the page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pagedesk.conversations.models import (
    ConversationEvent,
    SenderType,
)
from pagedesk.core import clock
from pagedesk.messenger.models import InboundEvent
from pagedesk.messenger.oauth import SUBSCRIBED_FIELDS
from tests.integration.api.conftest import error_of
from tests.integration.api.read_world import (
    ACME_PAGE,
    AT,
    World,
    build_world,
    contact,
    conversation,
    message,
    pending_transfer,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(campaign, alice, bob, sam, settings, tmp_path) -> World:
    settings.MEDIA_ROOT = tmp_path
    return build_world(campaign, alice=alice, bob=bob)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


# --- The list ---------------------------------------------------------------------------------------


def test_the_list_is_newest_first_in_the_public_shape_and_pages_like_the_other_lists(admin_api, world: World):
    body = admin_api.get("/conversations").json()

    assert [c["id"] for c in body["items"]] == [world.beta_one.pk, world.open_one.pk, world.closed_one.pk]
    assert {k: body[k] for k in ("count", "page", "pages", "next", "previous")} == {
        "count": 3,
        "page": 1,
        "pages": 1,
        "next": None,
        "previous": None,
    }
    first = body["items"][1]
    assert first["state"] == "assigned"
    assert first["campaign"] == {"id": world.acme.pk, "name": "Acme Support"}
    assert first["contact"]["psid"] == world.carla.psid and first["contact"]["display_name"] == "Carla Mendes"
    assert first["agent"]["name"] == "Alice" and first["agent"]["integration"] is False

    oldest = admin_api.get("/conversations", order="oldest", page_size=2).json()
    assert [c["id"] for c in oldest["items"]] == [world.closed_one.pk, world.open_one.pk]
    assert oldest["next"] == "/api/v1/conversations?order=oldest&page_size=2&page=2"
    assert ids(admin_api.get("/conversations", order="oldest", page_size=2, page=2)) == [world.beta_one.pk]
    past = admin_api.get("/conversations", page=3, page_size=2)
    assert past.status_code == 404 and error_of(past)["code"] == "page_out_of_range"


def test_each_role_lists_what_the_pages_let_it_see(api_as, world: World, ada, sam, alice, bob):
    everything = {world.open_one.pk, world.closed_one.pk, world.beta_one.pk}
    assert set(ids(api_as(ada).get("/conversations"))) == everything
    assert set(ids(api_as(sam).get("/conversations"))) == {world.open_one.pk, world.closed_one.pk}
    assert set(ids(api_as(alice).get("/conversations"))) == {world.open_one.pk}
    assert set(ids(api_as(bob).get("/conversations"))) == {world.closed_one.pk, world.beta_one.pk}
    assert set(ids(api_as(world.crm).get("/conversations"))) == {world.open_one.pk, world.closed_one.pk}


def test_filters(admin_api, world: World, alice, bob):
    get = admin_api.get
    assert ids(get("/conversations", campaign=world.beta.pk)) == [world.beta_one.pk]
    assert ids(get("/conversations", state="closed")) == [world.closed_one.pk]
    assert ids(get("/conversations", state="bot")) == []
    assert ids(get("/conversations", agent=alice.pk)) == [world.open_one.pk]
    assert ids(get("/conversations", agent=bob.pk)) == [world.beta_one.pk, world.closed_one.pk]
    assert ids(get("/conversations", contact=world.diego.pk)) == [world.closed_one.pk]
    assert ids(get("/conversations", q="refund")) == [world.beta_one.pk, world.open_one.pk]
    assert ids(get("/conversations", q="refund order")) == [world.open_one.pk]
    assert ids(get("/conversations", q="zanzibar")) == []
    # Local days: Acme is Europe/Madrid, so its 2026-03-01 ends at 23:00 UTC.
    assert ids(get("/conversations", **{"from": "2026-03-02"})) == [world.beta_one.pk, world.open_one.pk]
    assert ids(get("/conversations", to="2026-03-01")) == [world.closed_one.pk]
    assert ids(get("/conversations", campaign=world.acme.pk, state="assigned", q="refund")) == [
        world.open_one.pk
    ]


def test_a_bot_conversation_is_found_by_its_state(admin_api, world: World):
    with_bot = conversation(world.acme, contact(ACME_PAGE, "7100000000000099", "Ines"), at=AT, state="bot")
    assert ids(admin_api.get("/conversations", state="bot")) == [with_bot.pk]
    assert admin_api.get(f"/conversations/{with_bot.pk}").json()["state"] == "bot"


def test_updated_since_finds_new_messages_and_state_changes_only(admin_api, world: World):
    later = AT + dt.timedelta(hours=2)
    assert ids(admin_api.get("/conversations", updated_since=later.isoformat())) == []

    message(world.closed_one, "one more thing", at=later + dt.timedelta(seconds=1))
    ConversationEvent.objects.create(
        conversation=world.beta_one, kind="closed", at=later + dt.timedelta(seconds=2)
    )

    assert ids(admin_api.get("/conversations", updated_since=later.isoformat())) == [
        world.beta_one.pk,
        world.closed_one.pk,
    ]
    assert ids(admin_api.get("/conversations", updated_since="2026-03-02T12:00:02+00:00")) == [
        world.beta_one.pk
    ]
    # Same moment in another zone's notation.
    assert ids(admin_api.get("/conversations", updated_since="2026-03-02T13:00:02+01:00")) == [
        world.beta_one.pk
    ]


@pytest.mark.parametrize(
    ("query", "field", "says"),
    [
        ({"campaign": 2**64}, "campaign", "less than or equal"),
        ({"agent": 0}, "agent", "greater than or equal"),
        ({"contact": "abc"}, "contact", "integer"),
        ({"state": "lost"}, "state", "'bot'"),
        ({"q": "x" * 201}, "q", "200"),
        ({"from": "2026-13-01"}, "from", "YYYY-MM-DD"),
        ({"from": "yesterday"}, "from", "YYYY-MM-DD"),
        ({"updated_since": "2026-03-02T10:00:00"}, "updated_since", "timezone"),
        ({"updated_since": "soon"}, "updated_since", "ISO 8601"),
        ({"updated_since": "0.5"}, "updated_since", "ISO 8601"),
        ({"order": "random"}, "order", "'oldest'"),
        ({"page_size": 1000}, "page_size", "100"),
        ({"page": 2**70}, "page", "less than or equal"),
    ],
)
def test_hostile_list_input_is_a_422_naming_the_field(admin_api, world: World, query, field, says):
    response = admin_api.get("/conversations", **query)

    assert response.status_code == 422, response.content
    error = error_of(response)
    assert field in error["fields"], error
    assert says in " ".join(error["fields"][field]), error


def test_an_inverted_range_is_a_rule_broken_400(admin_api, world: World):
    response = admin_api.get("/conversations", **{"from": "2026-03-05", "to": "2026-03-01"})
    assert response.status_code == 400 and error_of(response)["fields"] == {"to": ["`to` is before `from`."]}


def test_a_search_without_words_is_a_400(admin_api, world: World):
    response = admin_api.get("/conversations", q="%%")
    assert response.status_code == 400
    assert error_of(response)["fields"] == {
        "q": ["Search words are made of letters or digits; “%%” has none."]
    }


def test_a_nul_in_the_search_is_removed_not_a_500(admin_api, world: World):
    # core.middleware strips NUL from every query string (PostgreSQL cannot take one).
    assert ids(admin_api.get("/conversations", q="ref\x00und")) == [world.beta_one.pk, world.open_one.pk]


def _queries(client, path: str, **query) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, **query)
    assert response.status_code == 200, response.content
    return len(captured.captured_queries)


def test_the_lists_query_count_does_not_grow_with_the_page(admin_api, api_as, world: World, alice, bob):
    admin_api.get("/conversations")  # the token's last use is written once a minute: not in the counts
    small = _queries(admin_api, "/conversations", page_size=2)
    for i in range(12):
        other = conversation(
            world.acme, contact(ACME_PAGE, f"71000000000010{i:02}", f"C{i}"), at=AT, state="closed", agent=bob
        )
        other.disposition = world.acme.dispositions.create(name=f"D{i}")
        other.closed_by = bob
        other.save()
        message(other, f"text {i}", at=AT)
    assert _queries(admin_api, "/conversations", page_size=15) == small
    # Filters add a fixed number of queries, whatever the page.
    filtered = {"q": "text", "from": "2026-03-01", "agent": bob.pk, "updated_since": "2026-01-01T00:00:00Z"}
    few = _queries(admin_api, "/conversations", page_size=2, **filtered)
    assert _queries(admin_api, "/conversations", page_size=15, **filtered) == few
    integration = api_as(world.crm)
    integration.get("/conversations")
    assert _queries(integration, "/conversations", page_size=2) == _queries(
        integration, "/conversations", page_size=15
    )


# --- One conversation --------------------------------------------------------------------------------


def test_the_detail_has_the_window_and_the_transfer_in_progress(admin_api, world: World, alice, frozen_clock):
    frozen_clock.set(AT + dt.timedelta(hours=1))
    body = admin_api.get(f"/conversations/{world.open_one.pk}").json()
    assert body["id"] == world.open_one.pk and body["state"] == "assigned"
    assert body["window"] == {"mode": "RESPONSE", "expires_at": "2026-03-03T10:00:00Z"}
    assert body["transfer"] is None

    pending_transfer(world, alice)
    frozen_clock.set(AT + dt.timedelta(days=2))
    body = admin_api.get(f"/conversations/{world.open_one.pk}").json()
    assert body["window"] == {"mode": "CLOSED", "expires_at": None}
    assert body["transfer"] == {
        "from_agent": {"id": alice.pk, "name": "Alice", "integration": False},
        "to_agent": None,
        "to_campaign": {"id": world.beta.pk, "name": "Beta"},
        "note": "Billing question",
        "since": "2026-03-02T10:01:00Z",
    }


def test_an_unknown_or_hidden_conversation(api_as, admin_api, world: World, alice):
    missing = admin_api.get("/conversations/999999")
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    # A person: 403 as on the pages; an integration: 404 (test_api_integration_scope.py).
    hidden = api_as(alice).get(f"/conversations/{world.beta_one.pk}")
    assert hidden.status_code == 403 and error_of(hidden)["code"] == "forbidden"
    assert admin_api.get(f"/conversations/{2**63}").status_code == 422


# --- Messages ------------------------------------------------------------------------------------------


def test_messages_carry_direction_author_status_and_download_urls(admin_api, world: World, alice):
    body = admin_api.get(f"/conversations/{world.open_one.pk}/messages").json()

    first, reply = body["items"]
    assert (first["direction"], first["sender_type"], first["author"]) == ("in", "customer", None)
    assert first["attachments"][0]["url"] == f"/api/v1/attachments/{world.photo.pk}"
    assert first["attachments"][0]["filename"] == "receipt.png"
    assert reply["direction"] == "out" and reply["author"] == {
        "id": alice.pk,
        "name": "Alice",
        "integration": False,
    }
    assert (reply["status"], reply["status_reason"], reply["mid"]) == (
        "failed",
        "Outside the window",
        "m_reply",
    )
    assert (body["before"], body["after"], body["has_before"], body["has_after"]) == (
        None,
        world.reply.pk,
        False,
        False,
    )


def test_an_integrations_message_is_flagged(admin_api, world: World):
    message(
        world.open_one,
        "From the bot",
        at=AT + dt.timedelta(minutes=1),
        sender=SenderType.INTEGRATION,
        author=world.crm,
    )
    last = admin_api.get(f"/conversations/{world.open_one.pk}/messages").json()["items"][-1]
    assert last["sender_type"] == "integration"
    assert last["author"] == {"id": world.crm.pk, "name": "Crm", "integration": True}


def test_messages_page_both_ways_by_cursor(admin_api, world: World):
    conv = world.closed_one
    # Same timestamps for some: the order is (created_at, id), and cursors keep it.
    extra = [
        message(conv, f"m{i}", at=AT - dt.timedelta(days=1) + dt.timedelta(seconds=i // 2)) for i in range(9)
    ]
    thread = list(conv.messages.order_by("created_at", "pk").values_list("pk", flat=True))
    assert len(thread) == 10 and set(m.pk for m in extra) < set(thread)
    path = f"/conversations/{conv.pk}/messages"

    newest = admin_api.get(path, limit=4).json()
    assert [m["id"] for m in newest["items"]] == thread[6:]
    assert newest["has_before"] and not newest["has_after"] and newest["before"] == thread[6]

    older = admin_api.get(path, limit=4, before=newest["before"]).json()
    assert [m["id"] for m in older["items"]] == thread[2:6]
    oldest = admin_api.get(path, limit=4, before=older["before"]).json()
    assert [m["id"] for m in oldest["items"]] == thread[:2]
    assert oldest["before"] is None and not oldest["has_before"] and oldest["has_after"]

    forward = admin_api.get(path, limit=4, after=thread[1]).json()
    assert [m["id"] for m in forward["items"]] == thread[2:6] and forward["has_after"]
    rest = admin_api.get(path, limit=4, after=forward["after"]).json()
    assert [m["id"] for m in rest["items"]] == thread[6:] and not rest["has_after"]
    # Polling past the end: nothing new, and the same cursor to poll with again.
    idle = admin_api.get(path, after=thread[-1]).json()
    assert idle["items"] == [] and idle["after"] == thread[-1] and not idle["has_after"]
    new = message(conv, "new", at=clock.now())
    assert [m["id"] for m in admin_api.get(path, after=idle["after"]).json()["items"]] == [new.pk]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"before": "OTHER"}, 400),
        ({"after": "OTHER"}, 400),
        ({"before": "OPEN", "after": "OPEN"}, 400),
        ({"limit": 0}, 422),
        ({"limit": 201}, 422),
        ({"before": 2**64}, 422),
        ({"after": "x"}, 422),
    ],
)
def test_a_bad_cursor_is_refused(admin_api, world: World, query, status):
    named = {"OTHER": world.beta_one.messages.first().pk, "OPEN": world.first_message.pk}
    query = {k: named.get(v, v) if isinstance(v, str) else v for k, v in query.items()}
    response = admin_api.get(f"/conversations/{world.open_one.pk}/messages", **query)
    assert response.status_code == status, response.content
    assert error_of(response)["fields"]


def test_a_message_pages_query_count_does_not_grow_with_the_limit(admin_api, world: World):
    for i in range(30):
        message(
            world.open_one,
            f"n{i}",
            at=AT + dt.timedelta(minutes=1, seconds=i),
            sender=SenderType.AGENT,
            author=world.crm,
        )
    path = f"/conversations/{world.open_one.pk}/messages"
    admin_api.get(path)
    small = _queries(admin_api, path, limit=2)
    assert _queries(admin_api, path, limit=30) == small
    cursor = world.first_message.pk
    assert _queries(admin_api, path, limit=2, after=cursor) == _queries(
        admin_api, path, limit=30, after=cursor
    )


# --- Transcript and attachments -----------------------------------------------------------------------


def test_the_transcript_as_json_and_as_the_pages_csv(admin_api, client_for, ada, world: World):
    path = f"/conversations/{world.open_one.pk}/transcript"
    body = admin_api.get(path).json()
    assert body["conversation"]["id"] == world.open_one.pk
    assert [m["id"] for m in body["messages"]] == [world.first_message.pk, world.reply.pk]
    assert [e["kind"] for e in body["timeline"]] == ["queued", "assigned"]
    assert body["timeline"][1]["agent"] == "Alice"
    assert body["wait_seconds"] == 20.0

    csv_response = admin_api.client.get("/api/v1" + path, HTTP_ACCEPT="text/csv", **admin_api.headers)
    assert csv_response.status_code == 200
    assert csv_response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        csv_response["Content-Disposition"] == f'attachment; filename="conversation-{world.open_one.pk}.csv"'
    )
    page_csv = client_for(ada).get(reverse("recordings:transcript_download", args=[world.open_one.pk]))
    assert b"".join(csv_response.streaming_content) == b"".join(page_csv.streaming_content)
    # JSON stays the answer for a client that prefers it.
    both = admin_api.client.get(
        "/api/v1" + path, HTTP_ACCEPT="application/json, text/csv", **admin_api.headers
    )
    assert both["Content-Type"].startswith("application/json")


def test_an_attachment_downloads_with_the_conversations_access(api_as, admin_api, world: World, alice):
    response = admin_api.get(f"/attachments/{world.photo.pk}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"\x89PNG receipt"
    assert response["Content-Disposition"] == 'attachment; filename="receipt.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert (
        reverse("api:attachment_download", args=[world.photo.pk]) == f"/api/v1/attachments/{world.photo.pk}"
    )

    assert api_as(alice).get(f"/attachments/{world.photo.pk}").status_code == 200
    assert api_as(alice).get(f"/attachments/{world.beta_photo.pk}").status_code == 403
    assert admin_api.get("/attachments/999999").status_code == 404
    world.photo.file.delete()
    gone = admin_api.get(f"/attachments/{world.photo.pk}")
    assert gone.status_code == 404 and error_of(gone)["code"] == "no_file"


# --- Contacts ---------------------------------------------------------------------------------------------


def test_contacts_list_with_filters_and_roles(api_as, admin_api, world: World, sam, alice):
    assert set(ids(admin_api.get("/contacts"))) == {world.carla.pk, world.diego.pk, world.emma.pk}
    assert set(ids(api_as(sam).get("/contacts"))) == {world.carla.pk, world.diego.pk}
    assert ids(api_as(alice).get("/contacts")) == [world.carla.pk]
    assert ids(admin_api.get("/contacts", campaign=world.beta.pk)) == [world.emma.pk]
    assert ids(admin_api.get("/contacts", page_id=ACME_PAGE, q="novak")) == [world.diego.pk]
    assert ids(admin_api.get("/contacts", q=world.emma.psid)) == [world.emma.pk]
    assert ids(admin_api.get("/contacts", blocked="true")) == [world.diego.pk]
    assert set(ids(admin_api.get("/contacts", blocked="false"))) == {world.carla.pk, world.emma.pk}
    # A NUL in a query string is removed before any view sees it (core.middleware): never a 500.
    assert ids(admin_api.get("/contacts", q="Nov\x00ak")) == [world.diego.pk]
    for hostile in ({"page_id": "12' OR 1=1"}, {"campaign": 2**64}, {"blocked": "maybe"}):
        assert admin_api.get("/contacts", **hostile).status_code == 422, hostile


def test_a_contacts_detail(api_as, admin_api, world: World, alice):
    body = admin_api.get(f"/contacts/{world.diego.pk}").json()
    assert body["psid"] == world.diego.psid and body["page_id"] == ACME_PAGE
    assert body["first_name"] == "Diego" and body["display_name"] == "Diego Novak"
    assert [(b["campaign"]["name"], b["note"]) for b in body["blocked_in"]] == [("Acme Support", "Spam")]
    assert [c["id"] for c in body["conversations"]] == [world.closed_one.pk]
    assert api_as(alice).get(f"/contacts/{world.diego.pk}").status_code == 403
    assert admin_api.get("/contacts/999999").status_code == 404


def test_the_contact_lists_query_count_does_not_grow_with_the_page(admin_api, world: World):
    admin_api.get("/contacts")
    small = _queries(admin_api, "/contacts", page_size=1, blocked="false")
    for i in range(10):
        contact(ACME_PAGE, f"73000000000000{i:02}", f"X{i}")
    assert _queries(admin_api, "/contacts", page_size=12, blocked="false") == small


# --- Recordings ---------------------------------------------------------------------------------------------


def test_recordings_search_with_the_pages_filters_and_rules(api_as, admin_api, world: World, sam, alice, bob):
    body = admin_api.get("/recordings", q="refund").json()
    assert [c["id"] for c in body["items"]] == [world.beta_one.pk, world.open_one.pk]
    assert body["count"] == 2 and body["count_capped"] is False
    assert ids(admin_api.get("/recordings", customer="Diego")) == [world.closed_one.pk]
    assert ids(admin_api.get("/recordings", state="closed", agent=bob.pk)) == [world.closed_one.pk]
    assert ids(admin_api.get("/recordings", **{"from": "2026-03-02", "to": "2026-03-02"})) == [
        world.beta_one.pk,
        world.open_one.pk,
    ]
    assert ids(api_as(alice).get("/recordings")) == [world.open_one.pk]

    # What the page would not offer is refused the same way: sam does not supervise Beta.
    refused = api_as(sam).get("/recordings", campaign=world.beta.pk)
    assert refused.status_code == 400 and "campaign" in error_of(refused)["fields"]
    # /conversations the same way, not an empty page that reads as "no conversations".
    listed = api_as(sam).get("/conversations", campaign=world.beta.pk)
    assert listed.status_code == 400 and error_of(listed) == error_of(refused)
    assert api_as(alice).get("/recordings", agent=bob.pk).status_code == 400
    inverted = admin_api.get("/recordings", **{"from": "2026-03-05", "to": "2026-03-01"})
    assert inverted.status_code == 400 and "to" in error_of(inverted)["fields"]
    # Malformed values are 422s, as everywhere in the API; a search without words searches nothing (400).
    assert admin_api.get("/recordings", state="bot").status_code == 422
    assert admin_api.get("/recordings", **{"from": "2026-02-30"}).status_code == 422
    assert admin_api.get("/recordings", q="--").status_code == 400
    assert admin_api.get("/recordings", page=5).status_code == 404


def test_recordings_count_is_capped_like_the_page(admin_api, world: World, monkeypatch):
    from pagedesk.recordings import selectors

    monkeypatch.setattr(selectors, "COUNT_CAP", 2)
    body = admin_api.get("/recordings", page_size=1).json()
    assert body["count"] == 2 and body["count_capped"] is True and body["pages"] == 2


# --- Pages --------------------------------------------------------------------------------------------------


def test_pages_show_token_health_and_the_last_webhook(api_as, admin_api, world: World, sam):
    InboundEvent.objects.create(page_id=ACME_PAGE, kind="message", dedup_key="a", payload={}, received_at=AT)
    InboundEvent.objects.create(
        page_id=ACME_PAGE, kind="message", dedup_key="b", payload={}, received_at=AT + dt.timedelta(minutes=3)
    )
    beta = world.beta.page_connection
    beta.token_status, beta.token_invalid_reason = "invalid", "The user changed their password."
    beta.save()

    acme, other = admin_api.get("/pages").json()
    assert acme["campaign"]["name"] == "Acme Support" and acme["page_id"] == ACME_PAGE
    assert acme["last_webhook_at"] == "2026-03-02T10:03:00Z" and acme["token_status"] == "active"
    assert acme["subscribed_fields"] == list(SUBSCRIBED_FIELDS)
    assert other["last_webhook_at"] is None
    assert (other["token_status"], other["token_invalid_reason"]) == (
        "invalid",
        "The user changed their password.",
    )
    assert [p["page_id"] for p in api_as(sam).get("/pages").json()] == [ACME_PAGE]
    # Two queries for any number of pages (the pages, the last webhooks), plus authentication.
    admin_api.get("/pages")
    with CaptureQueriesContext(connection) as captured:
        admin_api.get("/pages")
    assert len(captured.captured_queries) <= 3


def test_a_campaign_without_a_page_is_not_listed(admin_api, world: World):
    connection_row = world.beta.page_connection
    connection_row.page_id = ""
    connection_row.save()
    assert [p["page_id"] for p in admin_api.get("/pages").json()] == [ACME_PAGE]


# --- Documentation -----------------------------------------------------------------------------------------

READ_OPERATIONS = {
    ("/api/v1/conversations", "pagedesk_conversations_api_conversations_list"),
    ("/api/v1/conversations/{conversation_id}", "pagedesk_conversations_api_conversations_get"),
    ("/api/v1/conversations/{conversation_id}/messages", "pagedesk_conversations_api_conversations_messages"),
    (
        "/api/v1/conversations/{conversation_id}/transcript",
        "pagedesk_conversations_api_conversations_transcript",
    ),
    ("/api/v1/attachments/{attachment_id}", "pagedesk_conversations_api_attachments_download"),
    ("/api/v1/contacts", "pagedesk_contacts_api_contacts_list"),
    ("/api/v1/contacts/{contact_id}", "pagedesk_contacts_api_contacts_get"),
    ("/api/v1/recordings", "pagedesk_recordings_api_recordings_list"),
    ("/api/v1/pages", "pagedesk_pages_api_pages_list"),
}


def test_every_read_operation_is_documented_with_examples(db):
    openapi = Client().get("/api/v1/openapi.json").json()
    description = openapi["info"]["description"]
    for path, operation_id in READ_OPERATIONS:
        operation = openapi["paths"][path]["get"]
        assert operation["operationId"] == operation_id
        answer = operation["responses"]["200"]
        if path == "/api/v1/attachments/{attachment_id}":
            # A file in its own type, described in words: documented as an application/octet-stream
            # body it stopped Swagger UI from drawing the API page (pagedesk/api/conversations.py).
            assert "content" not in answer and "download" in answer["description"], answer
        else:
            assert any("example" in media for media in answer["content"].values()), path
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and parameter["name"] not in {
                "page",
                "page_size",
                "order",
                "limit",
                "blocked",
                "state",
            }:
                assert parameter.get("examples"), (path, parameter["name"])
        assert (
            f"GET {path.removeprefix('/api/v1').replace('{conversation_id}', '{id}').replace('{contact_id}', '{id}').replace('{attachment_id}', '{id}')}"
            in description
        ), path
    assert (
        "text/csv"
        in openapi["paths"]["/api/v1/conversations/{conversation_id}/transcript"]["get"]["responses"]["200"][
            "content"
        ]
    )
