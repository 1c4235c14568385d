"""Ids go to Facebook only when they look like Graph ids (issue 13, finding 9).

A signed webhook carrying the PSID `<img src=x onerror=…>` made pagedesk send
`GET /v25.0/<img src=x onerror=…>`. Every id is now checked before any Graph call, the refusal is a
typed error the callers handle, and no HTTP request is made at all.
"""

from __future__ import annotations

import logging

import httpx
import pytest
from django_tasks_db.models import DBTaskResult

from pagedesk.conversations.models import Contact, Conversation, Message
from pagedesk.conversations.sending import message_send
from pagedesk.core import clock
from pagedesk.messenger import client
from pagedesk.messenger.errors import InvalidId, PolicyError
from pagedesk.messenger.models import PageConnection, TokenStatus
from pagedesk.messenger.profiles import contact_profile_refresh
from pagedesk.messenger.send import message_deliver, sender_action_deliver
from pagedesk.messenger.tokens import page_token_set

PAGE = "1000000000000001"
PSID = "7000000000000001"
HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def requests_sent(monkeypatch) -> list[httpx.Request]:
    """Every HTTP request the Graph client makes; each is answered like Facebook would."""
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.url.path.endswith("/messages"):
            return httpx.Response(200, json={"recipient_id": PSID, "message_id": "m_sent"})
        return httpx.Response(200, json={"id": "1", "first_name": "Carla", "last_name": "G"})

    monkeypatch.setattr(
        client._local, "client", httpx.Client(transport=httpx.MockTransport(answer)), raising=False
    )
    return sent


@pytest.fixture
def connected_page(campaign) -> PageConnection:
    connection = PageConnection.objects.get(campaign=campaign)
    connection.page_id = PAGE
    connection.token_status = TokenStatus.ACTIVE
    page_token_set(page_connection=connection, token="PAGE-TOKEN")
    connection.save()
    return connection


def conversation_with(campaign, alice, *, psid: str) -> Conversation:
    contact = Contact.objects.create(page_id=PAGE, psid=psid)
    return Conversation.objects.create(
        campaign=campaign,
        contact=contact,
        state="assigned",
        agent=alice,
        last_customer_message_at=clock.now(),
    )


@pytest.mark.parametrize(
    "path",
    [
        HOSTILE,
        f"{HOSTILE}/messages",
        "12345?fields=access_token",
        "12345#x",
        "../../oauth/access_token",
        "123/../me",
        "-1",
        "",
        "１２３",  # digits, but not ASCII ones
    ],
)
def test_a_path_whose_node_is_not_a_graph_id_is_refused_without_a_request(requests_sent, path, caplog):
    with caplog.at_level(logging.WARNING, logger="pagedesk.messenger.client"), pytest.raises(InvalidId):
        client.get(path, token="T")
    assert requests_sent == []
    assert "refused to call Facebook" in caplog.text


def test_the_refusal_is_a_policy_error_callers_already_handle_as_not_retryable():
    assert issubclass(InvalidId, PolicyError)


def test_valid_ids_and_named_nodes_still_reach_facebook(requests_sent):
    client.get(PSID, token="T", params={"fields": "first_name"})
    client.get("me/permissions", token="T")
    client.get("debug_token", params={"input_token": "x"})
    client.post(f"{PAGE}/messages", token="T", json={})
    client.get("m_AbC-12_xyz", token="T")  # a Messenger message id
    paths = [request.url.path for request in requests_sent]
    assert paths == [
        f"/v25.0/{PSID}",
        "/v25.0/me/permissions",
        "/v25.0/debug_token",
        f"/v25.0/{PAGE}/messages",
        "/v25.0/m_AbC-12_xyz",
    ]


def test_edges_are_url_quoted_into_the_path(requests_sent):
    client.get(f"{PAGE}/feed name?x=1&y=<b>", token="T")
    (request,) = requests_sent
    assert request.url.raw_path.decode().startswith(f"/v25.0/{PAGE}/feed%20name%3Fx%3D1%26y%3D%3Cb%3E")
    assert "x" not in dict(request.url.params)


@pytest.mark.django_db
def test_a_profile_lookup_for_a_hostile_psid_sends_nothing_and_is_not_retried(
    connected_page, requests_sent, caplog
):
    contact = Contact.objects.create(page_id=PAGE, psid=HOSTILE)
    with caplog.at_level(logging.WARNING, logger="pagedesk.messenger.client"):
        outcome = contact_profile_refresh(contact_id=contact.pk)
    assert outcome.startswith("refused")
    assert requests_sent == []
    assert HOSTILE[:20] in caplog.text  # logged, so the operator can find the contact
    contact.refresh_from_db()
    assert contact.profile_failed_at is not None
    assert not DBTaskResult.objects.filter(task_path__endswith="contact_profile_fetch").exists()


@pytest.mark.django_db
def test_a_reply_to_a_hostile_psid_fails_with_a_reason_and_sends_nothing(
    campaign, alice, connected_page, requests_sent
):
    conversation = conversation_with(campaign, alice, psid=HOSTILE)
    message = message_send(conversation=conversation, author=alice, text="Hi")
    assert message_deliver(message_id=message.pk, attempt=message.send_attempts) == "failed"
    assert requests_sent == []
    message = Message.objects.get(pk=message.pk)
    assert message.status == "failed"
    assert "not a valid" in message.status_reason
    assert HOSTILE not in message.status_reason


@pytest.mark.django_db
def test_a_reply_from_a_hostile_page_id_sends_nothing(campaign, alice, connected_page, requests_sent):
    conversation = conversation_with(campaign, alice, psid=PSID)
    PageConnection.objects.filter(pk=connected_page.pk).update(page_id=f"{PAGE}/../me")
    message = message_send(conversation=conversation, author=alice, text="Hi")
    assert message_deliver(message_id=message.pk, attempt=message.send_attempts) == "failed"
    assert requests_sent == []


@pytest.mark.django_db
def test_a_sender_action_for_a_hostile_psid_sends_nothing(campaign, alice, connected_page, requests_sent):
    conversation = conversation_with(campaign, alice, psid=HOSTILE)
    assert sender_action_deliver(conversation_id=conversation.pk, action="typing_on") == "failed"
    assert requests_sent == []


@pytest.mark.django_db
def test_a_reply_to_a_good_psid_still_goes_out(campaign, alice, connected_page, requests_sent):
    conversation = conversation_with(campaign, alice, psid=PSID)
    message = message_send(conversation=conversation, author=alice, text="Hi")
    assert message_deliver(message_id=message.pk, attempt=message.send_attempts) == "sent"
    assert [request.url.path for request in requests_sent] == [f"/v25.0/{PAGE}/messages"]
