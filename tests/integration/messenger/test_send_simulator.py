"""The Send API against the simulator over HTTP: success, each error class, ambiguous timeouts, pacing."""

from __future__ import annotations

import httpx
import pytest

from pagedesk.campaigns.services import campaign_create
from pagedesk.conversations.models import Contact, Conversation, Message
from pagedesk.conversations.sending import message_send
from pagedesk.core import clock
from pagedesk.messenger import client as graph_client
from pagedesk.messenger.models import PageConnection, TokenStatus
from pagedesk.messenger.send import message_deliver, messages_resend_pending, sender_action_deliver
from pagedesk.messenger.tokens import page_token_set
from tests.integration.messenger.facebook_simulator import (
    ACME_PAGE_ID,
    ACME_SEED_PAGE_TOKEN,
    CARLA,
    Simulator,
)


@pytest.fixture
def fb(fb: Simulator) -> Simulator:
    # Carla wrote to the page just now, so the 24 h window is open on Facebook's side too.
    fb.customer_says(CARLA, "Hello, my order is late")
    return fb


@pytest.fixture
def conversation(db, fb, alice) -> Conversation:
    campaign = campaign_create(fields={"name": "Acme Support", "page_name": "Acme Support"})
    connection = PageConnection.objects.get(campaign=campaign)
    connection.page_id = ACME_PAGE_ID
    connection.page_name = "Acme Support"
    connection.token_status = TokenStatus.ACTIVE
    # The simulator's seeded page token for Acme Support (what `pagedesk demo` uses).
    page_token_set(page_connection=connection, token=ACME_SEED_PAGE_TOKEN)
    connection.save()
    contact = Contact.objects.create(page_id=ACME_PAGE_ID, psid=CARLA)
    return Conversation.objects.create(
        campaign=campaign,
        contact=contact,
        state="assigned",
        agent=alice,
        last_customer_message_at=clock.now(),
    )


def deliver(message: Message) -> str:
    message.refresh_from_db()
    return message_deliver(message_id=message.pk, attempt=message.send_attempts)


@pytest.mark.django_db
def test_send_success(fb, conversation, alice):
    message = message_send(conversation=conversation, author=alice, text="Your parcel ships today")
    assert deliver(message) == "sent"
    message.refresh_from_db()
    sent = fb.sent(ACME_PAGE_ID, CARLA)
    assert [m["text"] for m in sent] == ["Your parcel ships today"]
    assert sent[0]["mid"] == message.mid
    assert sent[0]["metadata"] == f"pagedesk:{message.pk}"


