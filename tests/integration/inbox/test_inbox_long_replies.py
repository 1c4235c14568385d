"""Long replies (issue 12, defect 5): the server splits a reply longer than Messenger's 2,000 characters
into several tracked messages at word boundaries, in order, and refuses one above the sane cap with a
clear message; it never cuts text."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from pagedesk.conversations.models import Direction, Message, MessageStatus
from pagedesk.conversations.sending import REPLY_TEXT_MAX, TEXT_LIMIT

from .conftest import make_conversation

pytestmark = pytest.mark.django_db

WORDS = [f"w{i:05d}" for i in range(850)]  # 6 characters + a space each: 5,949 characters
LONG = " ".join(WORDS)


def outbound(conversation):  # type: ignore[no-untyped-def]
    return list(Message.objects.filter(conversation=conversation, direction=Direction.OUT, mid=""))


def test_a_long_reply_becomes_several_messages_in_order_nothing_cut(client_for, alice, campaign):
    conversation = make_conversation(campaign, agent=alice)
    response = client_for(alice).post(f"/inbox/{conversation.pk}/send/", {"text": LONG})
    assert response.status_code == 201, response.content[:300]
    sent = outbound(conversation)
    assert len(sent) == 3
    assert all(len(m.text) <= TEXT_LIMIT for m in sent)
    assert [w for m in sent for w in m.text.split(" ")] == WORDS
    assert [m.status for m in sent] == [MessageStatus.PENDING] * 3
    # Each part is tracked on its own: its own id, its own metadata for the echo.
    assert len({m.extra["metadata"] for m in sent}) == 3
    assert response.content.decode().count('data-testid="message"') == 3


def test_the_browsers_crlf_line_breaks_are_not_counted_twice(client_for, alice, campaign):
    conversation = make_conversation(campaign, agent=alice)
    text = "\r\n".join(["x" * 99] * 20)  # 1,999 characters as the agent typed them, 2,018 as sent
    response = client_for(alice).post(f"/inbox/{conversation.pk}/send/", {"text": text})
    assert response.status_code == 201
    assert [m.text for m in outbound(conversation)] == [text.replace("\r\n", "\n")]


def test_files_go_after_the_last_part(client_for, alice, campaign, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    conversation = make_conversation(campaign, agent=alice)
    response = client_for(alice).post(
        f"/inbox/{conversation.pk}/send/",
        {"text": LONG, "files": [SimpleUploadedFile("b.pdf", b"%PDF", content_type="application/pdf")]},
    )
    assert response.status_code == 201
    sent = outbound(conversation)
    assert [bool(m.text) for m in sent] == [True, True, True, False]
    assert sent[-1].attachments.get().filename == "b.pdf"


def test_a_reply_above_the_cap_is_refused_with_a_clear_message(client_for, alice, campaign):
    conversation = make_conversation(campaign, agent=alice)
    response = client_for(alice).post(f"/inbox/{conversation.pk}/send/", {"text": "y " * REPLY_TEXT_MAX})
    assert response.status_code == 422
    assert "20,000" in response.json()["error"]["message"]
    assert outbound(conversation) == []
