"""Thread control: standby copies kept on the conversation (never routed), messaging_handovers keeping the
contact's thread owner current, and an agent's Take control / Hand back against the simulator."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from pagedesk.campaigns.services import campaign_create
from pagedesk.conversations.models import Contact, Conversation, ConversationEvent, Message
from pagedesk.conversations.sending import message_send
from pagedesk.conversations.thread import PAGE_INBOX_APP_ID, UNKNOWN_APP
from pagedesk.conversations.window import WindowMode, messaging_window
from pagedesk.core import clock
from pagedesk.core.errors import ApplicationError
from pagedesk.messenger.models import InboundEvent, PageConnection, TokenStatus
from pagedesk.messenger.send import message_deliver
from pagedesk.messenger.thread_control import thread_control_hand_back, thread_control_take
from pagedesk.messenger.tokens import page_token_set
from pagedesk.realtime.events import ContactUpdated, ConversationQueued, MessageCreated
from tests.integration.messenger.facebook_simulator import (
    ACME_PAGE_ID,
    ACME_SEED_PAGE_TOKEN,
    CARLA,
    Simulator,
)
from tests.integration.messenger.test_processing_events import (  # the same signed-POST-and-worker path
    PAGE,
    PSID,
    SECRET,
    open_conversation,
    process,
)

OUR_APP = "4242424242"


@pytest.fixture(autouse=True)
def facebook_settings(settings, tmp_path):
    settings.FACEBOOK_APP_SECRET = SECRET
    settings.FACEBOOK_APP_ID = OUR_APP
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def page(campaign) -> PageConnection:
    connection, _ = PageConnection.objects.update_or_create(
        campaign=campaign, defaults={"page_id": PAGE, "page_name": "Acme", "token_status": "active"}
    )
    page_token_set(page_connection=connection, token="PAGE-TOKEN")
    connection.save()
    return connection


def assigned(campaign, alice) -> Conversation:
    conversation = open_conversation(campaign)
    conversation.state, conversation.agent = "assigned", alice
    conversation.last_customer_message_at = clock.now() - dt.timedelta(minutes=5)
    conversation.save()
    return conversation


# --- ingest -----------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_handover_to_the_page_inbox_records_the_owner_and_tells_the_agents_page(
    page, campaign, alice, published
):
    conversation = assigned(campaign, alice)
    event = process("handover_pass_to_page_inbox", PAGEDESK_APP_ID=OUR_APP)
    assert (event.kind, event.status) == ("handover", "processed")
    contact = Contact.objects.get(page_id=PAGE, psid=PSID)
    assert contact.thread_owner_app_id == PAGE_INBOX_APP_ID and contact.thread_owner_changed_at
    change = ConversationEvent.objects.get(conversation=conversation, kind="thread_control")
    assert change.data == {"how": "passed", "owner_app_id": PAGE_INBOX_APP_ID, "previous_owner_app_id": ""}
    updates = [(e, to) for e, to in published if isinstance(e, ContactUpdated)]
    assert len(updates) == 1 and f"agent.{alice.pk}" in updates[0][1]

    taken = process("handover_take_by_pagedesk", PAGEDESK_APP_ID=OUR_APP)
    assert taken.status == "processed"
    contact.refresh_from_db()
    assert contact.thread_owner_app_id == ""


@pytest.mark.django_db(transaction=True)
def test_a_handover_already_recorded_changes_nothing(page, campaign, alice):
    assigned(campaign, alice)
    Contact.objects.filter(page_id=PAGE, psid=PSID).update(thread_owner_app_id=PAGE_INBOX_APP_ID)
    event = process("handover_pass_to_page_inbox", PAGEDESK_APP_ID=OUR_APP)
    assert (event.status, event.error) == ("ignored", "thread owner already recorded")
    assert not ConversationEvent.objects.filter(kind="thread_control").exists()


@pytest.mark.django_db(transaction=True)
def test_a_standby_message_joins_the_open_conversation_marked_and_not_routed(
    page, campaign, alice, published
):
    conversation = assigned(campaign, alice)
    before = Conversation.objects.get(pk=conversation.pk)
    process("handover_pass_to_page_inbox", PAGEDESK_APP_ID=OUR_APP)
    event = process("standby")
    assert (event.kind, event.status) == ("standby", "processed")
    message = Message.objects.get(mid="m_StandbyMsg001")
    assert message.conversation_id == conversation.pk and message.direction == "in"
    assert message.extra["standby"] is True and message.extra["thread_owner_app_id"] == PAGE_INBOX_APP_ID
    after = Conversation.objects.get(pk=conversation.pk)
    # Same state and agent, and the dropout clock did not move: pagedesk was not the one to answer.
    assert (after.state, after.agent_id) == ("assigned", alice.pk)
    assert after.last_customer_message_at == before.last_customer_message_at
    created = [e for e, _to in published if isinstance(e, MessageCreated)]
    assert [e.message_id for e in created] == [message.pk]
    assert not [e for e, _to in published if isinstance(e, ConversationQueued)]
    # The window is the page's: the standby message counts.
    assert Contact.objects.get(pk=conversation.contact_id).last_message_at >= after.last_customer_message_at


@pytest.mark.django_db(transaction=True)
def test_a_standby_message_without_an_open_conversation_is_kept_closed_never_queued(page, published):
    event = process("standby")
    assert event.status == "processed"
    message = Message.objects.get(mid="m_StandbyMsg001")
    assert message.conversation.state == "closed"
    assert ConversationEvent.objects.filter(
        conversation=message.conversation, kind="recorded", data__reason="standby"
    ).exists()
    assert not ConversationEvent.objects.filter(kind="queued").exists()
    # No messaging_handovers came first: the copy itself says another app has the thread.
    assert Contact.objects.get(page_id=PAGE, psid=PSID).thread_owner_app_id == UNKNOWN_APP


@pytest.mark.django_db(transaction=True)
def test_a_standby_message_redelivered_is_stored_once(page):
    process("standby")
    process("standby")
    assert Message.objects.filter(mid="m_StandbyMsg001").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_page_inboxs_reply_in_standby_is_recorded_as_sent_from_facebook(page, campaign, alice):
    conversation = assigned(campaign, alice)
    process("standby_echo_page_inbox")
    message = Message.objects.get(mid="m_StandbyEcho001")
    assert (message.conversation_id, message.direction, message.sender_type) == (
        conversation.pk,
        "out",
        "page_echo",
    )
    assert message.extra["app_id"] == PAGE_INBOX_APP_ID


@pytest.mark.django_db(transaction=True)
def test_a_request_for_the_thread_is_kept_with_its_reason(page, campaign, alice):
    assigned(campaign, alice)
    event = process("handover_request_from_page_inbox")
    assert event.status == "ignored" and "263902037430900" in event.error
    assert Contact.objects.get(page_id=PAGE, psid=PSID).thread_owner_app_id == ""


@pytest.mark.django_db(transaction=True)
def test_a_standby_message_reopens_the_messaging_window(page, campaign, alice):
    conversation = assigned(campaign, alice)
    conversation.last_customer_message_at = clock.now() - dt.timedelta(days=3)
    conversation.save()
    assert messaging_window(conversation=conversation)[0] == WindowMode.CLOSED
    process("standby")
    assert messaging_window(conversation=conversation)[0] == WindowMode.RESPONSE


@pytest.mark.django_db
def test_a_reply_while_another_app_owns_the_thread_is_refused_with_the_fix(page, campaign, alice):
    conversation = assigned(campaign, alice)
    Contact.objects.filter(pk=conversation.contact_id).update(thread_owner_app_id=PAGE_INBOX_APP_ID)
    conversation.refresh_from_db()
    with pytest.raises(ApplicationError) as refused:
        message_send(conversation=conversation, author=alice, text="hello?")
    assert refused.value.code == "thread_owned_elsewhere"
    assert "Page inbox" in refused.value.message and "Take control" in refused.value.message
    assert not Message.objects.filter(direction="out").exists()


# --- against the simulator ---------------------------------------------------------------------------------


@pytest.fixture
def sim_conversation(db, fb: Simulator, alice, settings) -> Conversation:
    fb.customer_says(CARLA, "Hello, my order is late")
    settings.FACEBOOK_APP_ID = fb.http.get("/_control/config").json()["app_id"]
    campaign = campaign_create(fields={"name": "Acme Support", "page_name": "Acme Support"})
    connection = PageConnection.objects.get(campaign=campaign)
    connection.page_id, connection.page_name = ACME_PAGE_ID, "Acme Support"
    connection.token_status = TokenStatus.ACTIVE
    page_token_set(page_connection=connection, token=ACME_SEED_PAGE_TOKEN)
    connection.save()
    contact = Contact.objects.create(page_id=ACME_PAGE_ID, psid=CARLA)
    return Conversation.objects.create(
        campaign=campaign,
        contact=contact,
        state="assigned",
        agent=alice,
        last_customer_message_at=clock.now(),
    )


def give_to_page_inbox(fb: Simulator, conversation: Conversation) -> None:
    response = fb.http.post(f"/_control/pages/{ACME_PAGE_ID}/threads/{CARLA}", json={"owner": "page_inbox"})
    assert response.status_code == 201, response.text
    Contact.objects.filter(pk=conversation.contact_id).update(thread_owner_app_id=PAGE_INBOX_APP_ID)
    conversation.contact.refresh_from_db()


def owner_on_facebook(fb: Simulator) -> str | None:
    return fb.http.get(f"/_control/pages/{ACME_PAGE_ID}/threads/{CARLA}").json()["owner_app_id"]


@pytest.mark.django_db
def test_take_control_then_hand_back_to_the_page_inbox(fb, sim_conversation, alice, settings):
    give_to_page_inbox(fb, sim_conversation)
    assert thread_control_take(conversation=sim_conversation, actor=alice) == PAGE_INBOX_APP_ID
    assert owner_on_facebook(fb) == settings.FACEBOOK_APP_ID
    contact = Contact.objects.get(pk=sim_conversation.contact_id)
    assert contact.thread_owner_app_id == ""
    taken = ConversationEvent.objects.get(conversation=sim_conversation, kind="thread_control")
    assert taken.actor == alice and taken.data["how"] == "taken"

    # Now the reply goes out.
    message = message_send(conversation=sim_conversation, author=alice, text="Alice here, I have it")
    message.refresh_from_db()
    assert message_deliver(message_id=message.pk, attempt=message.send_attempts) == "sent"

    sim_conversation.contact.refresh_from_db()
    assert thread_control_hand_back(conversation=sim_conversation, actor=alice) == PAGE_INBOX_APP_ID
    assert owner_on_facebook(fb) == PAGE_INBOX_APP_ID
    assert Contact.objects.get(pk=sim_conversation.contact_id).thread_owner_app_id == PAGE_INBOX_APP_ID
    hows = list(
        ConversationEvent.objects.filter(kind="thread_control")
        .order_by("pk")
        .values_list("data__how", flat=True)
    )
    assert hows == ["taken", "handed_back"]


@pytest.mark.django_db
def test_take_refused_by_facebook_leaves_the_owner_and_says_why(fb, sim_conversation, alice):
    give_to_page_inbox(fb, sim_conversation)
    fb.http.put("/_control/config", json={"take_thread_control_allowed": False}).raise_for_status()
    with pytest.raises(ApplicationError) as refused:
        thread_control_take(conversation=sim_conversation, actor=alice)
    assert refused.value.code == "thread_control_refused" and "Meta Business Suite" in refused.value.message
    assert Contact.objects.get(pk=sim_conversation.contact_id).thread_owner_app_id == PAGE_INBOX_APP_ID
    assert owner_on_facebook(fb) == PAGE_INBOX_APP_ID


@pytest.mark.django_db
def test_take_when_pagedesk_already_has_it_is_refused_without_calling_facebook(fb, sim_conversation, alice):
    with pytest.raises(ApplicationError) as refused:
        thread_control_take(conversation=sim_conversation, actor=alice)
    assert refused.value.code == "thread_already_ours"


@pytest.mark.django_db
def test_a_queued_reply_fails_clearly_when_facebook_says_another_app_took_the_thread(
    fb, sim_conversation, alice
):
    message = message_send(conversation=sim_conversation, author=alice, text="Are you still there?")
    # The Page inbox takes the thread before the delivery runs, and pagedesk has not heard yet.
    fb.http.post(
        f"/_control/pages/{ACME_PAGE_ID}/threads/{CARLA}", json={"owner": "page_inbox"}
    ).raise_for_status()
    message.refresh_from_db()
    assert message_deliver(message_id=message.pk, attempt=message.send_attempts) == "failed"
    message.refresh_from_db()
    assert message.status == "failed" and "Take control" in message.status_reason
    assert Contact.objects.get(pk=sim_conversation.contact_id).thread_owner_app_id == PAGE_INBOX_APP_ID
    assert fb.sent(ACME_PAGE_ID, CARLA) == []


@pytest.mark.django_db
def test_a_queued_reply_fails_without_a_call_when_the_owner_is_already_known(fb, sim_conversation, alice):
    message = message_send(conversation=sim_conversation, author=alice, text="Are you still there?")
    Contact.objects.filter(pk=sim_conversation.contact_id).update(thread_owner_app_id=PAGE_INBOX_APP_ID)
    message.refresh_from_db()
    assert message_deliver(message_id=message.pk, attempt=message.send_attempts) == "failed"
    message.refresh_from_db()
    assert "the Facebook Page inbox has this conversation" in message.status_reason
    assert InboundEvent.objects.count() == 0


def test_take_control_is_a_post_only(page, campaign, alice, client):
    """A GET took the thread from the Page inbox (a link could have done it for an agent); its twin,
    Hand back, was already POST only."""
    conversation = assigned(campaign, alice)
    Contact.objects.filter(pk=conversation.contact_id).update(thread_owner_app_id=PAGE_INBOX_APP_ID)
    client.force_login(alice)
    response = client.get(reverse("inbox:thread_take", args=[conversation.pk]))
    assert response.status_code == 405
    assert Contact.objects.get(pk=conversation.contact_id).thread_owner_app_id == PAGE_INBOX_APP_ID
