"""Who hears routing's events (docs/events.md): the members' queue group only for a ringall campaign,
whose members show a Pending list, and for a customer's arrival only through the opening message
(one frame per member); the agents concerned on their own groups; supervisors always; and one
queue.changed per change of the queue."""

from __future__ import annotations

import pytest
from django.db import transaction

from pagedesk.accounts.models import Presence
from pagedesk.conversations import services as conversation_services
from pagedesk.conversations.models import ConversationState
from pagedesk.messenger.models import PageConnection
from pagedesk.realtime import groups
from pagedesk.routing import inbound, services
from pagedesk.routing.models import Transfer
from pagedesk.routing.services import presence_set

from .conftest import arrive, available, make_campaign, state_of

pytestmark = pytest.mark.django_db(transaction=True)

A = ConversationState.ASSIGNED
Q = ConversationState.QUEUED


def sent(published) -> list[tuple[str, list[str]]]:
    return [(event.type, sorted(to)) for event, to in published]


def test_a_routed_arrival_reaches_supervisors_and_the_assigned_agent_only(
    frozen_clock, alice, bob, published
):
    campaign = make_campaign("C", agents=[alice, bob], strategy="rrmemory")
    available(alice, bob)
    published.clear()
    conversation = arrive(campaign)
    agent_id = state_of(conversation)[1]
    assert agent_id in (alice.pk, bob.pk)
    supervisors = groups.supervisors(campaign.pk)
    assert sent(published) == [
        ("conversation.queued", [supervisors]),
        ("conversation.assigned", sorted([supervisors, groups.agent(agent_id)])),
        ("queue.changed", [supervisors]),
    ]
    assert published[-1][0].length == 0


def test_an_arrival_nobody_can_take_still_announces_the_queue_once(frozen_clock, alice, published):
    campaign = make_campaign("C", agents=[alice], strategy="linear")  # alice is offline
    published.clear()
    conversation = arrive(campaign)
    assert state_of(conversation) == (Q, None)
    supervisors = groups.supervisors(campaign.pk)
    assert sent(published) == [("conversation.queued", [supervisors]), ("queue.changed", [supervisors])]
    assert published[-1][0].length == 1


def test_a_ringall_arrival_and_take_reach_the_members(frozen_clock, alice, bob, published):
    campaign = make_campaign("C", agents=[alice, bob], strategy="ringall")
    available(alice, bob)
    published.clear()
    conversation = arrive(campaign)
    supervisors = groups.supervisors(campaign.pk)
    both = sorted([supervisors, groups.campaign_queue(campaign.pk)])
    # The members' Pending list re-fetches on conversation.queued: queue.changed is the board's.
    assert sent(published) == [("conversation.queued", both), ("queue.changed", [supervisors])]
    published.clear()
    services.conversation_take(conversation=conversation, agent=bob)
    assert sent(published) == [
        ("conversation.assigned", sorted([*both, groups.agent(bob.pk)])),  # the others see it go
        ("queue.changed", [supervisors]),
    ]


def _receive(campaign, *, page_id: str, psid: str, mid: str):
    PageConnection.objects.update_or_create(campaign=campaign, defaults={"page_id": page_id})
    with transaction.atomic():
        contact = conversation_services.contact_lock(page_id=page_id, psid=psid)
        return inbound.message_receive(
            contact=contact, campaign=campaign, page_id=page_id, mid=mid, kind="text", text="hi"
        )


