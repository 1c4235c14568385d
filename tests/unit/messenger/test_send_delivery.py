"""Delivering an outbound message: each Graph error class becomes the right status, and nothing is sent twice.

The Graph client is replaced by a recorder here; tests/integration/messenger/test_send_simulator.py runs
the same paths against the simulator over HTTP.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django_tasks_db.models import DBTaskResult

from pagedesk.conversations.models import Contact, Conversation, Message
from pagedesk.conversations.sending import message_send
from pagedesk.core import clock
from pagedesk.messenger import errors, send
from pagedesk.messenger.models import PageConnection, TokenStatus
from pagedesk.messenger.send import RECONCILE_SECONDS, message_deliver, messages_resend_pending
from pagedesk.messenger.tokens import page_token_set
from pagedesk.realtime.events import CampaignTokenStatusChanged, MessageStatusChanged

PAGE = "1000000000000001"
PSID = "7000000000000001"


class FakeGraph:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.outcomes: list[Any] = []

    def post(self, path: str, *, token: str | None = None, json: Any = None, **kwargs: Any) -> dict[str, Any]:
        self.calls.append((path, json or kwargs))
        outcome = (
            self.outcomes.pop(0)
            if self.outcomes
            else {"recipient_id": PSID, "message_id": f"m_{len(self.calls)}"}
        )
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    @property
    def sends(self) -> list[dict[str, Any]]:
        return [body for path, body in self.calls if path.endswith("/messages")]


@pytest.fixture
def graph(monkeypatch) -> FakeGraph:
    fake = FakeGraph()
    monkeypatch.setattr(send.client, "post", fake.post)
    # Pacing is tested on its own; here every send gets a slot at once.
    monkeypatch.setattr(send, "send_slot_wait", lambda **kwargs: 0.0)
    return fake


@pytest.fixture
def active_page(campaign) -> PageConnection:
    connection = PageConnection.objects.get(campaign=campaign)
    connection.page_id = PAGE
    connection.page_name = "Acme Support"
    connection.token_status = TokenStatus.ACTIVE
    page_token_set(page_connection=connection, token="EAAB-page-token")
    connection.save()
    return connection


@pytest.fixture
def conversation(campaign, alice, active_page) -> Conversation:
    contact = Contact.objects.create(page_id=PAGE, psid=PSID)
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


def pending_tasks(message: Message) -> list[DBTaskResult]:
    return [
        t
        for t in DBTaskResult.objects.filter(status="READY", task_path__endswith="message_deliver_task")
        if t.args_kwargs["kwargs"]["message_id"] == message.pk
    ]


@pytest.mark.django_db
def test_send_success_records_mid_metadata_and_publishes(
    conversation, alice, graph, published, django_capture_on_commit_callbacks
):
    message = message_send(conversation=conversation, author=alice, text="Hi Carla")
    assert message.status == "pending"
    assert len(pending_tasks(message)) == 1  # enqueued in the same transaction
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(message) == "sent"
    message.refresh_from_db()
    assert (message.status, message.mid, message.messaging_type) == ("sent", "m_1", "RESPONSE")
    body = graph.sends[0]
    assert body == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "Hi Carla", "metadata": f"pagedesk:{message.pk}"},
    }
    statuses = [e.status for e, _to in published if isinstance(e, MessageStatusChanged)]
    assert statuses == ["sent"]
    conversation.refresh_from_db()
    assert conversation.first_response_at is not None


@pytest.mark.django_db
def test_human_agent_tag_between_24h_and_7_days(conversation, campaign, alice, graph):
    campaign.human_agent_enabled = True
    campaign.save()
    Conversation.objects.filter(pk=conversation.pk).update(
        last_customer_message_at=clock.now() - dt.timedelta(hours=30)
    )
    conversation.refresh_from_db()
    message = message_send(conversation=conversation, author=alice, text="Following up")
    assert deliver(message) == "sent"
    assert graph.sends[0]["messaging_type"] == "MESSAGE_TAG"
    assert graph.sends[0]["tag"] == "HUMAN_AGENT"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("error", "reason_part"),
    [
        (errors.OutsideWindow("outside", code=10, subcode=2018278), "24 hours"),
        (errors.PolicyError("No matching user found", code=100, subcode=2018001), "No matching user found"),
        (errors.PermissionMissing("needs pages_messaging", code=230), "Activate with Facebook"),
        (errors.GraphError("weird", code=12345), "weird"),
    ],
)
def test_final_errors_fail_the_message_with_the_reason(conversation, alice, graph, error, reason_part):
    message = message_send(conversation=conversation, author=alice, text="Hi")
    graph.outcomes = [error]
    assert deliver(message) == "failed"
    message.refresh_from_db()
    assert message.status == "failed"
    assert reason_part in message.status_reason
    assert len(graph.sends) == 1


@pytest.mark.django_db
def test_transient_errors_retry_with_backoff_then_fail(conversation, alice, graph):
    message = message_send(conversation=conversation, author=alice, text="Hi")
    graph.outcomes = [errors.Transient("Facebook is down", code=2)] * send.MAX_SEND_ATTEMPTS
    outcomes = [deliver(message) for _ in range(send.MAX_SEND_ATTEMPTS)]
    assert outcomes == ["retry"] * (send.MAX_SEND_ATTEMPTS - 1) + ["failed"]
    message.refresh_from_db()
    assert message.status == "failed"
    assert "Gave up after" in message.status_reason
    retry = [t for t in pending_tasks(message) if t.args_kwargs["kwargs"]["attempt"] == 1]
    assert retry and retry[0].run_after > clock.now()


@pytest.mark.django_db
def test_transient_then_success(conversation, alice, graph):
    message = message_send(conversation=conversation, author=alice, text="Hi")
    graph.outcomes = [errors.Transient("blip", code=1)]
    assert deliver(message) == "retry"
    assert deliver(message) == "sent"
    assert len(graph.sends) == 2


@pytest.mark.django_db
def test_rate_limited_pauses_the_page_and_retries_later(conversation, alice, graph):
    message = message_send(conversation=conversation, author=alice, text="Hi")
    graph.outcomes = [errors.RateLimited("Calls to this api have exceeded the rate limit.", code=613)]
    assert deliver(message) == "retry"
    assert send.send_slot_acquire(page_id=PAGE) > 0  # the whole page waits
    message.refresh_from_db()
    assert message.status == "pending"
    assert "slow down" in message.status_reason


@pytest.mark.django_db
def test_token_invalid_marks_the_page_and_keeps_the_message_pending(
    conversation, campaign, alice, graph, published, django_capture_on_commit_callbacks
):
    message = message_send(conversation=conversation, author=alice, text="Hi")
    graph.outcomes = [errors.TokenInvalid("Error validating access token", code=190, subcode=460)]
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(message) == "waiting_token"
    message.refresh_from_db()
    assert message.status == "pending"
    assert message.status_reason == (
        "Facebook revoked the page token for 'Acme Support'. Replies wait until an administrator reconnects "
        "the page with 'Activate with Facebook'; they are sent then."
    )
    connection = PageConnection.objects.get(campaign=campaign)
    assert connection.token_status == "invalid"
    assert any(
        isinstance(e, CampaignTokenStatusChanged) and e.token_status == "invalid" for e, _ in published
    )
    # A second message written while the token is invalid waits too, without any Graph call.
    second = message_send(conversation=conversation, author=alice, text="Still there?")
    assert second.status == "pending" and "revoked" in second.status_reason
    assert deliver(second) == "waiting_token"
    assert len(graph.sends) == 1

    # Re-activation: both are queued again and sent once each.
    PageConnection.objects.filter(pk=connection.pk).update(token_status="active")
    connection.refresh_from_db()
    assert messages_resend_pending(page_connection=connection) == {"queued": 2, "failed": 0}
    assert deliver(message) == "sent"
    assert deliver(second) == "sent"
    assert [b["message"]["text"] for b in graph.sends] == ["Hi", "Hi", "Still there?"]


@pytest.mark.django_db
def test_resend_after_reactivation_fails_messages_whose_window_closed(conversation, campaign, alice, graph):
    PageConnection.objects.filter(campaign=campaign).update(token_status="invalid")
    message = message_send(conversation=conversation, author=alice, text="Hi")
    Conversation.objects.filter(pk=conversation.pk).update(
        last_customer_message_at=clock.now() - dt.timedelta(days=2)
    )
    connection = PageConnection.objects.get(campaign=campaign)
    connection.token_status = "active"
    connection.save()
    assert messages_resend_pending(page_connection=connection) == {"queued": 0, "failed": 1}
    message.refresh_from_db()
    assert message.status == "failed" and "24 hours" in message.status_reason
    assert graph.sends == []


@pytest.mark.django_db
def test_ambiguous_timeout_waits_for_the_echo_and_never_sends_twice(conversation, alice, graph, frozen_clock):
    Conversation.objects.filter(pk=conversation.pk).update(last_customer_message_at=clock.now())
    message = message_send(conversation=conversation, author=alice, text="Hi")
    graph.outcomes = [errors.Ambiguous("Facebook did not answer in time: ReadTimeout")]
    assert deliver(message) == "unconfirmed"
    message.refresh_from_db()
    assert message.status == "pending" and message.status_reason.startswith("unconfirmed")
    # The reconciliation task runs early (a fast worker): it only waits.
    assert deliver(message) == "reconciling"
    # The echo arrives: the webhook side matches metadata pagedesk:<id> and records the mid.
    Message.objects.filter(pk=message.pk).update(status="sent", mid="m_from_echo")
    frozen_clock.advance(seconds=RECONCILE_SECONDS + 1)
    assert deliver(message) == "skipped"
    assert len(graph.sends) == 1


@pytest.mark.django_db
def test_ambiguous_without_echo_is_sent_again_once_after_the_window(conversation, alice, graph, frozen_clock):
    Conversation.objects.filter(pk=conversation.pk).update(last_customer_message_at=clock.now())
    message = message_send(conversation=conversation, author=alice, text="Hi")
    graph.outcomes = [errors.Ambiguous("timeout")]
    assert deliver(message) == "unconfirmed"
    frozen_clock.advance(seconds=RECONCILE_SECONDS + 1)
    message.refresh_from_db()
    attempt = message.send_attempts
    # Two copies of the reconciliation task (a redelivered task): exactly one sends.
    assert message_deliver(message_id=message.pk, attempt=attempt) == "sent"
    assert message_deliver(message_id=message.pk, attempt=attempt) == "skipped"
    assert len(graph.sends) == 2
    message.refresh_from_db()
    assert message.status == "sent"


@pytest.mark.django_db
def test_duplicate_tasks_for_the_same_attempt_send_once(conversation, alice, graph):
    message = message_send(conversation=conversation, author=alice, text="Hi")
    assert deliver(message) == "sent"
    assert message_deliver(message_id=message.pk, attempt=0) == "skipped"
    assert len(graph.sends) == 1


@pytest.mark.django_db
def test_text_and_files_become_one_message_per_part(conversation, alice, graph, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from pagedesk.conversations.sending import messages_send

    settings.MEDIA_ROOT = tmp_path
    graph.outcomes = [
        {"recipient_id": PSID, "message_id": "m_text"},
        {"attachment_id": "att_1"},
        {"recipient_id": PSID, "message_id": "m_file"},
    ]
    parts = messages_send(
        conversation=conversation,
        author=alice,
        text="Here is the invoice",
        files=[SimpleUploadedFile("invoice.pdf", b"%PDF-1.4", content_type="application/pdf")],
    )
    assert [p.kind for p in parts] == ["text", "attachment"]
    assert [deliver(p) for p in parts] == ["sent", "sent"]
    upload_path, _upload = graph.calls[1]
    assert upload_path == f"{PAGE}/message_attachments"
    assert graph.sends[1]["message"] == {
        "attachment": {"type": "file", "payload": {"attachment_id": "att_1"}},
        "metadata": f"pagedesk:{parts[1].pk}",
    }


@pytest.mark.django_db
def test_a_send_whose_worker_died_is_reconciled_not_resent_blindly(conversation, alice, graph, frozen_clock):
    from pagedesk.conversations.models import SendState
    from pagedesk.messenger.send import STUCK_SENDING_SECONDS, messages_reconcile_stuck

    message = message_send(conversation=conversation, author=alice, text="Hi")
    # A worker claimed it and died before Facebook answered.
    Message.objects.filter(pk=message.pk).update(
        send_attempts=1,
        extra={"send_state": SendState.SENDING.value, "sending_since": clock.now().isoformat()},
    )
    assert messages_reconcile_stuck() == 0  # still within the HTTP timeout: leave it alone
    frozen_clock.advance(seconds=STUCK_SENDING_SECONDS + 1)
    assert messages_reconcile_stuck() == 1
    message.refresh_from_db()
    assert message.extra["send_state"] == SendState.UNCONFIRMED.value
    # It had been unconfirmed since it was claimed, so the reconciliation window is already over.
    assert deliver(message) == "sent"
    assert len(graph.sends) == 1


@pytest.mark.django_db
def test_an_agents_retry_gets_the_full_set_of_automatic_attempts(conversation, alice, graph):
    from pagedesk.conversations.sending import message_retry

    message = message_send(conversation=conversation, author=alice, text="Hi")
    graph.outcomes = [errors.Transient("Facebook is down", code=2)] * send.MAX_SEND_ATTEMPTS
    for _ in range(send.MAX_SEND_ATTEMPTS):
        deliver(message)
    message.refresh_from_db()
    assert message.status == "failed"

    message_retry(message=message, by=alice)
    message.refresh_from_db()
    graph.outcomes = [errors.Transient("still down", code=2)] * (send.MAX_SEND_ATTEMPTS - 1)
    outcomes = [deliver(message) for _ in range(send.MAX_SEND_ATTEMPTS)]
    assert outcomes == ["retry"] * (send.MAX_SEND_ATTEMPTS - 1) + ["sent"]


@pytest.mark.django_db(transaction=True)
def test_a_reply_is_announced_to_the_agent_and_the_supervisors(
    conversation, alice, campaign, graph, published
):
    from pagedesk.realtime import groups
    from pagedesk.realtime.events import MessageCreated

    message = message_send(conversation=conversation, author=alice, text="Hi")
    created = [(e, to) for e, to in published if isinstance(e, MessageCreated)]
    assert [(e.message_id, e.direction, e.sender_type) for e, _ in created] == [(message.pk, "out", "agent")]
    assert set(created[0][1]) == {groups.agent(alice.pk), groups.supervisors(campaign.pk)}
