"""The inbox's retry, seen and typing through /api/v1/conversations: the inbox's services and its rules
(agents only; retry and typing on their own assigned conversations, seen on any they may open)."""

from __future__ import annotations

import pytest

from pagedesk.conversations.models import Contact, ConversationState, Direction, Message, MessageStatus
from pagedesk.conversations.thread import PAGE_INBOX_APP_ID
from pagedesk.inbox import services as inbox_services
from pagedesk.inbox.models import ReadState
from tests.integration.api.conftest import error_of
from tests.integration.inbox.conftest import make_conversation
from tests.integration.messenger.conftest import fb, simulator_server  # noqa: F401 (fixtures)
from tests.integration.messenger.test_thread_control import (  # noqa: F401 (the fixture)
    give_to_page_inbox,
    owner_on_facebook,
    sim_conversation,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent_actions(monkeypatch):
    """The sender actions the inbox services asked Messenger for (the window check is the channel's)."""
    calls: list[tuple[int, str]] = []

    def record(*, conversation, action: str) -> bool:
        calls.append((conversation.pk, action))
        return True

    monkeypatch.setattr(inbox_services, "sender_action_request", record)
    return calls


def failed_message(conversation, author) -> Message:
    return Message.objects.create(
        conversation=conversation,
        direction=Direction.OUT,
        sender_type="agent",
        author=author,
        page_id="p",
        text="Your refund is on its way.",
        status=MessageStatus.FAILED,
        status_reason="Facebook was unreachable",
    )


def test_an_agent_sends_her_failed_message_again(
    api_as, alice, campaign, published, django_capture_on_commit_callbacks
):
    conversation = make_conversation(campaign, agent=alice)
    failed = failed_message(conversation, alice)
    api = api_as(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/conversations/{conversation.pk}/messages/{failed.pk}/retry")
    assert response.status_code == 200, response.content
    body = response.json()
    # Pending again (with why it waits, here: the page was never connected to Facebook).
    assert (body["id"], body["status"]) == (failed.pk, "pending")
    assert body["author"] == {"id": alice.pk, "name": alice.name, "integration": False}
    failed.refresh_from_db()
    assert failed.status == MessageStatus.PENDING
    assert any(e.type == "message.status_changed" and e.message_id == failed.pk for e, _ in published)
    again = api.post(f"/conversations/{conversation.pk}/messages/{failed.pk}/retry")
    assert again.status_code == 409
    assert error_of(again)["code"] == "not_failed"


def test_retry_refuses_what_the_inbox_refuses(api_as, alice, bob, sam, campaign):
    conversation = make_conversation(campaign, agent=alice)
    failed = failed_message(conversation, alice)
    other = make_conversation(campaign, agent=alice)
    path = f"/conversations/{conversation.pk}/messages/{failed.pk}/retry"
    # Not an agent: the inbox is for agents.
    assert error_of(api_as(sam).post(path))["code"] == "agent_action"
    # Another agent's conversation is out of bob's sight: not found, as in the inbox.
    assert api_as(bob).post(path).status_code == 404
    # A message of another conversation is not found in this one.
    assert api_as(alice).post(f"/conversations/{other.pk}/messages/{failed.pk}/retry").status_code == 404
    # A message that did not fail.
    sent = conversation.messages.filter(direction=Direction.OUT).first()
    refused = api_as(alice).post(f"/conversations/{conversation.pk}/messages/{sent.pk}/retry")
    assert (refused.status_code, error_of(refused)["code"]) == (409, "not_failed")
    failed.refresh_from_db()
    assert failed.status == MessageStatus.FAILED


def test_seen_marks_the_conversation_read_and_tells_the_customer(api_as, alice, campaign, sent_actions):
    conversation = make_conversation(campaign, agent=alice, messages=4)
    newest = conversation.messages.order_by("-pk").first()
    response = api_as(alice).post(f"/conversations/{conversation.pk}/seen")
    assert response.status_code == 200, response.content
    assert response.json() == {"sent": True}
    assert ReadState.objects.get(agent=alice, conversation=conversation).last_read_message_id == newest.pk
    assert sent_actions == [(conversation.pk, "mark_seen")]
    # Nothing new to report: read already, and the customer is not told twice.
    assert api_as(alice).post(f"/conversations/{conversation.pk}/seen").json() == {"sent": False}
    assert sent_actions == [(conversation.pk, "mark_seen")]


def test_seen_on_a_queued_conversation_reads_it_without_telling_the_customer(
    api_as, alice, campaign, sent_actions
):
    waiting = make_conversation(campaign, state=ConversationState.QUEUED, messages=1)
    response = api_as(alice).post(f"/conversations/{waiting.pk}/seen")
    assert response.json() == {"sent": False}
    assert ReadState.objects.filter(agent=alice, conversation=waiting).exists()
    assert sent_actions == []


def test_seen_refuses_non_agents_and_conversations_out_of_reach(
    api_as, alice, bob, sam, campaign, sent_actions
):
    conversation = make_conversation(campaign, agent=alice)
    assert error_of(api_as(sam).post(f"/conversations/{conversation.pk}/seen"))["code"] == "agent_action"
    assert api_as(bob).post(f"/conversations/{conversation.pk}/seen").status_code == 404
    assert api_as(alice).post("/conversations/999999/seen").status_code == 404
    assert not ReadState.objects.filter(conversation=conversation).exists()
    assert sent_actions == []


def test_typing_shows_and_hides_the_dots(api_as, alice, campaign, sent_actions):
    conversation = make_conversation(campaign, agent=alice)
    api = api_as(alice)
    assert api.post(f"/conversations/{conversation.pk}/typing", {}).json() == {"sent": True}
    assert api.post(f"/conversations/{conversation.pk}/typing", {"on": False}).json() == {"sent": True}
    assert sent_actions == [(conversation.pk, "typing_on"), (conversation.pk, "typing_off")]


def test_typing_needs_a_conversation_assigned_to_you(api_as, alice, sam, campaign, sent_actions):
    waiting = make_conversation(campaign, state=ConversationState.QUEUED, messages=1)
    refused = api_as(alice).post(f"/conversations/{waiting.pk}/typing", {"on": True})
    assert (refused.status_code, error_of(refused)["code"]) == (403, "not_your_conversation")
    assert api_as(sam).post(f"/conversations/{waiting.pk}/typing", {"on": True}).status_code == 403
    invalid = api_as(alice).post(f"/conversations/{waiting.pk}/typing", {"on": "maybe"})
    assert invalid.status_code == 422
    assert sent_actions == []


def test_the_signals_are_refused_without_credentials(api_as, alice, campaign):
    conversation = make_conversation(campaign, agent=alice)
    anonymous = api_as(None)
    for path in (f"/conversations/{conversation.pk}/seen", f"/conversations/{conversation.pk}/typing"):
        assert anonymous.post(path).status_code == 401


# --- thread control (Conversation Routing), against the Facebook simulator ----------------------------


def test_an_agent_takes_the_thread_from_the_page_inbox_and_hands_it_back(
    fb,  # noqa: F811
    sim_conversation,  # noqa: F811
    api_as,
    alice,
    settings,
):
    give_to_page_inbox(fb, sim_conversation)
    api = api_as(alice)
    taken = api.post(f"/conversations/{sim_conversation.pk}/thread/take")
    assert taken.status_code == 200, taken.content
    assert taken.json()["owner_app_id"] == "" and taken.json()["previous_owner_app_id"] == PAGE_INBOX_APP_ID
    assert owner_on_facebook(fb) == settings.FACEBOOK_APP_ID
    again = api.post(f"/conversations/{sim_conversation.pk}/thread/take")
    assert (again.status_code, error_of(again)["code"]) == (409, "thread_already_ours")

    back = api.post(f"/conversations/{sim_conversation.pk}/thread/hand-back")
    assert back.status_code == 200, back.content
    assert back.json()["owner_app_id"] == PAGE_INBOX_APP_ID
    assert owner_on_facebook(fb) == PAGE_INBOX_APP_ID
    assert Contact.objects.get(pk=sim_conversation.contact_id).thread_owner_app_id == PAGE_INBOX_APP_ID


def test_thread_control_is_for_the_conversations_agent(
    fb,  # noqa: F811
    sim_conversation,  # noqa: F811
    api_as,
    bob,
    sam,
):
    give_to_page_inbox(fb, sim_conversation)
    for path in ("thread/take", "thread/hand-back"):
        assert api_as(bob).post(f"/conversations/{sim_conversation.pk}/{path}").status_code == 404
        assert (
            error_of(api_as(sam).post(f"/conversations/{sim_conversation.pk}/{path}"))["code"]
            == "agent_action"
        )
    assert owner_on_facebook(fb) == PAGE_INBOX_APP_ID
