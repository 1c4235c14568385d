"""Issue 12 #2: an agent who becomes Offline (disconnect grace, a supervisor's Set Offline, her own
choice) or is deactivated strands no conversation: hers go back to the head of their campaign's
queue in their original order, with a timeline entry saying why, and are routed at once. A Break
keeps them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from pagedesk.accounts.models import Presence, User
from pagedesk.accounts.services import user_update
from pagedesk.campaigns.models import Campaign
from pagedesk.campaigns.services import campaign_set_supervisors
from pagedesk.conversations.models import Conversation, ConversationEvent, ConversationState
from pagedesk.routing import services, tasks
from pagedesk.routing.models import AgentConnection, Assignment, Transfer, TransferState
from pagedesk.routing.selectors import queue_list_for_campaign
from pagedesk.routing.services import presence_set

from .conftest import arrive, available, make_campaign, state_of

pytestmark = pytest.mark.django_db(transaction=True)

A = ConversationState.ASSIGNED
Q = ConversationState.QUEUED


def alice_holds_two(alice: User, *others: User, frozen_clock, max_load: int = 2) -> tuple[Campaign, list]:
    """A linear campaign (alice first), alice Available holding two conversations queued a second
    apart; the others are members but Offline."""
    campaign = make_campaign(
        "Acme", agents=[alice, *others], strategy="linear", max_interactions_per_agent=max_load
    )
    available(alice)
    held = []
    for _ in range(2):
        held.append(arrive(campaign))
        frozen_clock.advance(seconds=1)
    assert [state_of(c) for c in held] == [(A, alice.pk)] * 2
    return campaign, held


def returned(conversation: Conversation) -> ConversationEvent:
    return ConversationEvent.objects.filter(conversation=conversation, kind="returned_to_queue").get()


def timestamps(conversations: list[Conversation]) -> list[tuple]:
    for c in conversations:
        c.refresh_from_db()
    return [(c.queued_at, c.assigned_at) for c in conversations]


def test_grace_expiry_returns_them_to_the_head_in_their_order_with_the_reason(
    frozen_clock, alice, bob, settings
):
    settings.AGENT_DISCONNECT_GRACE_SECONDS = 60
    campaign, held = alice_holds_two(alice, bob, frozen_clock=frozen_clock)
    waiting = arrive(campaign)  # alice is full: the queue already has someone
    before = timestamps(held)

    services.agent_connected(agent=alice)
    services.agent_disconnected(agent=alice)
    frozen_clock.advance(seconds=61)
    token = AgentConnection.objects.get(agent=alice).disconnected_at.isoformat()
    assert tasks.disconnect_expire.call(agent_id=alice.pk, token=token) is True

    alice.refresh_from_db()
    assert alice.presence == Presence.OFFLINE
    assert list(queue_list_for_campaign(campaign=campaign)) == [*held, waiting]
    assert timestamps(held) == before  # queued time and the KPI's first assignment kept
    for conversation in held:
        event = returned(conversation)
        assert event.actor is None
        assert event.data == {"from_agent_id": alice.pk, "reason": "disconnected"}

    available(bob)  # the returned ones are served before the customer who was already waiting
    assert [state_of(c) for c in held] == [(A, bob.pk)] * 2
    assert state_of(waiting) == (Q, None)
    assert timestamps(held) == before


def test_supervisor_set_offline_routes_them_at_once_to_another_available_agent(
    client_for, frozen_clock, alice, bob, sam
):
    campaign, held = alice_holds_two(alice, bob, frozen_clock=frozen_clock, max_load=3)
    campaign_set_supervisors(campaign=campaign, supervisor_ids=[sam.pk])
    available(bob)
    before = timestamps(held)
    board = client_for(sam).get(reverse("monitoring:board", args=[campaign.pk])).content.decode()
    assert f"Set {alice.name} Offline? Their 2 conversations go back to the queue." in board

    response = client_for(sam).post(reverse("monitoring:agent_force_offline", args=[alice.pk]))

    assert response.status_code == 302
    assert [state_of(c) for c in held] == [(A, bob.pk)] * 2
    # Handed to bob in their original order, and still counted from their first assignment.
    handed = Assignment.objects.filter(agent=bob).order_by("pk").values_list("conversation_id", flat=True)
    assert list(handed) == [c.pk for c in held]
    assert timestamps(held) == before
    for conversation in held:
        event = returned(conversation)
        assert event.actor == sam
        assert event.data == {"from_agent_id": alice.pk, "reason": "set_offline"}
    transcript = client_for(sam).get(reverse("recordings:transcript", args=[held[0].pk])).content.decode()
    assert f"Returned to the queue: {sam.name} set {alice.name} Offline" in transcript


def test_choosing_offline_in_the_status_control_asks_first(client_for, frozen_clock, alice, bob):
    _campaign, held = alice_holds_two(alice, bob, frozen_clock=frozen_clock, max_load=3)
    available(bob)
    client = client_for(alice)
    url = reverse("inbox:presence_set")

    asked = client.post(url, {"presence": "offline"}, HTTP_HX_REQUEST="true")
    assert asked.status_code == 200
    assert "Return 2 conversations to the queue?" in asked.content.decode()
    alice.refresh_from_db()
    assert alice.presence == Presence.AVAILABLE
    assert [state_of(c) for c in held] == [(A, alice.pk)] * 2

    # Without htmx the question is asked on "My work".
    plain = client.post(url, {"presence": "offline"})
    assert plain.status_code == 200
    assert "Return 2 conversations to the queue?" in plain.content.decode()
    assert [state_of(c) for c in held] == [(A, alice.pk)] * 2

    done = client.post(url, {"presence": "offline", "confirm": "1"}, HTTP_HX_REQUEST="true")
    assert done.status_code == 200
    assert "to the queue?" not in done.content.decode()
    alice.refresh_from_db()
    assert alice.presence == Presence.OFFLINE
    assert [state_of(c) for c in held] == [(A, bob.pk)] * 2
    for conversation in held:
        event = returned(conversation)
        assert event.actor == alice
        assert event.data == {"from_agent_id": alice.pk, "reason": "went_offline"}


def test_offline_with_nothing_open_needs_no_confirmation(client_for, alice, campaign):
    available(alice)
    client_for(alice).post(reverse("inbox:presence_set"), {"presence": "offline"}, HTTP_HX_REQUEST="true")
    alice.refresh_from_db()
    assert alice.presence == Presence.OFFLINE


def test_the_api_needs_no_confirmation_and_behaves_the_same(frozen_clock, alice, bob, token_for, client):
    _campaign, held = alice_holds_two(alice, bob, frozen_clock=frozen_clock, max_load=3)
    available(bob)
    response = client.put(
        "/api/v1/me/presence", {"presence": "offline"}, content_type="application/json", **token_for(alice)
    )
    assert response.status_code == 200
    assert [state_of(c) for c in held] == [(A, bob.pk)] * 2
    assert returned(held[0]).data["reason"] == "went_offline"


def test_a_break_keeps_them(frozen_clock, alice, bob, lunch):
    _campaign, held = alice_holds_two(alice, bob, frozen_clock=frozen_clock, max_load=3)
    available(bob)
    presence_set(agent=alice, presence=Presence.BREAK, break_reason=lunch, changed_by=alice)
    assert [state_of(c) for c in held] == [(A, alice.pk)] * 2
    assert not ConversationEvent.objects.filter(kind="returned_to_queue").exists()


def test_deactivating_an_agent_returns_hers(frozen_clock, alice, bob):
    _campaign, held = alice_holds_two(alice, bob, frozen_clock=frozen_clock, max_load=3)
    available(bob)
    user_update(user=alice, is_active=False)
    alice.refresh_from_db()
    assert alice.presence == Presence.OFFLINE
    assert [state_of(c) for c in held] == [(A, bob.pk)] * 2
    assert returned(held[0]).data == {"from_agent_id": alice.pk, "reason": "deactivated"}


def test_reconciliation_returns_what_an_offline_agent_still_holds(frozen_clock, alice, bob):
    """A crash between the Offline commit and its follow-up leaves them held; the minute catches up."""
    campaign, held = alice_holds_two(alice, bob, frozen_clock=frozen_clock)
    User.objects.filter(pk=alice.pk).update(presence=Presence.OFFLINE)
    assert services.routing_reconcile()["returned_from_offline"] == 2
    assert list(queue_list_for_campaign(campaign=campaign)) == held
    assert returned(held[1]).data == {"from_agent_id": alice.pk, "reason": "offline"}


def test_an_agent_back_before_the_follow_up_keeps_hers(frozen_clock, alice, bob):
    _campaign, held = alice_holds_two(alice, bob, frozen_clock=frozen_clock)
    assert services.agent_conversations_requeue(agent_id=alice.pk, reason="offline") == []
    assert [state_of(c) for c in held] == [(A, alice.pk)] * 2


def test_a_pending_transfer_of_an_offline_agent_times_out_to_the_queue_not_to_her(frozen_clock, alice, bob):
    sales = make_campaign("Sales", agents=[alice], strategy="linear", max_interactions_per_agent=2)
    billing = make_campaign("Billing", agents=[bob], strategy="ringall", transfer_timeout_seconds=60)
    available(alice)
    conversation = arrive(sales)
    services.conversation_transfer_to_campaign(conversation=conversation, campaign=billing, by=alice)
    presence_set(agent=alice, presence=Presence.OFFLINE, changed_by=alice)
    frozen_clock.advance(seconds=61)
    transfer = Transfer.objects.get(conversation=conversation)
    assert services.transfer_timeout_expire(transfer_id=transfer.pk) is True
    conversation.refresh_from_db()
    assert (conversation.campaign, conversation.state, conversation.agent) == (sales, Q, None)
    transfer.refresh_from_db()
    assert transfer.state == TransferState.RETURNED
