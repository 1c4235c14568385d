"""What the agent does from the inbox: reply (text, files, limits), retry, read state, typing and
mark_seen, take (race), close with a disposition, transfer, return to queue; and escaping everywhere."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from pagedesk.accounts.models import Presence
from pagedesk.campaigns.services import disposition_create
from pagedesk.conversations.models import ConversationState, Direction, Message, MessageStatus
from pagedesk.inbox import services as inbox_services
from pagedesk.inbox.models import ReadState

from .conftest import available, make_contact, make_conversation

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent_actions(monkeypatch):
    calls: list[tuple[int, str]] = []

    def fake(*, conversation, action: str) -> bool:
        calls.append((conversation.pk, action))
        return True

    monkeypatch.setattr(inbox_services, "sender_action_request", fake)
    return calls


def test_reply_with_text_and_files_records_pending_messages(client_for, alice, campaign, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    conversation = make_conversation(campaign, agent=alice)
    response = client_for(alice).post(
        f"/inbox/{conversation.pk}/send/",
        {
            "text": "Here you go <b>",
            "files": [
                SimpleUploadedFile("a.png", b"\x89PNG....", content_type="image/png"),
                SimpleUploadedFile("b.pdf", b"%PDF", content_type="application/pdf"),
            ],
        },
    )
    assert response.status_code == 201
    html = response.content.decode()
    assert "Here you go &lt;b&gt;" in html and html.count('data-testid="message"') == 3
    outbound = list(Message.objects.filter(conversation=conversation, direction=Direction.OUT, mid=""))
    assert [m.status for m in outbound] == [MessageStatus.PENDING] * 3
    assert (
        ReadState.objects.get(agent=alice, conversation=conversation).last_read_message_id == outbound[-1].pk
    )


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("big.mov", b"x" * 10, content_type="video/quicktime"), "accepts files up to"),
        (SimpleUploadedFile("run.exe", b"MZ", content_type="application/x-msdownload"), "not a type"),
    ],
)
def test_uploads_are_checked_on_the_server_too(client_for, alice, campaign, monkeypatch, upload, message):
    monkeypatch.setattr("pagedesk.inbox.forms.ATTACHMENT_MAX_BYTES", 5)
    conversation = make_conversation(campaign, agent=alice)
    response = client_for(alice).post(f"/inbox/{conversation.pk}/send/", {"text": "", "files": [upload]})
    assert response.status_code == 422
    assert message in response.json()["error"]["message"]
    assert not Message.objects.filter(conversation=conversation, direction=Direction.OUT, mid="").exists()


def test_an_empty_reply_is_refused(client_for, alice, campaign):
    conversation = make_conversation(campaign, agent=alice)
    response = client_for(alice).post(f"/inbox/{conversation.pk}/send/", {"text": "   "})
    assert response.status_code == 422


def test_retry_requeues_a_failed_message(
    client_for, alice, campaign, published, django_capture_on_commit_callbacks
):
    conversation = make_conversation(campaign, agent=alice)
    failed = Message.objects.create(
        conversation=conversation,
        direction=Direction.OUT,
        sender_type="agent",
        author=alice,
        page_id="p",
        text="lost",
        status=MessageStatus.FAILED,
        status_reason="boom",
    )
    client = client_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/inbox/{conversation.pk}/messages/{failed.pk}/retry/")
    assert response.status_code == 200
    failed.refresh_from_db()
    assert failed.status == MessageStatus.PENDING
    assert any(e.type == "message.status_changed" and e.message_id == failed.pk for e, _ in published)
    again = client.post(f"/inbox/{conversation.pk}/messages/{failed.pk}/retry/")
    assert again.status_code == 409


def test_opening_marks_read_and_sends_mark_seen_typing_sends_typing_on(
    client_for, alice, campaign, sent_actions
):
    conversation = make_conversation(campaign, agent=alice, messages=4)
    client = client_for(alice)
    lists = client.get("/inbox/lists/").content.decode()
    assert 'data-unread-total="2"' in lists
    assert client.post(f"/inbox/{conversation.pk}/seen/").status_code == 204
    assert 'data-unread-total="0"' in client.get("/inbox/lists/").content.decode()
    assert client.post(f"/inbox/{conversation.pk}/typing/").status_code == 204
    assert sent_actions == [(conversation.pk, "mark_seen"), (conversation.pk, "typing_on")]


def test_ringall_take_race_second_click_gets_already_taken(client_for, alice, bob, campaign):
    available(alice, bob)
    pending = make_conversation(campaign, state=ConversationState.QUEUED, messages=1)
    first = client_for(alice).post(f"/inbox/{pending.pk}/take/")
    second = client_for(bob).post(f"/inbox/{pending.pk}/take/")
    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json()["error"]["message"] == "Another agent already took this conversation."
    pending.refresh_from_db()
    assert (pending.state, pending.agent_id) == (ConversationState.ASSIGNED, alice.pk)


def test_close_requires_a_disposition_when_the_campaign_has_some(client_for, alice, campaign, no_routing):
    available(alice)
    solved = disposition_create(campaign=campaign, name="Solved")
    conversation = make_conversation(campaign, agent=alice)
    client = client_for(alice)
    refused = client.post(f"/inbox/{conversation.pk}/close/")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "disposition_required"
    assert client.post(f"/inbox/{conversation.pk}/close/", {"disposition": solved.pk}).status_code == 200
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.CLOSED and conversation.disposition == solved
    assert "Carla Customer" in client.get("/inbox/history/").content.decode()


def test_transfer_to_bob_and_return_to_queue(client_for, alice, bob, campaign, no_routing):
    available(alice, bob)
    conversation = make_conversation(campaign, agent=alice)
    client = client_for(alice)
    form = client.get(f"/inbox/{conversation.pk}/transfer/").content.decode()
    assert f'value="agent:{bob.pk}"' in form
    response = client.post(
        f"/inbox/{conversation.pk}/transfer/", {"target": f"agent:{bob.pk}", "note": "<i>vip</i>"}
    )
    assert response.status_code == 200
    conversation.refresh_from_db()
    assert conversation.agent_id == bob.pk and conversation.transfer_note == "<i>vip</i>"
    pane = client_for(bob).get(f"/inbox/{conversation.pk}/pane/").content.decode()
    assert "&lt;i&gt;vip&lt;/i&gt;" in pane and "<i>vip</i>" not in pane
    assert client_for(bob).post(f"/inbox/{conversation.pk}/return/").status_code == 200
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.QUEUED


def test_transfer_to_an_unavailable_agent_is_refused_with_the_reason(client_for, alice, bob, campaign):
    available(alice)
    bob.presence = Presence.OFFLINE
    bob.save()
    conversation = make_conversation(campaign, agent=alice)
    response = client_for(alice).post(f"/inbox/{conversation.pk}/transfer/", {"target": f"agent:{bob.pk}"})
    assert response.status_code == 409
    assert "Available" in response.json()["error"]["message"]


def test_a_transfer_note_refused_says_what_is_wrong_with_the_note(client_for, alice, bob, campaign):
    """A NUL in the note was answered "Choose an agent or a campaign", though one was chosen."""
    available(alice, bob)
    conversation = make_conversation(campaign, agent=alice)
    response = client_for(alice).post(
        f"/inbox/{conversation.pk}/transfer/", {"target": f"agent:{bob.pk}", "note": "vip\x00"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == "note" and "Null characters" in error["message"]
    conversation.refresh_from_db()
    assert conversation.agent_id == alice.pk


PAYLOAD = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def test_customer_text_names_and_filenames_are_escaped_everywhere(
    client_for, alice, campaign, settings, tmp_path
):
    from django.core.files.base import ContentFile

    from pagedesk.conversations.models import Attachment

    settings.MEDIA_ROOT = tmp_path
    contact = make_contact(first_name=PAYLOAD, last_name="<b>x</b>")
    conversation = make_conversation(campaign, agent=alice, contact=contact, messages=0)
    message = Message.objects.create(
        conversation=conversation, direction=Direction.IN, sender_type="customer", page_id="p", text=PAYLOAD
    )
    attachment = Attachment(
        message=message, type="file", filename=PAYLOAD + ".pdf", content_type="application/pdf"
    )
    attachment.file.save("f.pdf", ContentFile(b"%PDF"), save=True)
    client = client_for(alice)
    for url in [
        "/inbox/",
        f"/inbox/{conversation.pk}/",
        f"/inbox/{conversation.pk}/messages/",
        "/inbox/lists/",
    ]:
        html = client.get(url).content.decode()
        assert "<script>alert(1)" not in html and "<img src=x" not in html and "<b>x</b>" not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url