@pytest.mark.django_db
def test_attachment_upload_and_send(fb, conversation, alice, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    message = message_send(
        conversation=conversation,
        author=alice,
        text="",
        files=[SimpleUploadedFile("label.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, content_type="image/png")],
    )
    assert deliver(message) == "sent"
    attachment = message.attachments.get()
    assert attachment.attachment_id
    sent = fb.sent(ACME_PAGE_ID, CARLA)
    assert len(sent) == 1 and sent[0]["attachments"][0]["type"] == "image"


@pytest.mark.django_db
def test_sender_action(fb, conversation):
    assert sender_action_deliver(conversation_id=conversation.pk, action="typing_on") == "sent"
    actions = fb.http.get("/_control/sent", params={"page_id": ACME_PAGE_ID, "psid": CARLA}).json()[
        "sender_actions"
    ]
    assert [a["action"] for a in actions] == ["typing_on"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("rule", "outcome", "status", "reason_part"),
    [
        ({"code": 2, "status": 500, "is_transient": True}, "retry", "pending", "Facebook could not take"),
        ({"code": 613, "status": 400}, "retry", "pending", "slow down"),
        ({"code": 10, "error_subcode": 2018278, "status": 400}, "failed", "failed", "24 hours"),
        ({"code": 230, "status": 403}, "failed", "failed", "permissions"),
        (
            {"code": 551, "status": 400, "message": "This person isn't available right now."},
            "failed",
            "failed",
            "isn't available",
        ),
    ],
)
def test_error_classes(fb, conversation, alice, rule, outcome, status, reason_part):
    fb.inject_error(endpoint="messages", **rule)
    message = message_send(conversation=conversation, author=alice, text="Hi")
    assert deliver(message) == outcome
    message.refresh_from_db()
    assert message.status == status
    assert reason_part in message.status_reason
    assert fb.sent(ACME_PAGE_ID, CARLA) == []


@pytest.mark.django_db
def test_transient_error_then_the_retry_sends(fb, conversation, alice):
    fb.inject_error(endpoint="messages", code=1, status=500, is_transient=True)
    message = message_send(conversation=conversation, author=alice, text="Hi")
    assert deliver(message) == "retry"
    assert deliver(message) == "sent"
    assert len(fb.sent(ACME_PAGE_ID, CARLA)) == 1


@pytest.mark.django_db
def test_outside_the_window_on_facebooks_side(fb, conversation, alice):
    # pagedesk thinks the window is open but Facebook disagrees (clock skew, missed webhook).
    fb.http.post("/_control/clock", json={"advance_seconds": 2 * 86400}).raise_for_status()
    message = message_send(conversation=conversation, author=alice, text="Hi")
    assert deliver(message) == "failed"
    message.refresh_from_db()
    assert message.status == "failed" and "24 hours" in message.status_reason


@pytest.mark.django_db
def test_revoked_token_waits_then_sends_after_reactivation(fb, conversation, alice):
    fb.revoke_page(ACME_PAGE_ID)
    message = message_send(conversation=conversation, author=alice, text="Hi")
    assert deliver(message) == "waiting_token"
    message.refresh_from_db()
    assert message.status == "pending" and "Facebook revoked the page token" in message.status_reason
    connection = PageConnection.objects.get(campaign=conversation.campaign)
    assert connection.token_status == "invalid"

    # Re-activation stores a fresh token; the seed token was revoked, so issue one through OAuth's
    # page-token path: the simulator hands out a new page token for the admin's long-lived user token.
    fresh = _fresh_page_token(fb)
    page_token_set(page_connection=connection, token=fresh)
    connection.token_status = TokenStatus.ACTIVE
    connection.save()
    assert messages_resend_pending(page_connection=connection)["queued"] == 1
    assert deliver(message) == "sent"
    assert [m["text"] for m in fb.sent(ACME_PAGE_ID, CARLA)] == ["Hi"]


def _fresh_page_token(fb: Simulator) -> str:
    from django.conf import settings

    from pagedesk.messenger import oauth

    redirect = "http://testserver/cb"
    query = fb.dialog_code(
        f"{fb.url}/v25.0/dialog/oauth?client_id={settings.FACEBOOK_APP_ID}&redirect_uri={redirect}"
        "&state=s&scope=pages_messaging,pages_show_list,pages_manage_metadata,pages_read_engagement&response_type=code"
    )
    user_token = oauth.user_token_long_lived(
        user_token=oauth.user_token_from_code(code=query["code"], redirect_uri=redirect)
    )
    page = next(p for p in oauth.pages_list(user_token=user_token) if p.id == ACME_PAGE_ID)
    return page.access_token


@pytest.mark.django_db
def test_ambiguous_timeout_is_reconciled_not_resent(fb, conversation, alice, monkeypatch, frozen_clock):
    Conversation.objects.filter(pk=conversation.pk).update(last_customer_message_at=clock.now())
    # Facebook takes the message but answers after our read timeout.
    fb.inject_error(endpoint="messages", latency_ms=1500)
    monkeypatch.setattr(
        graph_client._local, "client", httpx.Client(timeout=httpx.Timeout(5.0, read=0.5)), raising=False
    )
    message = message_send(conversation=conversation, author=alice, text="Hi")
    assert deliver(message) == "unconfirmed"
    import time

    deadline = time.monotonic() + 5
    while not fb.sent(ACME_PAGE_ID, CARLA) and time.monotonic() < deadline:
        time.sleep(0.05)
    sent = fb.sent(ACME_PAGE_ID, CARLA)
    assert len(sent) == 1 and sent[0]["metadata"] == f"pagedesk:{message.pk}"
    # The echo carries our metadata; the webhook side records its mid on the message.
    Message.objects.filter(pk=message.pk).update(status="sent", mid=sent[0]["mid"])
    frozen_clock.advance(seconds=120)
    assert deliver(message) == "skipped"
    assert len(fb.sent(ACME_PAGE_ID, CARLA)) == 1


@pytest.mark.django_db
def test_a_split_reply_leaves_in_order_whichever_worker_takes_which_part(fb, conversation, alice):
    """Two workers may hold two parts of one split reply; the later part never overtakes the earlier."""
    from pagedesk.conversations.sending import messages_send

    first, second = messages_send(
        conversation=conversation, author=alice, text=("one " * 400 + "two " * 400).strip()
    )
    assert deliver(second) == "waiting_previous"
    assert fb.sent(ACME_PAGE_ID, CARLA) == []
    assert deliver(first) == "sent"
    assert deliver(second) == "sent"
    texts = [m["text"] for m in fb.sent(ACME_PAGE_ID, CARLA)]
    assert texts[0].startswith("one") and texts[1].endswith("two")


@pytest.mark.django_db
def test_a_failed_earlier_reply_does_not_hold_the_next_back(fb, conversation, alice):
    from pagedesk.messenger.send import message_fail

    first = message_send(conversation=conversation, author=alice, text="first")
    second = message_send(conversation=conversation, author=alice, text="second")
    message_fail(message=first, reason="refused for the test")
    assert deliver(second) == "sent"
