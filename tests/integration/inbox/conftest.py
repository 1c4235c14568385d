"""Inbox test helpers: conversations with real message histories, created the way ingest leaves them."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import transaction

from pagedesk.accounts.models import Presence, User
from pagedesk.campaigns.models import Campaign
from pagedesk.conversations.models import (
    Contact,
    Conversation,
    ConversationState,
    Direction,
    Message,
    MessageStatus,
    SenderType,
)
from pagedesk.core import clock
from pagedesk.routing.services import dispatch, presence_set

PAGE_ID = "1000000000000001"
_psids = itertools.count(7_100_000_000_000_000)


def make_contact(
    *, first_name: str = "Carla", last_name: str = "Customer", psid: str | None = None
) -> Contact:
    contact, _ = Contact.objects.get_or_create(
        page_id=PAGE_ID,
        psid=psid or str(next(_psids)),
        defaults={"first_name": first_name, "last_name": last_name},
    )
    return contact


def make_conversation(
    campaign: Campaign,
    *,
    contact: Contact | None = None,
    agent: User | None = None,
    state: str = ConversationState.ASSIGNED,
    messages: int = 2,
    at: dt.datetime | None = None,
) -> Conversation:
    """A conversation with `messages` alternating customer/agent messages (customer first)."""
    now = at or clock.now()
    contact = contact or make_contact()
    with transaction.atomic():
        conversation = Conversation.objects.create(
            campaign=campaign,
            contact=contact,
            state=state,
            agent=agent if state != ConversationState.QUEUED else None,
            queued_at=now,
            queue_order=now,
            assigned_at=now if agent else None,
            closed_at=now if state == ConversationState.CLOSED else None,
            last_customer_message_at=now,
            last_message_at=now,
            created_at=now,
        )
        Message.objects.bulk_create(
            [
                Message(
                    conversation=conversation,
                    direction=Direction.IN if i % 2 == 0 else Direction.OUT,
                    sender_type=SenderType.CUSTOMER if i % 2 == 0 else SenderType.AGENT,
                    author=None if i % 2 == 0 else agent,
                    page_id=PAGE_ID,
                    mid=f"m-{conversation.pk}-{i}",
                    text=f"message {i} of {conversation.pk}",
                    status=MessageStatus.RECEIVED if i % 2 == 0 else MessageStatus.DELIVERED,
                    created_at=now - dt.timedelta(seconds=messages - i),
                )
                for i in range(messages)
            ]
        )
    return conversation


def available(*agents: User) -> None:
    for agent in agents:
        presence_set(agent=agent, presence=Presence.AVAILABLE)


@pytest.fixture
def no_routing(monkeypatch):
    """Keep conversations exactly where a test puts them (no dispatch after commit).

    Patched where it is looked up: every dispatch trigger (an arrival, a requeue, a freed slot, a
    presence or campaign change) ends in dispatch.queue_dispatch."""
    monkeypatch.setattr(dispatch, "queue_dispatch", lambda **kw: [])
