"""Outbound webhook helpers: a real local receiver, endpoints registered to it, customers writing."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from django.db import transaction

from pagedesk.accounts.models import User
from pagedesk.campaigns.models import Campaign
from pagedesk.conversations import services as conversation_services
from pagedesk.conversations.services import Received
from pagedesk.messenger.models import PageConnection
from pagedesk.platform.models import EVENT_TYPES, WebhookEndpoint
from pagedesk.platform.services import EndpointSpec, webhook_endpoint_create
from pagedesk.platform.subscriptions import cache_clear
from pagedesk.routing import inbound
from tests.webhook_receiver import Receiver, running_receiver

PAGE = "104729538099999"
_mids = itertools.count(1)


@pytest.fixture(autouse=True)
def private_receivers_allowed(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    cache_clear()
    yield
    cache_clear()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def page(campaign: Campaign) -> PageConnection:
    connection, _ = PageConnection.objects.update_or_create(campaign=campaign, defaults={"page_id": PAGE})
    return connection


@pytest.fixture
def register(ada: User):
    def make(
        url: str, *, campaigns: list[Campaign] | None = None, types: list[str] | None = None, **extra: object
    ) -> tuple[WebhookEndpoint, str]:
        spec = EndpointSpec(
            url=url,
            event_types=types or list(EVENT_TYPES),
            campaign_ids=[c.pk for c in campaigns or []],
            all_campaigns=campaigns is None,
        )
        return webhook_endpoint_create(spec=spec, created_by=ada, **extra)  # type: ignore[arg-type]

    return make


def customer_writes(campaign: Campaign, psid: str, text: str = "hi", page_id: str = PAGE) -> Received:
    """A customer's message, the way the Messenger processing task hands it over."""
    with transaction.atomic():
        contact = conversation_services.contact_lock(page_id=page_id, psid=psid)
        return inbound.message_receive(
            contact=contact,
            campaign=campaign,
            page_id=page_id,
            mid=f"m_hook_{next(_mids)}",
            kind="text",
            text=text,
        )


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """The personas are created in every test; PBKDF2's deliberate slowness would dominate the run."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
