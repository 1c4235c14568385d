"""A small contact center for the API's read side: two campaigns, an integration given one of them, and
conversations in both with messages, an attachment, events and a pending transfer.

Acme Support (the `campaign` fixture: alice and bob members, sam supervising) and Beta (bob only,
nobody supervising, not the integration's). Each read-side test module wraps build_world in its `world` fixture.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pagedesk.accounts.models import User
from pagedesk.campaigns import schedule
from pagedesk.campaigns.models import BlockedContact, Campaign, Integration
from pagedesk.campaigns.services import MemberSpec, campaign_create, membership_set
from pagedesk.conversations.models import (
    Attachment,
    Contact,
    Conversation,
    ConversationEvent,
    ConversationState,
    Message,
    MessageStatus,
    SenderType,
)
from pagedesk.messenger.models import PageConnection, TokenStatus
from pagedesk.routing.models import Transfer
from tests.attachment_downloads import attach
from tests.conftest import make_user
from tests.fixtures.traffic import message_row

ACME_PAGE = "1000000000000001"
BETA_PAGE = "2000000000000002"
AT = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def connect_page(campaign: Campaign, page_id: str, name: str) -> PageConnection:
    connection = campaign.page_connection
    connection.page_id = page_id
    connection.page_name = name
    connection.token_status = TokenStatus.ACTIVE
    connection.activated_at = AT - dt.timedelta(days=30)
    connection.granted_permissions = ["pages_messaging"]
    connection.save()
    return connection


def contact(page_id: str, psid: str, first: str, last: str = "Mendes") -> Contact:
    return Contact.objects.create(
        page_id=page_id, psid=psid, first_name=first, last_name=last, last_message_at=AT
    )


def conversation(
    campaign: Campaign, who: Contact, *, at: dt.datetime, state: str, agent: User | None = None
) -> Conversation:
    return Conversation.objects.create(
        campaign=campaign,
        contact=who,
        state=state,
        agent=agent,
        created_at=at,
        queued_at=at,
        queue_order=at,
        assigned_at=at + dt.timedelta(seconds=20) if agent else None,
        closed_at=at + dt.timedelta(minutes=9) if state == ConversationState.CLOSED else None,
        last_customer_message_at=at,
        last_message_at=at,
    )


def message(
    conv: Conversation, text: str, *, at: dt.datetime, sender: str = SenderType.CUSTOMER, **fields: object
) -> Message:
    row = message_row(conv, text, sender=sender, at=at, page_id=conv.contact.page_id, **fields)
    row.save()
    return row


@dataclass
class World:
    acme: Campaign
    beta: Campaign
    crm: User  # the integration's user (Acme only)
    carla: Contact  # Acme's customer
    diego: Contact  # Acme's customer, blocked there
    emma: Contact  # Beta's customer only
    open_one: Conversation  # Acme, assigned to alice, two messages and an attachment
    closed_one: Conversation  # Acme, closed by bob, a day earlier
    beta_one: Conversation  # Beta, assigned to bob
    photo: Attachment  # in open_one
    beta_photo: Attachment  # in beta_one
    first_message: Message
    reply: Message


def make_integration(name: str, campaigns: list[Campaign]) -> User:
    user = make_user(name.lower(), "integration")
    integration = Integration.objects.create(user=user, name=name)
    integration.campaigns.set(campaigns)
    return user


def build_world(campaign: Campaign, *, alice: User, bob: User) -> World:
    """The world above around the `campaign` fixture; the caller points MEDIA_ROOT somewhere temporary."""
    beta = campaign_create(
        fields={"name": "Beta", "page_name": "Beta", "timezone": "UTC"},
        ranges=[schedule.Range(schedule.ALL_WEEKDAYS, 0, schedule.MINUTES_PER_DAY)],
    )
    membership_set(campaign=beta, members=[MemberSpec(agent_id=bob.pk)])
    connect_page(campaign, ACME_PAGE, "Acme")
    connect_page(beta, BETA_PAGE, "Beta")
    crm = make_integration("CRM", [campaign])

    carla = contact(ACME_PAGE, "7100000000000001", "Carla")
    diego = contact(ACME_PAGE, "7100000000000002", "Diego", "Novak")
    emma = contact(BETA_PAGE, "7200000000000003", "Emma", "Ortiz")
    BlockedContact.objects.create(campaign=campaign, psid=diego.psid, note="Spam")

    open_one = conversation(campaign, carla, at=AT, state=ConversationState.ASSIGNED, agent=alice)
    first = message(open_one, "I want a refund for my order", at=AT)
    reply = message(
        open_one,
        "Sure, sending it now",
        at=AT + dt.timedelta(seconds=30),
        sender=SenderType.AGENT,
        author=alice,
        mid="m_reply",
        status=MessageStatus.FAILED,
        status_reason="Outside the window",
    )
    photo = attach(first, "receipt.png", "image/png", "image", b"\x89PNG receipt")
    ConversationEvent.objects.create(conversation=open_one, kind="queued", at=AT)
    ConversationEvent.objects.create(
        conversation=open_one, kind="assigned", at=AT + dt.timedelta(seconds=20), data={"agent_id": alice.pk}
    )

    closed_one = conversation(
        campaign, diego, at=AT - dt.timedelta(days=1), state=ConversationState.CLOSED, agent=bob
    )
    message(closed_one, "Where is my package", at=AT - dt.timedelta(days=1))

    beta_one = conversation(
        beta, emma, at=AT + dt.timedelta(minutes=5), state=ConversationState.ASSIGNED, agent=bob
    )
    beta_first = message(beta_one, "A refund please", at=AT + dt.timedelta(minutes=5))
    beta_photo = attach(beta_first, "secret.png", "image/png", "image", b"\x89PNG secret")

    return World(
        acme=campaign,
        beta=beta,
        crm=crm,
        carla=carla,
        diego=diego,
        emma=emma,
        open_one=open_one,
        closed_one=closed_one,
        beta_one=beta_one,
        photo=photo,
        beta_photo=beta_photo,
        first_message=first,
        reply=reply,
    )


def pending_transfer(world: World, by: User) -> Transfer:
    return Transfer.objects.create(
        conversation=world.open_one,
        from_agent=by,
        from_campaign=world.acme,
        to_campaign=world.beta,
        note="Billing question",
        created_at=AT + dt.timedelta(minutes=1),
    )
