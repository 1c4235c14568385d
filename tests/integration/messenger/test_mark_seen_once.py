"""Issue 12 #12g: the customer gets one mark_seen per batch of messages the agent has read, not one per
time the inbox says "seen". The inbox posts /seen/ when the conversation opens, when the tab comes back
into view and after every message.created of the open conversation — the agent's own reply included — and
each post sent mark_seen again, so Facebook got it twice back to back after a reply. Counted by the
simulator, with the sender-action task run at once."""

from __future__ import annotations

import pytest

from pagedesk.campaigns.services import MemberSpec, campaign_create, membership_set
from pagedesk.conversations.models import Contact, Conversation, Message
from pagedesk.core import clock
from pagedesk.messenger.models import PageConnection, TokenStatus
from pagedesk.messenger.tokens import page_token_set
from tests.integration.messenger.facebook_simulator import (
    ACME_PAGE_ID,
    ACME_SEED_PAGE_TOKEN,
    CARLA,
    Simulator,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default", "messenger", "routing", "timers"],
        }
    }


@pytest.fixture
def conversation(fb: Simulator, alice, immediate_tasks) -> Conversation:
    fb.customer_says(CARLA, "Hello, my order is late")
    campaign = campaign_create(fields={"name": "Acme Support", "page_name": "Acme Support"})
    membership_set(campaign=campaign, members=[MemberSpec(agent_id=alice.pk)])
    connection = PageConnection.objects.get(campaign=campaign)
    connection.page_id = ACME_PAGE_ID
    connection.token_status = TokenStatus.ACTIVE
    page_token_set(page_connection=connection, token=ACME_SEED_PAGE_TOKEN)
    connection.save()
    contact = Contact.objects.create(page_id=ACME_PAGE_ID, psid=CARLA)
    conversation = Conversation.objects.create(
        campaign=campaign,
        contact=contact,
        state="assigned",
        agent=alice,
        last_customer_message_at=clock.now(),
    )
    customer_writes(conversation, "Hello, my order is late")
    return conversation


def customer_writes(conversation: Conversation, text: str) -> None:
    Message.objects.create(
        conversation=conversation,
        direction="in",
        sender_type="customer",
        page_id=ACME_PAGE_ID,
        mid=f"m_{Message.objects.count() + 1}",
        text=text,
    )


def marks_seen(fb: Simulator) -> int:
    actions = fb.http.get("/_control/sent", params={"psid": CARLA}).json()["sender_actions"]
    return sum(1 for a in actions if a["action"] == "mark_seen")


def test_mark_seen_goes_once_per_batch_the_agent_reads(fb, conversation, client_for, alice):
    client = client_for(alice)
    seen = f"/inbox/{conversation.pk}/seen/"
    assert client.post(seen).status_code == 204
    assert marks_seen(fb) == 1
    # The tab comes back into view; nothing new from the customer.
    assert client.post(seen).status_code == 204
    assert marks_seen(fb) == 1
    # The agent replies; the reply's message.created makes the page say "seen" again.
    assert client.post(f"/inbox/{conversation.pk}/send/", {"text": "Let me check"}).status_code == 201
    assert client.post(seen).status_code == 204
    assert marks_seen(fb) == 1
    # Carla writes again: this one is news, so she sees "seen" once more.
    customer_writes(conversation, "Any news?")
    assert client.post(seen).status_code == 204
    assert client.post(seen).status_code == 204
    assert marks_seen(fb) == 2
