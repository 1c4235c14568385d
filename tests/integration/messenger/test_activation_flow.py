"""Activation with Facebook against the simulator over HTTP: dialog → code → tokens → permissions → pages →
subscribe, and every refusal the admin can meet on the way."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from pagedesk.campaigns.services import campaign_create
from pagedesk.messenger.models import PageConnection
from pagedesk.messenger.oauth import SCOPES
from pagedesk.messenger.tokens import page_token_check, page_token_get
from pagedesk.realtime.events import CampaignTokenStatusChanged
from tests.integration.messenger.facebook_simulator import (
    ACME_PAGE_ID,
    EDITOR_USER_ID,
    GLOBEX_PAGE_ID,
    Simulator,
)


@pytest.fixture
def fb(fb: Simulator, settings) -> Simulator:
    settings.PUBLIC_URL = ""
    return fb


@pytest.fixture
def acme(db):
    return campaign_create(fields={"name": "Acme Support", "page_name": "Acme Support"})


def start(client, campaign) -> str:
    response = client.get(reverse("facebook:start", args=[campaign.pk]))
    assert response.status_code == 302
    return str(response["Location"])


def callback(client, query: dict[str, str]):
    return client.get(reverse("facebook:callback"), query)


def activate(client, fb: Simulator, campaign, *, page_id: str = ACME_PAGE_ID, **dialog) -> Any:
    query = fb.dialog_code(start(client, campaign), **dialog)
    picker = callback(client, query)
    assert picker.status_code == 200, picker.content.decode()
    return client.post(reverse("facebook:choose_page", args=[campaign.pk]), {"page_id": page_id})


@pytest.mark.django_db
def test_start_redirects_to_the_dialog_with_scopes_and_a_session_bound_state(client_for, ada, acme, fb):
    location = start(client_for(ada), acme)
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}" == fb.url
    assert parts.path == "/v25.0/dialog/oauth"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["client_id"] == fb.http.get("/_control/config").json()["app_id"]
    assert query["redirect_uri"] == "http://testserver/campaigns/facebook/callback"
    assert query["scope"] == ",".join(SCOPES)
    assert query["response_type"] == "code"
    assert len(query["state"]) >= 32


@pytest.mark.django_db
def test_only_admins_can_start(client_for, sam, acme, fb):
    assert client_for(sam).get(reverse("facebook:start", args=[acme.pk])).status_code == 403


@pytest.mark.django_db
def test_full_activation(client_for, ada, acme, fb, django_capture_on_commit_callbacks, published):
    client = client_for(ada)
    query = fb.dialog_code(start(client, acme))
    picker = callback(client, query)
    html = picker.content.decode()
    assert picker.status_code == 200
    # Both of the admin's pages are offered; the one named like the campaign's page is pre-selected.
    assert f'value="{ACME_PAGE_ID}" checked' in html
    assert f'value="{GLOBEX_PAGE_ID}"' in html
    assert "access_token" not in html and "EAA" not in html  # no token ever reaches a template
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(reverse("facebook:choose_page", args=[acme.pk]), {"page_id": ACME_PAGE_ID})
    assert done.status_code == 200
    # The pop-up tells its opener (messenger/facebook.js, a static script under the CSP) which campaign.
    assert f'id="pagedesk-activated-campaign" type="application/json">{acme.pk}<' in done.content.decode()
    assert "messenger/facebook" in done.content.decode()
    connection = PageConnection.objects.get(campaign=acme)
    assert (connection.page_id, connection.page_name, connection.token_status) == (
        ACME_PAGE_ID,
        "Acme Support",
        "active",
    )
    assert connection.activated_at is not None
    assert sorted(connection.granted_permissions) == sorted(SCOPES)
    token = page_token_get(page_connection=connection)
    assert token and token not in connection.token_encrypted
    assert {
        "messages",
        "messaging_postbacks",
        "message_deliveries",
        "message_reads",
        "message_echoes",
    } <= set(fb.subscriptions(ACME_PAGE_ID))
    assert any(isinstance(e, CampaignTokenStatusChanged) and e.campaign_id == acme.pk for e, _ in published)
    # The new token works: a health check keeps it active.
    assert page_token_check(page_connection=connection) == "active"


@pytest.mark.django_db
def test_state_is_single_use_and_bound_to_the_session(client_for, ada, acme, fb):
    client = client_for(ada)
    query = fb.dialog_code(start(client, acme))
    # Another admin session cannot use it.
    from tests.conftest import make_user

    other = client_for(make_user("grace", "admin"))
    assert callback(other, query).status_code == 403
    assert callback(client, query).status_code == 200
    replay = callback(client, query)
    assert replay.status_code == 403
    assert "not valid" in replay.content.decode()
    assert callback(client, {"code": "x", "state": "forged"}).status_code == 403


@pytest.mark.django_db
def test_cancelled_dialog(client_for, ada, acme, fb):
    client = client_for(ada)
    query = fb.dialog_code(start(client, acme), cancel=True)
    assert query["error"] == "access_denied"
    response = callback(client, query)
    assert "Activation cancelled" in response.content.decode()
    assert PageConnection.objects.get(campaign=acme).token_status == "unknown"


@pytest.mark.django_db
def test_declined_permission_is_refused_with_the_list_and_a_retry(client_for, ada, acme, fb):
    client = client_for(ada)
    query = fb.dialog_code(start(client, acme), untick=("pages_messaging", "pages_manage_metadata"))
    response = callback(client, query)
    html = response.content.decode()
    assert response.status_code == 403
    assert "<code>pages_messaging</code>" in html and "<code>pages_manage_metadata</code>" in html
    assert "<code>pages_show_list</code>" not in html
    assert reverse("facebook:start", args=[acme.pk]) in html  # Try again
    assert PageConnection.objects.get(campaign=acme).token_status == "unknown"


@pytest.mark.django_db
def test_not_a_page_admin_is_refused(client_for, ada, acme, fb):
    client = client_for(ada)
    response = activate(client, fb, acme, user_id=EDITOR_USER_ID)
    assert response.status_code == 403
    assert "not an admin of the page" in response.content.decode()
    assert PageConnection.objects.get(campaign=acme).token_status == "unknown"
    assert fb.subscriptions(ACME_PAGE_ID) == [
        "messages",
        "messaging_postbacks",
        "message_deliveries",
        "message_reads",
        "message_echoes",
    ]


@pytest.mark.django_db
def test_a_page_answers_only_one_campaign(client_for, ada, acme, fb):
    client = client_for(ada)
    assert activate(client, fb, acme).status_code == 200
    other = campaign_create(fields={"name": "Acme Sales", "page_name": "Acme Support"})
    response = activate(client, fb, other)
    assert response.status_code == 409
    assert "already connected to the campaign “Acme Support”" in response.content.decode()


@pytest.mark.django_db
def test_revoked_token_then_reactivation_keeps_the_connection(
    client_for, ada, acme, fb, published, django_capture_on_commit_callbacks
):
    client = client_for(ada)
    assert activate(client, fb, acme).status_code == 200
    connection = PageConnection.objects.get(campaign=acme)
    fb.revoke_page(ACME_PAGE_ID)
    with django_capture_on_commit_callbacks(execute=True):
        assert page_token_check(page_connection=connection) == "invalid"
    connection.refresh_from_db()
    assert connection.token_status == "invalid" and connection.token_invalid_reason
    assert [e.token_status for e, _ in published if isinstance(e, CampaignTokenStatusChanged)][
        -1
    ] == "invalid"

    assert activate(client, fb, acme).status_code == 200
    again = PageConnection.objects.get(campaign=acme)
    assert again.pk == connection.pk
    assert again.token_status == "active" and again.token_invalid_reason == ""
    assert page_token_check(page_connection=again) == "active"


@pytest.mark.django_db
def test_switching_pages_needs_confirmation(client_for, ada, acme, fb):
    client = client_for(ada)
    assert activate(client, fb, acme).status_code == 200
    warned = activate(client, fb, acme, page_id=GLOBEX_PAGE_ID)
    assert warned.status_code == 409
    assert "starts a new stream" in warned.content.decode()
    assert PageConnection.objects.get(campaign=acme).page_id == ACME_PAGE_ID
    confirmed = client.post(
        reverse("facebook:choose_page", args=[acme.pk]), {"page_id": GLOBEX_PAGE_ID, "confirm_switch": "1"}
    )
    assert confirmed.status_code == 200
    assert PageConnection.objects.get(campaign=acme).page_id == GLOBEX_PAGE_ID


@pytest.mark.django_db
def test_check_button_runs_the_check(client_for, ada, acme, fb):
    client = client_for(ada)
    assert activate(client, fb, acme).status_code == 200
    fb.revoke_page(ACME_PAGE_ID)
    response = client.post(reverse("facebook:check", args=[acme.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:row", args=[acme.pk])
    assert PageConnection.objects.get(campaign=acme).token_status == "invalid"
