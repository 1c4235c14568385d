"""Recordings test helpers: closed conversations with their customer and messages, at a fixed time.

Shared by the view tests and the ASGI download tests; contacts come from the inbox helpers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from pagedesk.campaigns import schedule
from pagedesk.campaigns.models import Campaign
from pagedesk.campaigns.services import MemberSpec, campaign_create, membership_set
from pagedesk.conversations.models import Conversation, ConversationState, Message, SenderType
from tests.fixtures.traffic import message_row
from tests.integration.inbox.conftest import PAGE_ID, make_contact

AT = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def beta(db, bob) -> Campaign:
    """A second campaign, bob's only: what sam (Acme Support's supervisor) must not see."""
    other = campaign_create(
        fields={"name": "Beta", "page_name": "Beta", "timezone": "UTC"},
        ranges=[schedule.Range(schedule.ALL_WEEKDAYS, 0, schedule.MINUTES_PER_DAY)],
    )
    membership_set(campaign=other, members=[MemberSpec(agent_id=bob.pk)])
    return other


def make_message(
    conversation: Conversation,
    text: str,
    *,
    sender: str = SenderType.CUSTOMER,
    at: dt.datetime = AT,
    **fields: Any,
) -> Message:
    """A message in `conversation`, saved: from the customer (inbound) unless `sender` says otherwise."""
    message = message_row(conversation, text, sender=sender, at=at, page_id=PAGE_ID, **fields)
    message.save()
    return message


def make_recording(
    campaign: Campaign,
    psid: str,
    *,
    first: str = "Carla",
    last: str = "Mendes",
    state: str = ConversationState.CLOSED,
    at: dt.datetime = AT,
    texts: tuple[str, ...] | list[str] = (),
    **fields: object,
) -> Conversation:
    """A conversation created `at`, with the customer's `texts` a second apart; closed unless `state` says
    otherwise; `fields` go to the conversation (agent, disposition, timestamps)."""
    contact = make_contact(first_name=first, last_name=last, psid=psid)
    conversation = Conversation.objects.create(
        campaign=campaign, contact=contact, state=state, created_at=at, queued_at=at, **fields
    )
    for index, text in enumerate(texts):
        make_message(conversation, text, at=at + dt.timedelta(seconds=index))
    return conversation
