"""POST /api/v1/conversations/{id}/messages: the composer's service, limits and refusals, for agents
and integrations; hostile input; Idempotency-Key (sequential, and concurrent on both databases)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from pagedesk.api import conversation_actions
from pagedesk.api.idempotency import idempotency_keys_expire
from pagedesk.api.models import IdempotencyKey
from pagedesk.campaigns import schedule
from pagedesk.campaigns.services import campaign_create, integration_revoke
from pagedesk.conversations.models import ConversationState, Direction, Message, SenderType
from pagedesk.core import clock
from pagedesk.realtime.events import MessageCreated
from tests.integration.api.conftest import ApiClient, error_of
from tests.integration.api.writes import integration_api, make_integration
from tests.integration.inbox.conftest import make_conversation

pytestmark = pytest.mark.django_db


def _outbound(conversation) -> list[Message]:  # type: ignore[no-untyped-def]
    return list(
        Message.objects.filter(conversation=conversation, direction=Direction.OUT, mid="").order_by("pk")
    )


def keyed(api: ApiClient, key: str) -> ApiClient:
    return ApiClient(api.client, {**api.headers, "HTTP_IDEMPOTENCY_KEY": key})


@pytest.fixture
def other_campaign(db):
    return campaign_create(
        fields={"name": "Beta Sales", "page_name": "Beta", "timezone": "UTC"},
        ranges=[schedule.Range(schedule.ALL_WEEKDAYS, 0, schedule.MINUTES_PER_DAY)],
    )


# --- agents ----------------------------------------------------------------------------------------


def test_the_assigned_agent_sends_text_as_pending_messages(
    api_as, alice, campaign, published, django_capture_on_commit_callbacks
):
    conversation = make_conversation(campaign, agent=alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(alice).post(
            f"/conversations/{conversation.pk}/messages", {"text": "Hello <b>there</b>"}
        )
    assert response.status_code == 201, response.content
    (body,) = response.json()
    assert body["text"] == "Hello <b>there</b>" and body["status"] == "pending"
    assert body["sender_type"] == "agent" and body["author"] == {
        "id": alice.pk,
        "name": alice.name,
        "integration": False,
    }
    assert body["conversation_id"] == conversation.pk and body["direction"] == "out"
    (message,) = _outbound(conversation)
    assert message.pk == body["id"] and message.author == alice
    created = [e for e, _groups in published if isinstance(e, MessageCreated)]
    assert [e.message_id for e in created] == [message.pk]
    conversation.refresh_from_db()
    assert conversation.first_response_at is not None


def test_a_long_text_is_split_like_the_composer_and_a_too_long_one_refused(api_as, alice, campaign):
    conversation = make_conversation(campaign, agent=alice)
    api = api_as(alice)
    response = api.post(f"/conversations/{conversation.pk}/messages", {"text": ("word " * 900).strip()})
    assert response.status_code == 201
    assert len(response.json()) == 3 and all(len(m["text"]) <= 2000 for m in response.json())
    huge = api.post(f"/conversations/{conversation.pk}/messages", {"text": "x" * 100_000})
    assert huge.status_code == 422
    error = error_of(huge)
    assert error["code"] == "invalid_reply" and "100,000 characters" in error["message"]
    assert len(_outbound(conversation)) == 3


def test_text_and_files_as_multipart(api_as, alice, campaign, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    conversation = make_conversation(campaign, agent=alice)
    api = api_as(alice)
    response = api.client.post(
        f"/api/v1/conversations/{conversation.pk}/messages",
        {
            "text": "Here you go",
            "files": [
                SimpleUploadedFile("a.png", b"\x89PNG....", content_type="image/png"),
                SimpleUploadedFile("b.pdf", b"%PDF-1.4", content_type="application/pdf"),
            ],
        },
        **api.headers,
    )
    assert response.status_code == 201, response.content
    text, png, pdf = response.json()
    assert text["text"] == "Here you go" and text["attachments"] == []
    assert (
        png["attachments"][0]["filename"] == "a.png"
        and pdf["attachments"][0]["content_type"] == "application/pdf"
    )
    download = api.client.get(png["attachments"][0]["url"], **api.headers)
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"\x89PNG...."


def test_a_file_the_composer_refuses_is_refused_with_its_message(api_as, alice, campaign):
    conversation = make_conversation(campaign, agent=alice)
    api = api_as(alice)
    response = api.client.post(
        f"/api/v1/conversations/{conversation.pk}/messages",
        {
            "text": "",
            "files": [SimpleUploadedFile("run.exe", b"MZ", content_type="application/x-msdownload")],
        },
        **api.headers,
    )
    assert response.status_code == 422
    assert "not a type Messenger can show" in error_of(response)["message"]
    assert _outbound(conversation) == []


def test_outside_the_window_the_composers_refusal(api_as, client_for, alice, campaign):
    old = clock.now() - dt.timedelta(days=8)
    conversation = make_conversation(campaign, agent=alice, at=old)
    response = api_as(alice).post(f"/conversations/{conversation.pk}/messages", {"text": "Hello?"})
    inbox = client_for(alice).post(f"/inbox/{conversation.pk}/send/", {"text": "Hello?"})
    assert response.status_code == inbox.status_code == 409
    assert error_of(response) == inbox.json()["error"]
    assert error_of(response)["code"] == "outside_window"
    assert _outbound(conversation) == []


def test_only_the_assigned_agent_writes(api_as, alice, bob, sam, ada, campaign):
    conversation = make_conversation(campaign, agent=bob)
    path = f"/conversations/{conversation.pk}/messages"
    # As in the inbox: a colleague's conversation is not found, a pending one is "not yours".
    assert api_as(alice).post(path, {"text": "hi"}).status_code == 404
    queued = make_conversation(campaign, state=ConversationState.QUEUED)
    pending = api_as(alice).post(f"/conversations/{queued.pk}/messages", {"text": "hi"})
    assert pending.status_code == 403 and error_of(pending)["code"] == "not_your_conversation"
    for person in (sam, ada):
        refused = api_as(person).post(path, {"text": "hi"})
        assert refused.status_code == 403 and error_of(refused)["code"] == "agent_action"
    assert api_as(alice).post("/conversations/999999/messages", {"text": "hi"}).status_code == 404
    assert api_as(None).post(path, {"text": "hi"}).status_code == 401
    assert _outbound(conversation) == []


# --- hostile input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"text": "a\u0000b"}, 422, "text"),
        ({"text": {"nested": {"deeper": ["x"]}}}, 422, "text"),
        ({"text": ["a", "b"]}, 422, "text"),
        ([{"text": "hi"}], 422, "__all__"),
        ("{not json", 400, None),
        ({"text": "   "}, 422, None),
        # Deeper than the JSON decoder recurses: was a 500 with an HTML page (found using the API).
        ('{"text": "deep", "x": ' + "[" * 5000 + "]" * 5000 + "}", 400, None),
        (b"\xff\xfe not utf-8", 400, None),
    ],
)
def test_hostile_bodies_are_refused_and_nothing_is_sent(api_as, alice, campaign, body, status, field):
    conversation = make_conversation(campaign, agent=alice)
    response = api_as(alice).post(f"/conversations/{conversation.pk}/messages", body)
    assert response.status_code == status, response.content
    error = error_of(response)
    if field:
        assert field in error["fields"], error
    assert _outbound(conversation) == []


def test_a_nul_in_a_multipart_text_is_refused(api_as, alice, campaign):
    conversation = make_conversation(campaign, agent=alice)
    api = api_as(alice)
    response = api.client.post(
        f"/api/v1/conversations/{conversation.pk}/messages", {"text": "a\x00b"}, **api.headers
    )
    assert response.status_code == 422 and "text" in error_of(response)["fields"]


def test_a_file_under_another_part_name_is_refused_not_dropped(api_as, alice, campaign):
    conversation = make_conversation(campaign, agent=alice)
    before = conversation.messages.count()
    api = api_as(alice)
    upload = SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, content_type="image/png")
    response = api.client.post(
        f"/api/v1/conversations/{conversation.pk}/messages", {"text": "see", "file": upload}, **api.headers
    )
    assert response.status_code == 422
    assert error_of(response)["field"] == "file" and "`files`" in error_of(response)["message"]
    assert conversation.messages.count() == before


def test_a_script_is_stored_as_text_and_escaped_on_the_pages(api_as, client_for, alice, sam, campaign):
    conversation = make_conversation(campaign, agent=alice)
    script = "<script>alert('x')</script>"
    assert (
        api_as(alice).post(f"/conversations/{conversation.pk}/messages", {"text": script}).status_code == 201
    )
    assert _outbound(conversation)[0].text == script
    pane = client_for(alice).get(f"/inbox/{conversation.pk}/messages/").content.decode()
    transcript = client_for(sam).get(f"/recordings/{conversation.pk}/").content.decode()
    for html in (pane, transcript):
        assert script not in html and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html


# --- integrations ----------------------------------------------------------------------------------


def test_an_integration_writes_in_any_open_conversation_of_its_campaigns(
    alice, campaign, published, django_capture_on_commit_callbacks
):
    integration = make_integration(campaign)
    api = integration_api(integration)
    for state, agent in (
        (ConversationState.QUEUED, None),
        (ConversationState.ASSIGNED, alice),
        (ConversationState.BOT, None),
    ):
        conversation = make_conversation(campaign, agent=agent, state=state)
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(
                f"/conversations/{conversation.pk}/messages", {"text": f"From the bot ({state})"}
            )
        assert response.status_code == 201, (state, response.content)
        (body,) = response.json()
        assert body["sender_type"] == "integration"
        assert body["author"] == {"id": integration.user_id, "name": "Acme Bot", "integration": True}
        (message,) = _outbound(conversation)
        assert message.sender_type == SenderType.INTEGRATION and message.author_id == integration.user_id
        conversation.refresh_from_db()
        # The service level measures agents: a bot's or a CRM's answer does not stop its clock.
        assert conversation.first_response_at is None
    assert sum(isinstance(e, MessageCreated) for e, _groups in published) == 3


def test_an_integration_is_told_nothing_of_other_campaigns(campaign, other_campaign):
    api = integration_api(make_integration(campaign))
    elsewhere = make_conversation(other_campaign, state=ConversationState.QUEUED)
    response = api.post(f"/conversations/{elsewhere.pk}/messages", {"text": "hi"})
    missing = api.post("/conversations/999999/messages", {"text": "hi"})
    assert response.status_code == missing.status_code == 404
    assert _outbound(elsewhere) == []


def test_an_integration_cannot_write_in_a_closed_conversation(alice, campaign):
    api = integration_api(make_integration(campaign))
    closed = make_conversation(campaign, agent=alice, state=ConversationState.CLOSED)
    response = api.post(f"/conversations/{closed.pk}/messages", {"text": "hi"})
    assert response.status_code == 409 and error_of(response)["code"] == "conversation_closed"


def test_a_revoked_integration_is_refused_at_once(campaign):
    integration = make_integration(campaign)
    api = integration_api(integration)
    conversation = make_conversation(campaign, state=ConversationState.QUEUED)
    assert api.get("/me").status_code == 200
    integration_revoke(integration=integration)
    response = api.post(f"/conversations/{conversation.pk}/messages", {"text": "hi"})
    assert response.status_code == 401 and error_of(response)["code"] == "unauthenticated"
    assert _outbound(conversation) == []


# --- Idempotency-Key -------------------------------------------------------------------------------


def test_a_retry_with_the_same_key_sends_once_and_gets_the_first_answer(api_as, alice, campaign):
    conversation = make_conversation(campaign, agent=alice)
    api = keyed(api_as(alice), "order-42-reply")
    path = f"/conversations/{conversation.pk}/messages"
    first = api.post(path, {"text": "Your order shipped."})
    again = api.post(path, {"text": "Your order shipped."})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert len(_outbound(conversation)) == 1
    # The key is the caller's: bob's same key is his own request.
    other = make_conversation(campaign, agent=alice)
    assert (
        keyed(api_as(alice), "other-key")
        .post(f"/conversations/{other.pk}/messages", {"text": "x"})
        .status_code
        == 201
    )


def test_the_same_key_with_a_different_body_is_refused(api_as, alice, campaign):
    conversation = make_conversation(campaign, agent=alice)
    api = keyed(api_as(alice), "k1")
    path = f"/conversations/{conversation.pk}/messages"
    assert api.post(path, {"text": "one"}).status_code == 201
    refused = api.post(path, {"text": "two"})
    assert refused.status_code == 409
    error = error_of(refused)
    assert error["code"] == "idempotency_key_reused" and "different request" in error["message"]
    assert [m.text for m in _outbound(conversation)] == ["one"]


def test_a_refusal_is_the_answer_a_retry_gets_again(api_as, alice, campaign):
    conversation = make_conversation(campaign, agent=alice, at=clock.now() - dt.timedelta(days=8))
    api = keyed(api_as(alice), "late")
    path = f"/conversations/{conversation.pk}/messages"
    first, again = api.post(path, {"text": "hi"}), api.post(path, {"text": "hi"})
    assert first.status_code == again.status_code == 409 and first.json() == again.json()
    assert _outbound(conversation) == []


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there"])
def test_a_malformed_key_is_refused(api_as, alice, campaign, key):
    conversation = make_conversation(campaign, agent=alice)
    response = keyed(api_as(alice), key).post(f"/conversations/{conversation.pk}/messages", {"text": "hi"})
    assert response.status_code == 422 and error_of(response)["code"] == "invalid_idempotency_key"
    assert _outbound(conversation) == []


def test_keys_are_kept_a_day(api_as, alice, campaign, frozen_clock):
    conversation = make_conversation(campaign, agent=alice)
    api = keyed(api_as(alice), "daily")
    path = f"/conversations/{conversation.pk}/messages"
    assert api.post(path, {"text": "hi"}).status_code == 201
    frozen_clock.advance(hours=23)
    assert idempotency_keys_expire() == 0
    assert api.post(path, {"text": "hi"})["Idempotent-Replayed"] == "true"
    frozen_clock.advance(hours=2)
    # The customer wrote again (the 24 h messaging window is open).
    type(conversation).objects.filter(pk=conversation.pk).update(last_customer_message_at=clock.now())
    # Past the day the key is free again, even before the sweep removes it.
    assert not api.post(path, {"text": "hi"}).has_header("Idempotent-Replayed")
    assert len(_outbound(conversation)) == 2
    frozen_clock.advance(hours=25)
    assert idempotency_keys_expire() == 1 and not IdempotencyKey.objects.exists()


def test_startup_arms_one_sweep(db):
    from django_tasks_db.models import DBTaskResult

    from pagedesk.api.tasks import idempotency_keys_sweep, idempotency_startup

    idempotency_startup()
    idempotency_startup()
    waiting = DBTaskResult.objects.filter(task_path=idempotency_keys_sweep.module_path, status="READY")
    assert waiting.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_identical_requests_at_once_send_once(alice, campaign, monkeypatch):
    """Both requests are in flight together: the second claims the key while the first still holds it
    (PostgreSQL: blocked on the unique index; SQLite: on the write lock), then replays its answer."""
    from tests.integration.api.conftest import bearer

    conversation = make_conversation(campaign, agent=alice)
    headers = {**bearer(alice), "HTTP_IDEMPOTENCY_KEY": "together"}
    real_send = conversation_actions.messages_send

    def slow_send(**kwargs):  # type: ignore[no-untyped-def]
        time.sleep(0.3)  # hold the claim while the other request arrives
        return real_send(**kwargs)

    monkeypatch.setattr(conversation_actions, "messages_send", slow_send)
    barrier = threading.Barrier(2)
    answers: list[tuple[int, object, bool]] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            barrier.wait(5)
            response = Client().post(
                f"/api/v1/conversations/{conversation.pk}/messages",
                data='{"text": "Only once"}',
                content_type="application/json",
                **headers,
            )
            answers.append(
                (response.status_code, response.json(), response.has_header("Idempotent-Replayed"))
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert [status for status, _body, _replayed in answers] == [201, 201]
    assert answers[0][1] == answers[1][1]
    assert sorted(replayed for _s, _b, replayed in answers) == [False, True]
    assert [m.text for m in _outbound(conversation)] == ["Only once"]
