"""Issue 12 #6: filtering recordings by agent finds every conversation the agent took part in — assigned
to them at any time, or written in by them — not only those assigned to them at the end; in the list,
the page, the CSV export and an agent's own recordings."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from pagedesk.conversations.models import SenderType
from pagedesk.recordings.selectors import RecordingFilters, recording_list, recording_page
from pagedesk.routing.models import Assignment
from tests.integration.recordings.conftest import AT, make_message, make_recording

pytestmark = pytest.mark.django_db


def _ids(user, **filters) -> set[int]:
    return set(recording_list(user=user, filters=RecordingFilters(**filters)).values_list("pk", flat=True))


@pytest.fixture
def floor(campaign, beta, alice, bob):
    """alice's day: one chat she kept, one she wrote 5 messages in and transferred to bob, one routed to
    her and transferred on before she wrote, and bob's own chats she never touched."""
    kept = make_recording(campaign, "1", agent=alice, texts=["parcel"])
    Assignment.objects.create(conversation=kept, campaign=campaign, agent=alice, how="routed", at=AT)

    wrote_then_transferred = make_recording(campaign, "2", agent=bob, texts=["refund please"])
    Assignment.objects.create(
        conversation=wrote_then_transferred, campaign=campaign, agent=alice, how="routed", at=AT
    )
    for index in range(5):
        make_message(
            wrote_then_transferred,
            f"Looking into your refund ({index})",
            sender=SenderType.AGENT,
            author=alice,
            at=AT + dt.timedelta(seconds=10 + index),
        )
    Assignment.objects.create(
        conversation=wrote_then_transferred,
        campaign=campaign,
        agent=bob,
        how="transferred",
        at=AT + dt.timedelta(minutes=1),
    )

    passed_on = make_recording(campaign, "3", agent=bob, at=AT + dt.timedelta(hours=1), texts=["refund"])
    for agent, how, minutes in [(alice, "routed", 0), (bob, "transferred", 1)]:
        Assignment.objects.create(
            conversation=passed_on,
            campaign=campaign,
            agent=agent,
            how=how,
            at=AT + dt.timedelta(hours=1, minutes=minutes),
        )

    bobs = make_recording(campaign, "4", agent=bob, texts=["refund"])
    Assignment.objects.create(conversation=bobs, campaign=campaign, agent=bob, how="routed", at=AT)
    make_message(bobs, "Bob here", sender=SenderType.AGENT, author=bob)
    elsewhere = make_recording(beta, "5", agent=bob, texts=["refund"])
    return {
        "kept": kept,
        "wrote": wrote_then_transferred,
        "passed_on": passed_on,
        "bobs": bobs,
        "elsewhere": elsewhere,
    }


def test_agent_filter_finds_every_conversation_the_agent_took_part_in(floor, ada, sam, alice, bob):
    alices = {floor["kept"].pk, floor["wrote"].pk, floor["passed_on"].pk}
    assert _ids(ada, agent_id=alice.pk) == alices
    assert _ids(sam, agent_id=alice.pk) == alices
    assert _ids(ada, agent_id=bob.pk) == {
        floor["wrote"].pk,
        floor["passed_on"].pk,
        floor["bobs"].pk,
        floor["elsewhere"].pk,
    }
    # With the other filters, on both search plans' words (a common one walks, a rare one uses the index).
    assert _ids(ada, agent_id=alice.pk, text="refund") == {floor["wrote"].pk, floor["passed_on"].pk}
    assert _ids(ada, agent_id=alice.pk, state="closed", date_from=AT.date(), date_to=AT.date()) == alices


def test_an_agent_sees_the_conversations_they_took_part_in(floor, alice):
    """The same rule scopes an agent's own recordings: one routed to alice and passed on is hers too."""
    assert _ids(alice) == {floor["kept"].pk, floor["wrote"].pk, floor["passed_on"].pk}


def test_list_page_and_export_use_the_same_rule(floor, client_for, sam, alice):
    html = client_for(sam).get(reverse("recordings:list"), {"agent": alice.pk}).content.decode()
    assert 'data-testid="result-count">3 conversations<' in html
    response = client_for(sam).get(reverse("recordings:export"), {"agent": alice.pk})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {int(row["id"]) for row in rows} == {floor["kept"].pk, floor["wrote"].pk, floor["passed_on"].pk}


def test_agent_filter_keeps_the_page_to_two_queries(floor, ada, alice, django_assert_num_queries):
    conversations = recording_list(user=ada, filters=RecordingFilters(agent_id=alice.pk))
    with django_assert_num_queries(2):  # count + page ids in one, then the page's rows with their joins
        page = recording_page(conversations=conversations, number=1)
    assert page.total == 3
