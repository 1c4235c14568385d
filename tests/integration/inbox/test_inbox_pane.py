"""What the open conversation shows: campaign-timezone times, every attachment kind, the 24 h window
(countdown, HUMAN_AGENT, locked with the reason), earlier conversations collapsed, "load earlier"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.base import ContentFile

from pagedesk.campaigns.models import Campaign
from pagedesk.conversations.models import Attachment, Conversation, ConversationState, Direction, Message
from pagedesk.core import clock

from .conftest import make_conversation

pytestmark = pytest.mark.django_db


def pane(client, conversation) -> str:
    response = client.get(f"/inbox/{conversation.pk}/pane/")
    assert response.status_code == 200
    return response.content.decode()


def test_times_are_in_the_campaign_time_zone(client_for, alice, campaign, frozen_clock):
    frozen_clock.set(dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC))  # 11:00 in Madrid (CET)
    conversation = make_conversation(campaign, agent=alice, messages=0)
    Message.objects.create(
        conversation=conversation,
        direction=Direction.IN,
        sender_type="customer",
        page_id="p",
        text="hola",
        created_at=clock.now(),
    )
    assert "11:00</time>" in pane(client_for(alice), conversation)


def test_every_attachment_kind_is_rendered(client_for, alice, campaign, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    conversation = make_conversation(campaign, agent=alice, messages=0)
    message = Message.objects.create(
        conversation=conversation,
        direction=Direction.IN,
        sender_type="customer",
        page_id="p",
        kind="attachment",
    )
    for kind, name, content_type in [
        ("image", "a.png", "image/png"),
        ("video", "b.mp4", "video/mp4"),
        ("audio", "c.mp3", "audio/mpeg"),
        ("file", "d.pdf", "application/pdf"),
    ]:
        attachment = Attachment(message=message, type=kind, filename=name, content_type=content_type)
        attachment.file.save(name, ContentFile(b"x"), save=True)
    Attachment.objects.create(message=message, type="location", latitude=40.4, longitude=-3.7, title="Home")
    Attachment.objects.create(message=message, type="image", original_url="https://cdn.example/x.png")
    html = pane(client_for(alice), conversation)
    assert '<img src="/inbox/attachments/' in html
    assert '<video class="att att-video" src="/inbox/attachments/' in html
    assert '<audio class="att att-audio" src="/inbox/attachments/' in html
    assert 'download="d.pdf"' in html
    assert "openstreetmap.org/?mlat=40.400000&amp;mlon=-3.700000" in html
    assert "being downloaded" in html  # not copied yet: never hot-linked from Facebook


def test_the_reply_window_counts_down_then_human_agent_then_locks(client_for, alice, campaign: Campaign):
    conversation = make_conversation(campaign, agent=alice)
    client = client_for(alice)
    html = pane(client, conversation)
    assert 'data-mode="RESPONSE"' in html and 'id="composer-text"' in html

    two_days_ago = clock.now() - dt.timedelta(days=2)
    Conversation.objects.filter(pk=conversation.pk).update(last_customer_message_at=two_days_ago)
    campaign.human_agent_enabled = True
    campaign.save()
    html = pane(client, conversation)
    assert 'data-mode="HUMAN_AGENT"' in html and "HUMAN_AGENT tag" in html and 'id="composer-text"' in html

    campaign.human_agent_enabled = False
    campaign.save()
    html = pane(client, conversation)
    assert 'data-mode="CLOSED"' in html and 'id="composer-text"' not in html
    assert "More than 24 hours have passed" in html
    # The server refuses too, with the same reason.
    response = client.post(f"/inbox/{conversation.pk}/send/", {"text": "late"})
    assert response.status_code == 409 and "24 hours" in response.json()["error"]["message"]


def test_earlier_conversations_are_collapsed_and_pages_load_earlier(client_for, alice, campaign):
    earlier = make_conversation(
        campaign,
        agent=alice,
        state=ConversationState.CLOSED,
        messages=3,
        at=clock.now() - dt.timedelta(days=2),
    )
    conversation = make_conversation(campaign, agent=alice, contact=earlier.contact, messages=45)
    client = client_for(alice)
    html = pane(client, conversation)
    assert "Earlier conversation" in html and f"/inbox/{conversation.pk}/earlier/{earlier.pk}/" in html
    assert html.count('data-testid="message"') == 40 and 'data-action="load-earlier"' in html
    older = client.get(f"/inbox/{conversation.pk}/earlier/{earlier.pk}/").content.decode()
    assert older.count('data-testid="message"') == 3
    first_shown = Message.objects.filter(conversation=conversation).order_by("created_at", "pk")[5]
    page = client.get(f"/inbox/{conversation.pk}/messages/?before={first_shown.pk}")
    assert page.content.decode().count('data-testid="message"') == 5 and page["X-Has-More"] == "0"
    # An "earlier" id from another customer is not readable through this conversation.
    stranger = make_conversation(campaign, agent=alice)
    assert client.get(f"/inbox/{conversation.pk}/earlier/{stranger.pk}/").status_code == 404


@pytest.mark.parametrize(("strategy", "followed"), [("ringall", "1"), ("rrmemory", "0")])
def test_a_queued_pane_says_whether_events_keep_it_current(client_for, alice, campaign, strategy, followed):
    """Only a ringall campaign's members hear about its queued conversations (docs/events.md): the
    inbox closes a pane it would not hear about after Return to queue (inbox/actions.js, simpleAction)."""
    Campaign.objects.filter(pk=campaign.pk).update(strategy=strategy)
    queued = make_conversation(campaign, state=ConversationState.QUEUED, messages=1)
    pane = client_for(alice).get(f"/inbox/{queued.pk}/pane/").content.decode()
    assert f'data-followed="{followed}"' in pane
    mine = make_conversation(campaign, agent=alice, messages=1)
    assert 'data-followed="1"' in client_for(alice).get(f"/inbox/{mine.pk}/pane/").content.decode()
