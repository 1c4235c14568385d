"""POST /api/v1/conversations/{id}/take|close|transfer|return: the inbox's services, outcomes, events
and errors; who may do what (agents, supervisors, integrations)."""

from __future__ import annotations

import pytest

from pagedesk.campaigns import schedule
from pagedesk.campaigns.services import MemberSpec, campaign_create, disposition_create, membership_set
from pagedesk.conversations.models import Conversation, ConversationState
from pagedesk.realtime.events import ConversationAssigned
from pagedesk.routing.services import dispatch
from tests.integration.api.conftest import error_of
from tests.integration.api.writes import integration_api, make_integration
from tests.integration.inbox.conftest import available, make_conversation

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_routing(monkeypatch):
    """Conversations stay where a test puts them (as tests/integration/inbox/conftest.py's)."""
    monkeypatch.setattr(dispatch, "queue_dispatch", lambda **kw: [])


@pytest.fixture
def other_campaign(db, bob):
    created = campaign_create(
        fields={"name": "Beta Sales", "page_name": "Beta", "timezone": "UTC"},
        ranges=[schedule.Range(schedule.ALL_WEEKDAYS, 0, schedule.MINUTES_PER_DAY)],
    )
    membership_set(campaign=created, members=[MemberSpec(agent_id=bob.pk)])
    return created


def _state(conversation: Conversation) -> str:
    conversation.refresh_from_db()
    return conversation.state


# --- take ------------------------------------------------------------------------------------------


def test_an_agent_takes_a_pending_conversation(
    api_as, alice, bob, campaign, no_routing, published, django_capture_on_commit_callbacks
):
    available(alice, bob)
    conversation = make_conversation(campaign, state=ConversationState.QUEUED)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(alice).post(f"/conversations/{conversation.pk}/take")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "assigned" and body["agent"]["id"] == alice.pk and body["id"] == conversation.pk
    assert any(isinstance(e, ConversationAssigned) and e.agent_id == alice.pk for e, _g in published)
    again = api_as(bob).post(f"/conversations/{conversation.pk}/take")
    assert again.status_code == 409 and error_of(again)["code"] == "already_taken"


def test_take_is_an_agents_action(api_as, sam, campaign, no_routing):
    conversation = make_conversation(campaign, state=ConversationState.QUEUED)
    integration = integration_api(make_integration(campaign))
    for api in (integration, api_as(sam)):
        response = api.post(f"/conversations/{conversation.pk}/take")
        assert response.status_code == 403 and error_of(response)["code"] == "agent_action"
    assert "agent's action" in error_of(integration.post(f"/conversations/{conversation.pk}/take"))["message"]
    assert _state(conversation) == ConversationState.QUEUED


def test_another_campaigns_conversation_is_not_found_for_take(api_as, alice, other_campaign, no_routing):
    conversation = make_conversation(other_campaign, state=ConversationState.QUEUED)
    assert api_as(alice).post(f"/conversations/{conversation.pk}/take").status_code == 404


# --- close -----------------------------------------------------------------------------------------


def test_close_requires_a_disposition_when_the_campaign_has_them(api_as, alice, campaign, no_routing):
    conversation = make_conversation(campaign, agent=alice)
    sale = disposition_create(campaign=campaign, name="Sale")
    api = api_as(alice)
    missing = api.post(f"/conversations/{conversation.pk}/close", {})
    assert missing.status_code == 400 and error_of(missing)["code"] == "disposition_required"
    assert error_of(missing)["field"] == "disposition_id"  # the body's name, not the inbox form's
    wrong = api.post(f"/conversations/{conversation.pk}/close", {"disposition_id": 999999})
    assert wrong.status_code == 400 and error_of(wrong)["code"] == "invalid_disposition"
    not_a_number = api.post(f"/conversations/{conversation.pk}/close", {"disposition_id": "x"})
    assert not_a_number.status_code == 422
    assert _state(conversation) == ConversationState.ASSIGNED
    done = api.post(f"/conversations/{conversation.pk}/close", {"disposition_id": sale.pk})
    assert done.status_code == 200, done.content
    assert done.json()["state"] == "closed" and done.json()["disposition"]["id"] == sale.pk
    assert done.json()["closed_by"]["id"] == alice.pk


def test_a_general_disposition_is_refused_like_the_inbox(api_as, alice, campaign, no_routing):
    conversation = make_conversation(campaign, agent=alice)
    parent = disposition_create(campaign=campaign, name="Sale")
    disposition_create(campaign=campaign, name="Upsell", parent=parent)
    response = api_as(alice).post(f"/conversations/{conversation.pk}/close", {"disposition_id": parent.pk})
    assert response.status_code == 400 and error_of(response)["code"] == "disposition_too_general"


