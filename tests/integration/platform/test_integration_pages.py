"""The integrations admin pages, a user's own tokens page, and how an integration's messages are
shown: inbox thread, transcript page and transcript CSV (its name, a marker, styled apart)."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from pagedesk.accounts.models import ApiToken
from pagedesk.campaigns.models import Integration
from pagedesk.campaigns.services import campaign_create, integration_create, integration_revoke
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
    token_page = admin.post(f"/integrations/{integration.pk}/tokens/", {"name": "prod"}, follow=True)
    assert token_page.redirect_chain == [(f"/integrations/{integration.pk}/tokens/", 302)]
    assert token_page.status_code == 200 and token_page["Cache-Control"] == "no-store"
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
    page = client_for(alice).post("/accounts/tokens/", {"name": "laptop"}, follow=True)
    assert page.redirect_chain == [("/accounts/tokens/", 302)]
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
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


# --- issue 15, a first-time admin's findings ------------------------------------------------------------


def test_reloading_the_new_token_page_shows_already_shown_and_mints_no_second_token(
    client_for, ada, campaign
):
    """C2: the page answered the POST itself, so a reload re-posted and made a second live token."""
    admin = client_for(ada)
    integration = integration_create(name="CRM", campaign_ids=[campaign.pk], created_by=ada)
    url = f"/integrations/{integration.pk}/tokens/"
    created = admin.post(url, {"name": "prod"})
    assert created.status_code == 302 and created["Location"] == url
    shown = admin.get(url)
    raw = shown.context["raw"]
    assert raw.startswith("pd_") and raw in shown.content.decode()
    # The sentence says what to send, the placeholder included (it was swallowed as an HTML tag).
    assert "Authorization: Bearer &lt;token&gt;" in shown.content.decode()
    reloaded = admin.get(url)
    body = reloaded.content.decode()
    assert reloaded.status_code == 200 and reloaded["Cache-Control"] == "no-store"
    assert raw not in body and "already shown" in body
    assert ApiToken.objects.filter(user=integration.user).count() == 1


def test_reloading_your_tokens_page_after_creating_one_mints_no_second_token(client_for, alice):
    client = client_for(alice)
    assert client.post("/accounts/tokens/", {"name": "laptop"}).status_code == 302
    raw = client.get("/accounts/tokens/").context["raw"]
    assert raw and raw.startswith("pd_")
    again = client.get("/accounts/tokens/")
    assert again.context["raw"] is None and raw not in again.content.decode()
    assert ApiToken.objects.filter(user=alice).count() == 1


def test_an_admin_changes_an_integrations_campaigns_on_the_pages(client_for, ada, campaign):
    """C1: campaigns could only be changed through PUT /api/v1/integrations/{id}/campaigns."""
    other = campaign_create(fields={"name": "Billing", "page_name": "Billing", "timezone": "UTC"})
    integration = integration_create(name="CRM", campaign_ids=[campaign.pk], created_by=ada)
    admin = client_for(ada)
    url = f"/integrations/{integration.pk}/campaigns/"
    assert f'href="{url}"' in admin.get("/integrations/").content.decode()
    form = admin.get(url)
    assert form.status_code == 200
    body = form.content.decode()
    assert "<legend" in body and f'value="{campaign.pk}"' in body and "checked" in body
    saved = admin.post(url, {"campaigns": [other.pk]})
    assert saved.status_code == 302 and saved["Location"] == "/integrations/"
    assert [c.name for c in integration.campaigns.all()] == ["Billing"]
    assert "now works in: Billing" in admin.get("/integrations/").content.decode()

    empty = admin.post(url, {})
    assert empty.status_code == 422
    assert "Choose at least one campaign the integration may work in." in empty.content.decode()
    assert [c.name for c in integration.campaigns.all()] == ["Billing"]

    integration_revoke(integration=integration)
    refused = admin.post(url, {"campaigns": [campaign.pk]})
    assert refused.status_code == 422 and "was revoked" in refused.content.decode()
    assert f'href="{url}"' not in admin.get("/integrations/").content.decode()


def test_changing_an_integrations_campaigns_is_for_admins(client_for, ada, sam, campaign):
    integration = integration_create(name="CRM", campaign_ids=[campaign.pk], created_by=ada)
    url = f"/integrations/{integration.pk}/campaigns/"
    assert client_for(sam).get(url).status_code == 403
    assert client_for(sam).post(url, {"campaigns": []}).status_code == 403
    assert client_for(ada).get("/integrations/999999/campaigns/").status_code == 404


def test_revoking_a_token_asks_first(client_for, ada, alice, campaign):
    """C10: a token was revoked in one click."""
    integration = integration_create(name="CRM", campaign_ids=[campaign.pk], created_by=ada)
    admin = client_for(ada)
    admin.post(f"/integrations/{integration.pk}/tokens/", {"name": "prod"})
    token = ApiToken.objects.get(user=integration.user)
    listed = admin.get("/integrations/").content.decode()
    form = listed[listed.index(f'action="/integrations/{integration.pk}/tokens/{token.pk}/revoke/"') :]
    assert form[: form.index(">")].count("data-confirm=") == 1
    client_for(alice).post("/accounts/tokens/", {"name": "laptop"})
    own = ApiToken.objects.get(user=alice)
    page = client_for(alice).get("/accounts/tokens/").content.decode()
    form = page[page.index(f'action="/accounts/tokens/{own.pk}/revoke/"') :]
    assert form[: form.index(">")].count("data-confirm=") == 1
