"""The inbox's first render and every fragment run a bounded number of queries, whatever the volume:
50 conversations and 2,000 messages here (40 per conversation, with attachments)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pagedesk.campaigns.models import CannedResponse
from pagedesk.campaigns.services import disposition_create
from pagedesk.conversations.models import Attachment, ConversationState, Message

from .conftest import make_contact, make_conversation

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy_day(campaign, alice, bob):
    CannedResponse.objects.create(campaign=campaign, title="Hi", text="Hi {customer_first_name}")
    disposition_create(campaign=campaign, name="Solved")
    conversations = []
    for index in range(50):
        contact = make_contact(first_name=f"Customer{index}", last_name="Test")
        if index < 25:
            state, agent = ConversationState.ASSIGNED, alice
        elif index < 35:
            state, agent = ConversationState.QUEUED, None
        elif index < 45:
            state, agent = ConversationState.CLOSED, alice
        else:
            state, agent = ConversationState.ASSIGNED, bob
        conversations.append(
            make_conversation(campaign, contact=contact, agent=agent, state=state, messages=40)
        )
    # Earlier conversations with the first customer, and attachments on its messages.
    first = conversations[0]
    for _ in range(3):
        make_conversation(
            campaign, contact=first.contact, agent=alice, state=ConversationState.CLOSED, messages=0
        )
    for message in Message.objects.filter(conversation=first)[:10]:
        Attachment.objects.create(message=message, type="location", latitude=1.0, longitude=2.0)
        Attachment.objects.create(message=message, type="file", filename="a.pdf", original_url="")
    assert Message.objects.count() == 2000
    return conversations


def count(client, url: str, **headers: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **headers)
    assert response.status_code == 200, response.content[:500]
    return len(captured)


def test_every_inbox_read_runs_a_bounded_number_of_queries(
    client_for, alice, busy_day, django_assert_max_num_queries
):
    client = client_for(alice)
    first = busy_day[0]
    closed = busy_day[40]
    oldest = Message.objects.filter(conversation=first).order_by("created_at", "pk")[0]
    newest = Message.objects.filter(conversation=first).order_by("-created_at", "-pk")[0]
    counts = {}
    bounds = {
        "page": ("/inbox/", 6),
        "page with a conversation": (f"/inbox/{first.pk}/", 13),
        "lists": ("/inbox/lists/", 5),
        "history": ("/inbox/history/?q=customer", 4),
        "pane": (f"/inbox/{first.pk}/pane/", 10),
        "pane (closed)": (f"/inbox/{closed.pk}/pane/", 10),
        "messages (newest page)": (f"/inbox/{first.pk}/messages/", 6),
        "messages (after)": (f"/inbox/{first.pk}/messages/?after=0", 6),
        "messages (earlier page)": (
            f"/inbox/{first.pk}/messages/?before={newest.pk}",
            7,
        ),
        "one message": (
            f"/inbox/{first.pk}/messages/{oldest.pk}/",
            6,
        ),
        "transfer form": (f"/inbox/{first.pk}/transfer/", 7),
        "presence": ("/inbox/presence/", 4),
    }
    for name, (url, bound) in bounds.items():
        with django_assert_max_num_queries(bound):
            counts[name] = count(client, url, HTTP_HX_REQUEST="true")
    print("query counts:", counts)
    # The counts do not grow with volume: the same reads with 10 times fewer messages cost the same.
    Message.objects.filter(conversation=first).exclude(
        pk__in=Message.objects.filter(conversation=first)[:4]
    ).delete()
    assert count(client, f"/inbox/{first.pk}/pane/", HTTP_HX_REQUEST="true") == counts["pane"]
    assert count(client, "/inbox/lists/", HTTP_HX_REQUEST="true") == counts["lists"]
