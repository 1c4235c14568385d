"""Routing test helpers: customers arriving the way the Messenger ingest hands them over."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest
from django.db import transaction

from pagedesk.accounts.models import Presence, User
from pagedesk.campaigns import schedule
from pagedesk.campaigns.models import Campaign
from pagedesk.campaigns.services import MemberSpec, campaign_create, membership_set
from pagedesk.conversations.models import Contact, Conversation, ConversationEvent, ConversationState
from pagedesk.core import clock
from pagedesk.routing import services as routing_services
from pagedesk.routing.services import arrivals, presence_set
from tests.conftest import make_user

_psids = itertools.count(1000)


def arrive(campaign: Campaign, psid: str | None = None) -> Conversation:
    """What conversations.services does for a first message: contact, queued conversation, "queued"
    event and the hand-over to routing, all in one transaction."""
    now = clock.now()
    with transaction.atomic():
        contact, _ = Contact.objects.get_or_create(
            page_id=f"page-{campaign.pk}", psid=psid or str(next(_psids))
        )
        conversation = Conversation.objects.create(
            campaign=campaign,
            contact=contact,
            state=ConversationState.QUEUED,
            queued_at=now,
            queue_order=now,
            last_customer_message_at=now,
            last_message_at=now,
        )
        ConversationEvent.objects.create(conversation=conversation, kind="queued", at=now)
        routing_services.conversation_route_new(conversation=conversation)
    conversation.refresh_from_db()
    return conversation


def make_campaign(name: str, *, agents: list[User], open_all_week: bool = True, **fields: object) -> Campaign:
    ranges = (
        [schedule.Range(schedule.ALL_WEEKDAYS, 0, schedule.MINUTES_PER_DAY)]
        if open_all_week
        else [schedule.Range(schedule.DEFAULT_WEEKDAYS, 9 * 60, 18 * 60)]
    )
    created = campaign_create(
        fields={"name": name, "page_name": name, "timezone": "UTC", **fields},
        ranges=ranges,
    )
    membership_set(campaign=created, members=[MemberSpec(agent_id=a.pk) for a in agents])
    created.refresh_from_db()
    return created


def available(*agents: User) -> None:
    for agent in agents:
        presence_set(agent=agent, presence=Presence.AVAILABLE)


def state_of(conversation: Conversation) -> tuple[str, int | None]:
    conversation.refresh_from_db()
    return conversation.state, conversation.agent_id


@pytest.fixture
def sent(monkeypatch) -> Iterator[list[tuple[int, str]]]:
    """System messages routing asked to send (conversation id, text); the real send path is not run."""
    calls: list[tuple[int, str]] = []

    def fake(*, conversation: Conversation, text: str) -> None:
        calls.append((conversation.pk, text))

    monkeypatch.setattr(arrivals, "_send_system_message", fake)
    yield calls


@pytest.fixture
def carol(db) -> User:
    return make_user("carol", "agent")


@pytest.fixture
def agent_factory(db) -> Callable[[str], User]:
    def make(username: str) -> User:
        return make_user(username, "agent")

    return make