def test_a_ringall_arrival_from_a_customer_sends_each_member_one_frame(frozen_clock, alice, bob, published):
    """The opening message tells the members: its message.created carries `pending`, on which the
    inbox re-fetches its lists (conversation and preview); conversation.queued is the board's."""
    campaign = make_campaign("C", agents=[alice, bob], strategy="ringall")
    available(alice, bob)
    published.clear()
    received = _receive(campaign, page_id="104729538088888", psid="61235", mid="m_r1")
    assert state_of(received.conversation) == (Q, None)
    supervisors = groups.supervisors(campaign.pk)
    members = groups.campaign_queue(campaign.pk)
    assert sent(published) == [
        ("conversation.queued", [supervisors]),
        ("message.created", sorted([supervisors, members])),
        ("queue.changed", [supervisors]),
    ]
    assert [t for t, to in sent(published) if members in to] == ["message.created"]
    message_event = published[1][0]
    assert message_event.pending is True
    assert message_event.message_id == received.message.pk
    assert message_event.conversation_id == received.conversation.pk

    # A second message while it waits: still one frame per member, still marked pending.
    published.clear()
    with transaction.atomic():
        contact = conversation_services.contact_lock(page_id="104729538088888", psid="61235")
        inbound.message_receive(
            contact=contact, campaign=campaign, page_id="104729538088888", mid="m_r2", kind="text", text="?"
        )
    assert sent(published) == [("message.created", sorted([supervisors, members]))]
    assert published[0][0].pending is True

    # Taken: the members see it go; its messages are then the taker's alone and no longer pending.
    services.conversation_take(conversation=received.conversation, agent=bob)
    published.clear()
    with transaction.atomic():
        contact = conversation_services.contact_lock(page_id="104729538088888", psid="61235")
        inbound.message_receive(
            contact=contact, campaign=campaign, page_id="104729538088888", mid="m_r3", kind="text", text="!"
        )
    assert sent(published) == [("message.created", sorted([supervisors, groups.agent(bob.pk)]))]
    assert published[0][0].pending is False


def test_a_routed_arrival_from_a_customer_is_not_pending(frozen_clock, alice, published):
    """Members of a campaign that routes by itself list no queue: the opening message is not marked
    pending, so their inbox ignores it (it does not list the conversation)."""
    campaign = make_campaign("C", agents=[alice], strategy="linear")  # alice offline: it stays queued
    published.clear()
    received = _receive(campaign, page_id="104729538077777", psid="61236", mid="m_l1")
    assert state_of(received.conversation) == (Q, None)
    supervisors = groups.supervisors(campaign.pk)
    assert sent(published) == [
        ("conversation.queued", [supervisors]),
        ("message.created", sorted([supervisors, groups.campaign_queue(campaign.pk)])),
        ("queue.changed", [supervisors]),
    ]
    assert published[1][0].pending is False


def test_a_ringall_transfer_that_times_out_tells_the_target_members_it_left(
    frozen_clock, alice, bob, published
):
    sales = make_campaign("Sales", agents=[alice], strategy="linear", max_interactions_per_agent=2)
    billing = make_campaign("Billing", agents=[bob], strategy="ringall", transfer_timeout_seconds=60)
    available(alice, bob)
    conversation = arrive(sales)
    published.clear()
    services.conversation_transfer_to_campaign(conversation=conversation, campaign=billing, by=alice)
    billing_members = groups.campaign_queue(billing.pk)
    assert [t for t, to in sent(published) if billing_members in to] == [
        "conversation.transferred",
        "conversation.queued",
    ]
    assert all(groups.campaign_queue(sales.pk) not in to for _, to in sent(published))
    frozen_clock.advance(seconds=61)
    published.clear()
    assert (
        services.transfer_timeout_expire(transfer_id=Transfer.objects.get(conversation=conversation).pk)
        is True
    )
    assert state_of(conversation) == (A, alice.pk)
    # Back with alice: no conversation event reaches billing's members, so its queue length does.
    assert [(t, to) for t, to in sent(published) if billing_members in to] == [
        ("queue.changed", sorted([groups.supervisors(billing.pk), billing_members]))
    ]


def test_return_to_queue_and_redispatch_tell_the_owner_not_the_members(frozen_clock, alice, bob, published):
    campaign = make_campaign("C", agents=[alice, bob], strategy="linear", max_interactions_per_agent=1)
    available(alice)
    conversation = arrive(campaign)
    assert state_of(conversation) == (A, alice.pk)
    available(bob)
    published.clear()
    services.conversation_return_to_queue(conversation=conversation, by=alice)
    assert state_of(conversation)[0] == A  # dispatched again at once (linear: alice, first in line)
    supervisors = groups.supervisors(campaign.pk)
    routing_events = [(t, to) for t, to in sent(published) if t != "agent.status_changed"]
    assert routing_events[0] == ("conversation.queued", sorted([supervisors, groups.agent(alice.pk)]))
    assigned = [to for t, to in routing_events if t == "conversation.assigned"]
    assert assigned and all(groups.campaign_queue(campaign.pk) not in to for to in assigned)
    assert [t for t, _ in routing_events].count("queue.changed") == 1


