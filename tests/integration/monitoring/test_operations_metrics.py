"""The backlog gauges on /metrics (docs/deploy.md, Monitoring): webhook lag, task backlog and age,
customers waiting, page tokens by status, read from the database at scrape time."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from pagedesk.conversations.models import Contact, Conversation, ConversationState
from pagedesk.messenger.models import InboundEvent, PageConnection, TokenStatus
from pagedesk.messenger.tasks import inbound_events_process

pytestmark = pytest.mark.django_db


def scrape() -> dict[str, float]:
    text = Client().get("/metrics").content.decode()
    return {
        name: float(value)
        for line in text.splitlines()
        if line.startswith(
            ("pagedesk_inbound", "pagedesk_tasks", "pagedesk_conversations", "pagedesk_page_tokens")
        )
        for name, value in [line.rsplit(" ", 1)]
    }


def test_an_idle_deployment_reports_zero_backlog(campaign):
    figures = scrape()
    assert figures["pagedesk_inbound_events_pending"] == 0
    assert figures["pagedesk_inbound_oldest_pending_seconds"] == 0
    assert figures["pagedesk_tasks_running"] == 0
    assert not any(name.startswith("pagedesk_tasks_ready{") for name in figures)
    assert not any(name.startswith("pagedesk_conversations_queued{") for name in figures)


def test_backlogs_and_their_ages(campaign):
    now = dt.datetime.now(dt.UTC)
    InboundEvent.objects.create(
        page_id="p1",
        psid="1",
        kind="message",
        dedup_key="mid:a",
        payload={},
        received_at=now - dt.timedelta(seconds=90),
    )
    InboundEvent.objects.create(
        page_id="p1", psid="1", kind="message", dedup_key="mid:b", payload={}, received_at=now
    )
    # Stored for a page nobody connected: not lag, nothing will process it until the page is activated.
    InboundEvent.objects.create(
        page_id="p9",
        psid="1",
        kind="message",
        dedup_key="mid:c",
        payload={},
        known_page=False,
        received_at=now - dt.timedelta(hours=5),
    )
    inbound_events_process.enqueue(streams=[])
    inbound_events_process.enqueue(streams=[])
    DBTaskResult.objects.filter(status="READY").update(enqueued_at=now - dt.timedelta(seconds=40))
    # Deferred (a timer due later) is not backlog.
    inbound_events_process.using(run_after=now + dt.timedelta(minutes=5)).enqueue(streams=[])
    contact = Contact.objects.create(page_id="p1", psid="1")
    Conversation.objects.create(
        campaign=campaign,
        contact=contact,
        state=ConversationState.QUEUED,
        queued_at=now - dt.timedelta(seconds=300),
    )
    PageConnection.objects.filter(campaign=campaign).update(page_id="p1", token_status=TokenStatus.INVALID)

    figures = scrape()
    assert figures["pagedesk_inbound_events_pending"] == 2
    assert 89 <= figures["pagedesk_inbound_oldest_pending_seconds"] < 200
    assert figures['pagedesk_tasks_ready{queue="messenger"}'] == 2
    assert 39 <= figures['pagedesk_tasks_oldest_ready_seconds{queue="messenger"}'] < 150
    assert figures['pagedesk_conversations_queued{campaign="Acme Support"}'] == 1
    assert 299 <= figures['pagedesk_conversations_oldest_queued_seconds{campaign="Acme Support"}'] < 400
    assert figures['pagedesk_page_tokens{status="invalid"}'] == 1
    assert figures['pagedesk_page_tokens{status="active"}'] == 0
