"""Issue 12 #7: the CSV exports say what the screen says — agents by full name, dispositions as
"Category › Disposition", times in the campaign's time zone with their offset (ISO 8601) — plus UTC for
machines; formulas stay neutralised."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from pagedesk.campaigns.models import Disposition
from pagedesk.conversations.models import SenderType
from tests.integration.recordings.conftest import AT, make_message, make_recording

pytestmark = pytest.mark.django_db


def _csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_list_export_matches_the_screen(client_for, campaign, beta, ada, alice, bob):
    alice.last_name = "Andersson"
    alice.save(update_fields=["last_name"])
    bob.first_name = "=SUM(A1:A9)"  # a name is typed by people too: still no formula in a spreadsheet
    bob.save(update_fields=["first_name"])
    beta.timezone = "America/New_York"
    beta.save(update_fields=["timezone"])
    solved = Disposition.objects.create(campaign=campaign, name="Solved")
    refund = Disposition.objects.create(campaign=campaign, name="Refund", parent=solved)
    madrid = make_recording(
        campaign,
        "1",
        agent=alice,
        disposition=refund,
        assigned_at=AT + dt.timedelta(seconds=30),
        closed_at=AT + dt.timedelta(minutes=5),
    )
    new_york = make_recording(beta, "2", agent=bob, disposition=None)

    rows = {int(row["id"]): row for row in _csv(client_for(ada).get(reverse("recordings:export")))}
    row = rows[madrid.pk]
    assert row["agent"] == "Alice Andersson"
    assert row["disposition"] == "Solved › Refund"
    assert row["created_at"] == "2026-03-02T11:00:00+01:00"  # 10:00 UTC is 11:00 in Madrid
    assert row["created_at_utc"] == "2026-03-02T10:00:00Z"
    assert row["queued_at"] == "2026-03-02T11:00:00+01:00"
    assert row["assigned_at"] == "2026-03-02T11:00:30+01:00"
    assert row["closed_at"] == "2026-03-02T11:05:00+01:00"
    assert row["abandoned_at"] == ""
    assert row["timezone"] == "Europe/Madrid"

    other = rows[new_york.pk]
    assert other["created_at"] == "2026-03-02T05:00:00-05:00"
    assert other["created_at_utc"] == "2026-03-02T10:00:00Z"
    assert other["agent"] == "'=SUM(A1:A9)"
    assert other["disposition"] == ""


def test_a_disposition_without_category_is_its_name(client_for, campaign, ada, alice):
    done = Disposition.objects.create(campaign=campaign, name="Done")
    make_recording(campaign, "1", agent=alice, disposition=done)
    (row,) = _csv(client_for(ada).get(reverse("recordings:export")))
    assert row["disposition"] == "Done" and row["agent"] == "Alice"


def test_transcript_export_uses_the_campaigns_time_zone(client_for, campaign, sam, alice):
    conversation = make_recording(campaign, "1", agent=alice, texts=["Hi, where is my parcel?"])
    make_message(
        conversation,
        "=1+1 it left today",
        sender=SenderType.AGENT,
        author=alice,
        at=AT + dt.timedelta(minutes=1),
    )
    rows = _csv(client_for(sam).get(reverse("recordings:transcript_download", args=[conversation.pk])))
    assert [(r["time"], r["time_utc"], r["sender"]) for r in rows] == [
        ("2026-03-02T11:00:00+01:00", "2026-03-02T10:00:00Z", "Carla Mendes"),
        ("2026-03-02T11:01:00+01:00", "2026-03-02T10:01:00Z", "Alice"),
    ]
    assert rows[1]["text"] == "'=1+1 it left today"
