"""Bot-first settings on the campaign page and the campaigns API: choose among the integrations given
the campaign, refuse others with a message that says what to do, and say when the bot set is revoked."""

from __future__ import annotations

import pytest
from django.urls import reverse

from pagedesk.accounts.models import User
from pagedesk.campaigns.models import Campaign
from pagedesk.core import clock
from tests.factories_bot import make_integration
from tests.integration.api.conftest import ApiClient, bearer, error_of
from tests.integration.campaigns.test_campaign_views import campaign_post

pytestmark = pytest.mark.django_db


def edit(client_for, ada: User, campaign: Campaign, **overrides: object):
    return client_for(ada).post(
        reverse("campaigns:edit", args=[campaign.pk]), campaign_post(name=campaign.name, **overrides)
    )


def test_the_page_offers_the_integrations_given_the_campaign(client_for, ada, campaign):
    helpbot = make_integration("Helpbot", campaigns=[campaign])
    make_integration("Elsewhere")
    page = client_for(ada).get(reverse("campaigns:edit", args=[campaign.pk])).content.decode()
    assert f'<option value="{helpbot.pk}">Helpbot</option>' in page
    assert "Elsewhere" not in page
    assert "No bot: customers go straight to the queue" in page


def test_choosing_a_bot_with_timeout_and_keywords(client_for, ada, campaign):
    helpbot = make_integration("Helpbot", campaigns=[campaign])
    response = edit(
        client_for,
        ada,
        campaign,
        bot_integration=str(helpbot.pk),
        bot_timeout_seconds="120",
        handoff_keywords=" agent ,Human,, ",
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign.refresh_from_db()
    assert (campaign.bot_integration_id, campaign.bot_timeout_seconds, campaign.handoff_keywords) == (
        helpbot.pk,
        120,
        "agent, Human",
    )
    page = client_for(ada).get(reverse("campaigns:edit", args=[campaign.pk])).content.decode()
    assert "New conversations start with “Helpbot”" in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"bot_timeout_seconds": "5"}, "greater than or equal to 10"),
        ({"bot_timeout_seconds": "100000"}, "less than or equal to 86400"),
        ({"handoff_keywords": "agent, !!!"}, "has no letters or digits"),
    ],
)
def test_bad_bot_settings_are_refused_beside_the_field(client_for, ada, campaign, overrides, message):
    response = edit(client_for, ada, campaign, **overrides)
    assert response.status_code == 422
    assert message in response.content.decode()


def test_an_integration_not_given_the_campaign_is_refused_by_the_api(campaign, ada):
    elsewhere = make_integration("Elsewhere")
    api = ApiClient(__import__("django.test").test.Client(), bearer(ada))
    response = api.patch(f"/campaigns/{campaign.pk}", {"bot_integration_id": elsewhere.pk})
    assert response.status_code == 400
    assert error_of(response)["code"] == "bot_not_in_scope"
    assert "add the campaign to the integration's campaigns first" in error_of(response)["message"]
    assert api.patch(f"/campaigns/{campaign.pk}", {"bot_integration_id": 999999}).status_code == 404


def test_the_api_sets_and_clears_the_bot_and_shows_its_state(campaign, ada):
    helpbot = make_integration("Helpbot", campaigns=[campaign])
    api = ApiClient(__import__("django.test").test.Client(), bearer(ada))
    body = api.patch(
        f"/campaigns/{campaign.pk}",
        {"bot_integration_id": helpbot.pk, "bot_timeout_seconds": 60, "handoff_keywords": "agent"},
    ).json()
    assert (
        body["bot_integration_id"],
        body["bot_state"],
        body["bot_timeout_seconds"],
        body["handoff_keywords"],
    ) == (
        helpbot.pk,
        "active",
        60,
        "agent",
    )
    helpbot.revoked_at = clock.now()
    helpbot.save()
    assert api.get(f"/campaigns/{campaign.pk}").json()["bot_state"] == "revoked"
    # Another setting still saves while the revoked bot stays set (the page tells the admin).
    assert api.patch(f"/campaigns/{campaign.pk}", {"acd_threshold": 4}).status_code == 200
    assert api.patch(f"/campaigns/{campaign.pk}", {"bot_timeout_seconds": 5}).status_code == 422
    body = api.patch(f"/campaigns/{campaign.pk}", {"bot_integration_id": None}).json()
    assert (body["bot_integration_id"], body["bot_state"]) == (None, "none")


def test_the_page_says_when_the_bot_was_revoked(client_for, ada, campaign):
    helpbot = make_integration("Helpbot", campaigns=[campaign])
    Campaign.objects.filter(pk=campaign.pk).update(bot_integration=helpbot)
    helpbot.revoked_at = clock.now()
    helpbot.save()
    page = client_for(ada).get(reverse("campaigns:edit", args=[campaign.pk])).content.decode()
    assert "was revoked: new conversations go straight to the queue" in page
    # Saving the page keeps the bot set (it is still offered) rather than dropping it silently.
    assert edit(client_for, ada, campaign, bot_integration=str(helpbot.pk)).status_code == 302
    helpbot.campaigns.clear()
    page = client_for(ada).get(reverse("campaigns:edit", args=[campaign.pk])).content.decode()
    assert "was revoked" in page
