"""The integrations admin pages, a user's own tokens page, and how an integration's messages are
shown: inbox thread, transcript page and transcript CSV (its name, a marker, styled apart)."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from pagedesk.accounts.models import ApiToken
from pagedesk.campaigns.models import Integration
from pagedesk.campaigns.services import integration_create
from pagedesk.conversations.models import SenderType
from pagedesk.conversations.sending import messages_send
from tests.integration.inbox.conftest import make_conversation

pytestmark = pytest.mark.django_db


def _bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_an_admin_creates_an_integration_adds_a_token_and_revokes(client_for, ada, campaign):
    admin = client_for(ada)
    assert admin.get("/integrations/").status_code == 200
    assert 'href="/integrations/"' in admin.get("/campaigns/").content.decode()  # the nav link
    created = admin.post("/integrations/new/", {"name": "Order <bot>", "campaigns": [campaign.pk]})
    assert created.status_code == 302
    integration = Integration.objects.get()
    page = admin.get("/integrations/").content.decode()
    assert "Order &lt;bot&gt;" in page and "Order <bot>" not in page and "Acme Support" in page
    token_page = admin.post(f"/integrations/{integration.pk}/tokens/", {"name": "prod"})
    assert token_page.status_code == 201 and token_page["Cache-Control"] == "no-store"
    raw = token_page.context["raw"]
    assert raw in token_page.content.decode() and "shown only this once" in token_page.content.decode()
    assert Client().get("/api/v1/me", **_bearer(raw)).status_code == 200
    listed = admin.get("/integrations/").content.decode()
    assert raw not in listed and ApiToken.objects.get(user=integration.user).prefix in listed
    token = ApiToken.objects.get(user=integration.user)
    assert admin.post(f"/integrations/{integration.pk}/tokens/{token.pk}/revoke/").status_code == 302
    assert Client().get("/api/v1/me", **_bearer(raw)).status_code == 401
    assert admin.post(f"/integrations/{integration.pk}/revoke/").status_code == 302
    integration.refresh_from_db()
    assert integration.revoked_at is not None and not integration.user.is_active


def test_the_create_form_says_what_is_wrong(client_for, ada, campaign):
    admin = client_for(ada)
    integration_create(name="CRM", campaign_ids=[campaign.pk], created_by=ada)
    duplicate = admin.post("/integrations/new/", {"name": "crm", "campaigns": [campaign.pk]})
    assert duplicate.status_code == 422 and "already exists" in duplicate.content.decode()
    no_campaign = admin.post("/integrations/new/", {"name": "Other"})
    assert no_campaign.status_code == 422
    assert Integration.objects.count() == 1


def test_the_integrations_pages_are_for_admins(client_for, sam, alice):
    for person in (sam, alice):
        assert client_for(person).get("/integrations/").status_code == 403
        assert client_for(person).post("/integrations/new/", {"name": "x"}).status_code == 403


def test_everyone_manages_their_own_tokens(client_for, alice, bob):
    page = client_for(alice).post("/accounts/tokens/", {"name": "laptop"})
    assert page.status_code == 201 and page["Cache-Control"] == "no-store"
    raw = page.context["raw"]
    assert Client().get("/api/v1/me", **_bearer(raw)).json()["username"] == "alice"
    token = ApiToken.objects.get(user=alice)
    listed = client_for(alice).get("/accounts/tokens/").content.decode()
    assert token.prefix in listed and raw not in listed and "laptop" in listed
    # Nobody revokes someone else's token.
    assert client_for(bob).post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 404
    assert client_for(alice).post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 302
    assert Client().get("/api/v1/me", **_bearer(raw)).status_code == 401


def test_an_integrations_message_is_shown_as_such(client_for, alice, sam, campaign):
    integration = integration_create(name="Order bot", campaign_ids=[campaign.pk], created_by=None)
    conversation = make_conversation(campaign, agent=alice)
    (message,) = messages_send(
        conversation=conversation,
        author=integration.user,
        text="<i>Shipped</i>",
        sender_type=SenderType.INTEGRATION,
    )
    thread = client_for(alice).get(f"/inbox/{conversation.pk}/messages/").content.decode()
    item = thread[thread.index(f'id="m-{message.pk}"') - 60 :]
    assert (
        "ib-msg-integration" in item[:400]
        and "Order bot" in item
        and 'data-testid="integration-marker"' in item
    )
    assert "&lt;i&gt;Shipped&lt;/i&gt;" in item
    transcript = client_for(sam).get(f"/recordings/{conversation.pk}/").content.decode()
    assert "msg-integration" in transcript and "Order bot" in transcript
    assert 'data-testid="integration-marker"' in transcript
    download = client_for(sam).get(f"/recordings/{conversation.pk}/download.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert {"sender_type": "integration", "sender": "Order bot", "text": "<i>Shipped</i>"}.items() <= rows[
        -1
    ].items()
