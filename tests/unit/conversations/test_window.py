"""The Messenger window: 24 h RESPONSE, up to 7 days HUMAN_AGENT when the campaign allows it, else refused."""

from __future__ import annotations

import datetime as dt

import pytest

from pagedesk.conversations.models import Contact, Conversation, Message
from pagedesk.conversations.sending import message_send
from pagedesk.conversations.window import WindowMode, messaging_window
from pagedesk.core import clock
from pagedesk.core.errors import ApplicationError
from pagedesk.messenger import send


def conversation_with_last_message(campaign, *, ago: dt.timedelta) -> Conversation:
    contact = Contact.objects.create(page_id="1000000000000001", psid="7000000000000001")
    return Conversation.objects.create(
        campaign=campaign, contact=contact, state="queued", last_customer_message_at=clock.now() - ago
    )


@pytest.mark.django_db
def test_23h59_is_a_response(campaign, frozen_clock):
    conversation = conversation_with_last_message(campaign, ago=dt.timedelta(hours=23, minutes=59))
    assert messaging_window(conversation=conversation) == (WindowMode.RESPONSE, 60)


@pytest.mark.django_db
def test_25h_without_human_agent_is_closed(campaign, frozen_clock):
    conversation = conversation_with_last_message(campaign, ago=dt.timedelta(hours=25))
    assert messaging_window(conversation=conversation) == (WindowMode.CLOSED, 0)


@pytest.mark.django_db
def test_25h_with_human_agent_uses_the_tag(campaign, frozen_clock):
    campaign.human_agent_enabled = True
    campaign.save()
    conversation = conversation_with_last_message(campaign, ago=dt.timedelta(hours=25))
    mode, remaining = messaging_window(conversation=conversation)
    assert mode == WindowMode.HUMAN_AGENT
    assert remaining == int((dt.timedelta(days=7) - dt.timedelta(hours=25)).total_seconds())


@pytest.mark.django_db
@pytest.mark.parametrize("human_agent", [False, True])
def test_8_days_is_refused_without_a_graph_call(campaign, frozen_clock, alice, monkeypatch, human_agent):
    campaign.human_agent_enabled = human_agent
    campaign.save()
    conversation = conversation_with_last_message(campaign, ago=dt.timedelta(days=8))
    assert messaging_window(conversation=conversation) == (WindowMode.CLOSED, 0)
    monkeypatch.setattr(send.client, "post", lambda *a, **k: pytest.fail("no Graph call outside the window"))
    with pytest.raises(ApplicationError) as excinfo:
        message_send(conversation=conversation, author=alice, text="Hello?")
    assert excinfo.value.code == "outside_window"
    assert "7 days" in excinfo.value.message if human_agent else "24 hours" in excinfo.value.message
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_window_follows_the_contacts_latest_message_in_any_conversation(campaign, frozen_clock):
    old = conversation_with_last_message(campaign, ago=dt.timedelta(days=3))
    old.state = "closed"
    old.save()
    newer = Conversation.objects.create(
        campaign=campaign,
        contact=old.contact,
        state="queued",
        last_customer_message_at=clock.now() - dt.timedelta(hours=1),
    )
    assert messaging_window(conversation=old)[0] == WindowMode.RESPONSE
    assert messaging_window(conversation=newer)[0] == WindowMode.RESPONSE


@pytest.mark.django_db
def test_no_customer_message_means_closed(campaign):
    contact = Contact.objects.create(page_id="1", psid="2")
    conversation = Conversation.objects.create(campaign=campaign, contact=contact)
    assert messaging_window(conversation=conversation) == (WindowMode.CLOSED, 0)