def test_an_agent_closes_only_their_own(api_as, alice, bob, sam, campaign, no_routing):
    conversation = make_conversation(campaign, agent=bob)
    assert api_as(alice).post(f"/conversations/{conversation.pk}/close", {}).status_code == 404
    assert api_as(sam).post(f"/conversations/{conversation.pk}/close", {}).status_code == 403
    assert _state(conversation) == ConversationState.ASSIGNED


def test_an_integration_closes_its_campaigns_conversations(alice, campaign, other_campaign, no_routing):
    integration = make_integration(campaign)
    api = integration_api(integration)
    assigned = make_conversation(campaign, agent=alice)
    with_bot = make_conversation(campaign, state=ConversationState.BOT)
    for conversation in (assigned, with_bot):
        response = api.post(f"/conversations/{conversation.pk}/close", {})
        assert response.status_code == 200, response.content
        assert response.json()["state"] == "closed"
        assert response.json()["closed_by"] == {
            "id": integration.user_id,
            "name": "Acme Bot",
            "integration": True,
        }
    elsewhere = make_conversation(other_campaign, state=ConversationState.QUEUED)
    assert api.post(f"/conversations/{elsewhere.pk}/close", {}).status_code == 404
    closed = api.post(f"/conversations/{assigned.pk}/close", {})
    assert closed.status_code == 409


# --- transfer --------------------------------------------------------------------------------------


def test_transfer_to_a_colleague_or_a_campaign(api_as, alice, bob, campaign, other_campaign, no_routing):
    available(alice, bob)
    api = api_as(alice)
    to_bob = make_conversation(campaign, agent=alice)
    response = api.post(f"/conversations/{to_bob.pk}/transfer", {"agent_id": bob.pk, "note": "VIP <b>"})
    assert response.status_code == 200, response.content
    to_queue = make_conversation(campaign, agent=alice)
    response = api.post(f"/conversations/{to_queue.pk}/transfer", {"campaign_id": other_campaign.pk})
    assert response.status_code == 200, response.content
    assert response.json()["campaign"]["id"] == other_campaign.pk and response.json()["state"] == "queued"


@pytest.mark.parametrize(
    "body",
    [{}, {"agent_id": 1, "campaign_id": 1}, {"note": "only a note"}, {"agent_id": None, "campaign_id": None}],
)
def test_transfer_needs_exactly_one_target(api_as, alice, campaign, body, no_routing):
    conversation = make_conversation(campaign, agent=alice)
    response = api_as(alice).post(f"/conversations/{conversation.pk}/transfer", body)
    assert response.status_code == 400, response.content
    assert error_of(response)["code"] == "invalid_transfer"
    assert "exactly one of agent_id" in error_of(response)["message"]
    assert _state(conversation) == ConversationState.ASSIGNED


def test_transfer_to_someone_outside_the_campaign_is_no_such_agent(api_as, alice, ada, campaign, no_routing):
    conversation = make_conversation(campaign, agent=alice)
    response = api_as(alice).post(f"/conversations/{conversation.pk}/transfer", {"agent_id": ada.pk})
    assert response.status_code == 404 and "no such agent" in error_of(response)["message"]
    response = api_as(alice).post(
        f"/conversations/{conversation.pk}/transfer", {"note": "x" * 1001, "agent_id": 1}
    )
    assert response.status_code == 422 and "note" in error_of(response)["fields"]


def test_transfer_and_return_are_agents_actions_for_an_integration(alice, campaign, no_routing):
    conversation = make_conversation(campaign, agent=alice)
    api = integration_api(make_integration(campaign))
    for path, body in (("transfer", {"agent_id": alice.pk}), ("return", None)):
        response = api.post(f"/conversations/{conversation.pk}/{path}", body)
        assert response.status_code == 403 and error_of(response)["code"] == "agent_action"
    assert _state(conversation) == ConversationState.ASSIGNED


# --- return ----------------------------------------------------------------------------------------


def test_the_agent_or_the_campaigns_supervisor_returns_it_to_the_queue(
    api_as, alice, sam, campaign, no_routing
):
    mine = make_conversation(campaign, agent=alice)
    response = api_as(alice).post(f"/conversations/{mine.pk}/return")
    assert response.status_code == 200 and response.json()["state"] == "queued"
    again = api_as(alice).post(f"/conversations/{mine.pk}/return")
    assert again.status_code == 403
    board = make_conversation(campaign, agent=alice)
    response = api_as(sam).post(f"/conversations/{board.pk}/return")
    assert response.status_code == 200 and response.json()["state"] == "queued"


def test_an_integration_is_told_why_it_cannot_close_a_queued_conversation(campaign):
    """It was told to "refresh to see its current state", which changed nothing (found by a
    first-time integrator)."""
    crm = integration_api(make_integration(campaign, name="CRM"))
    conversation = make_conversation(campaign, state=ConversationState.QUEUED)
    response = crm.post(f"/conversations/{conversation.pk}/close", {})
    assert response.status_code == 409
    assert error_of(response)["code"] == "queued"
    assert "waits in the queue for an agent" in error_of(response)["message"]
