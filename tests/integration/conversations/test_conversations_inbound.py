"""The inbound write path: a customer message opens a conversation, later ones join it, and a message
after close opens a new one. Called the way the processing task calls it (contact locked, in a transaction)."""

from __future__ import annotations

import pytest
from django.db import transaction

from pagedesk.conversations import services
from pagedesk.conversations.models import Conversation, ConversationEvent, Message
from pagedesk.messenger.models import PageConnection
from pagedesk.realtime import groups
from pagedesk.realtime.events import MessageCreated
from pagedesk.routing import inbound

PAGE = "104729538012345"
PSID = "6789012345678901"


@pytest.fixture
def page(campaign) -> PageConnection:
    connection, _ = PageConnection.objects.update_or_create(campaign=campaign, defaults={"page_id": PAGE})
    return connection


def receive(campaign, mid: str, text: str = "hi") -> services.Received:
    with transaction.atomic():
        contact = services.contact_lock(page_id=PAGE, psid=PSID)
        return inbound.message_receive(
            contact=contact, campaign=campaign, page_id=PAGE, mid=mid, kind="text", text=text
        )


@pytest.mark.django_db(transaction=True)
def test_open_then_join_then_new_after_close(page, campaign, published):
    first = receive(campaign, "m_1", "hello")
    assert first.opened
    conversation = first.conversation
    assert conversation.state == "queued"
    assert conversation.queued_at == conversation.queue_order == conversation.last_customer_message_at

    second = receive(campaign, "m_2", "are you there?")
    assert not second.opened
    assert second.conversation.pk == conversation.pk
    conversation.refresh_from_db()
    assert conversation.last_customer_message_at >= conversation.queued_at
    assert conversation.messages.count() == 2

    Conversation.objects.filter(pk=conversation.pk).update(state="closed")
    third = receive(campaign, "m_3", "one more thing")
    assert third.opened
    assert third.conversation.pk != conversation.pk
    assert Conversation.objects.filter(state="queued").count() == 1
    assert ConversationEvent.objects.filter(kind="queued").count() == 2

    created = [(e.message_id, to) for e, to in published if isinstance(e, MessageCreated)]
    queue = sorted([groups.campaign_queue(campaign.pk), groups.supervisors(campaign.pk)])
    assert [to for _id, to in created] == [queue, queue, queue]


@pytest.mark.django_db(transaction=True)
def test_a_message_joins_the_open_conversation_and_reaches_its_agent(page, campaign, alice, published):
    first = receive(campaign, "m_1")
    Conversation.objects.filter(pk=first.conversation.pk).update(state="assigned", agent=alice)
    published.clear()
    receive(campaign, "m_2")
    ((_event, to),) = [(e, to) for e, to in published if isinstance(e, MessageCreated)]
    assert to == sorted([groups.agent(alice.pk), groups.supervisors(campaign.pk)])


@pytest.mark.django_db(transaction=True)
def test_same_mid_twice_is_one_message(page, campaign):
    receive(campaign, "m_1")
    again = receive(campaign, "m_1")
    assert again.duplicate
    assert Message.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_echoes_never_open_a_conversation_for_routing(page, campaign):
    with transaction.atomic():
        contact = services.contact_lock(page_id=PAGE, psid=PSID)
        result = services.message_echo_apply(
            contact=contact, campaign=campaign, page_id=PAGE, mid="m_e", kind="text", text="from inbox"
        )
    assert result.outcome == "recorded"
    assert not Conversation.objects.filter(state__in=["queued", "assigned"]).exists()
    assert Conversation.objects.get().state == "closed"