def test_a_transfer_to_an_agent_changes_no_queue(frozen_clock, alice, bob, published):
    campaign = make_campaign("C", agents=[alice, bob], strategy="linear")
    available(alice, bob)
    conversation = arrive(campaign)
    owner = alice if state_of(conversation)[1] == alice.pk else bob
    target = bob if owner is alice else alice
    published.clear()
    services.conversation_transfer_to_agent(conversation=conversation, to_agent=target, by=owner)
    supervisors = groups.supervisors(campaign.pk)
    assert sent(published) == [
        ("conversation.transferred", sorted([supervisors, groups.agent(owner.pk), groups.agent(target.pk)])),
        ("conversation.assigned", sorted([supervisors, groups.agent(target.pk)])),
    ]


def test_the_customer_message_leaves_before_the_dispatch_transaction(frozen_clock, alice, published):
    """On-commit callbacks run in registration order: message.created is registered before the
    dispatch, so it does not wait for the dispatch transaction."""
    campaign = make_campaign("C", agents=[alice], strategy="rrmemory")
    PageConnection.objects.update_or_create(campaign=campaign, defaults={"page_id": "104729538099999"})
    available(alice)
    published.clear()
    with transaction.atomic():
        contact = conversation_services.contact_lock(page_id="104729538099999", psid="61234")
        received = inbound.message_receive(
            contact=contact, campaign=campaign, page_id="104729538099999", mid="m_a", kind="text", text="hi"
        )
    assert state_of(received.conversation) == (A, alice.pk)
    assert [event.type for event, _ in published] == [
        "conversation.queued",
        "message.created",
        "conversation.assigned",
        "queue.changed",
    ]


def test_each_way_back_to_the_front_of_a_queue_says_why_and_tells_whoever_it_left(
    frozen_clock, alice, bob, published
):
    """Returned by hand or from an Offline agent: "returned", to the supervisors and the agent who
    had it. An untaken transfer whose sender is gone: "transfer_returned", to the source's
    supervisors (nobody had it in the target)."""
    sales = make_campaign("Sales", agents=[alice], strategy="linear", max_interactions_per_agent=2)
    billing = make_campaign("Billing", agents=[bob], strategy="ringall", transfer_timeout_seconds=60)
    available(alice)
    by_hand, transferred = arrive(sales), arrive(sales)
    services.conversation_transfer_to_campaign(conversation=transferred, campaign=billing, by=alice)
    sales_supervisors, alice_group = groups.supervisors(sales.pk), groups.agent(alice.pk)

    def queued_again() -> list[tuple[str, int, list[str]]]:
        found = [
            (e.reason, e.campaign_id, sorted(to)) for e, to in published if e.type == "conversation.queued"
        ]
        published.clear()
        return found

    published.clear()
    services.conversation_return_to_queue(conversation=by_hand, by=alice)
    assert state_of(by_hand) == (A, alice.pk)  # linear: straight back to alice, first in line
    assert queued_again() == [("returned", sales.pk, sorted([sales_supervisors, alice_group]))]

    presence_set(agent=alice, presence=Presence.OFFLINE)
    assert state_of(by_hand) == (Q, None)
    assert queued_again() == [("returned", sales.pk, sorted([sales_supervisors, alice_group]))]

    frozen_clock.advance(seconds=61)
    transfer = Transfer.objects.get(conversation=transferred)
    assert services.transfer_timeout_expire(transfer_id=transfer.pk) is True
    assert state_of(transferred) == (Q, None)
    assert queued_again() == [("transfer_returned", sales.pk, [sales_supervisors])]


def test_a_transfer_to_another_campaign_is_one_event_for_both_campaigns(frozen_clock, alice, bob, published):
    """Published once per campaign, a socket in both audiences got it twice and an outbound webhook
    registered for both campaigns recorded two deliveries of one transfer (found using the API)."""
    sales = make_campaign("Sales", agents=[alice], strategy="linear")
    billing = make_campaign("Billing", agents=[bob], strategy="ringall")
    available(alice)
    conversation = arrive(sales)
    published.clear()
    services.conversation_transfer_to_campaign(conversation=conversation, campaign=billing, by=alice)
    transferred = [to for t, to in sent(published) if t == "conversation.transferred"]
    assert len(transferred) == 1
    assert {
        groups.supervisors(sales.pk),
        groups.agent(alice.pk),
        groups.supervisors(billing.pk),
        groups.campaign_queue(billing.pk),
    } <= set(transferred[0])
