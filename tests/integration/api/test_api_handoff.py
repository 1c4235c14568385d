"""POST /api/v1/conversations/{id}/handoff: the bot (or a supervisor, an admin) hands a conversation to
the queue; everyone else is refused, and a conversation no longer with the bot is a 409."""

from __future__ import annotations

import pytest

from pagedesk.campaigns.services import campaign_create
from pagedesk.conversations.models import ConversationEvent
from pagedesk.core import clock
from tests.conftest import make_user
from tests.factories_bot import customer_writes, make_bot, make_integration
from tests.integration.api.conftest import ApiClient, bearer, error_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_bot_hands_off_with_its_token_and_gets_the_conversation(api_as, campaign, frozen_clock):
    bot = make_bot(campaign)
    conversation = customer_writes(campaign, "hello")
    assert conversation.state == "bot"
    frozen_clock.advance(seconds=30)
    response = api_as(bot.user).post(f"/conversations/{conversation.pk}/handoff")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["state"], body["campaign"]["id"]) == (conversation.pk, "queued", campaign.pk)
    assert body["queued_at"] == clock.now().isoformat().replace("+00:00", "Z")
    [event] = ConversationEvent.objects.filter(conversation=conversation, kind="handed_off")
    assert (event.actor_id, event.data) == (bot.user.pk, {"reason": "api"})

    again = api_as(bot.user).post(f"/conversations/{conversation.pk}/handoff")
    assert again.status_code == 409
    assert error_of(again)["code"] == "not_with_bot"
    assert "no longer with the bot" in error_of(again)["message"]


def test_supervisors_of_the_campaign_and_admins_may_hand_off(api_as, campaign, sam, ada, frozen_clock):
    make_bot(campaign)
    for n, user in enumerate((sam, ada)):
        conversation = customer_writes(campaign, psid=f"p{n}")
        assert api_as(user).post(f"/conversations/{conversation.pk}/handoff").status_code == 200


def test_agents_other_supervisors_and_other_integrations_are_refused(api_as, campaign, alice, frozen_clock):
    make_bot(campaign)
    elsewhere = campaign_create(fields={"name": "Zeta", "page_name": "Zeta"})
    stranger_bot = make_integration("Stranger", campaigns=[elsewhere])
    revoked = make_integration("Revoked", campaigns=[campaign])
    revoked.revoked_at = clock.now()
    revoked.save()
    sue = make_user("sue", "supervisor")
    conversation = customer_writes(campaign)
    for user in (alice, sue):
        response = api_as(user).post(f"/conversations/{conversation.pk}/handoff")
        assert response.status_code == 403, (user, response.content)
        assert error_of(response)["code"] == "forbidden"
    # An integration is told of another campaign's conversation what it is told of a missing id (it
    # was a 403 here, a 404 on every other endpoint: found by a first-time integrator).
    missing = api_as(stranger_bot.user).post("/conversations/999999/handoff")
    for user in (stranger_bot.user, revoked.user):
        response = api_as(user).post(f"/conversations/{conversation.pk}/handoff")
        assert response.status_code == 404, (user, response.content)
        assert error_of(response)["code"] == error_of(missing)["code"] == "not_found"
    conversation.refresh_from_db()
    assert conversation.state == "bot"
    anonymous = api_as(None).post(f"/conversations/{conversation.pk}/handoff")
    assert anonymous.status_code == 401


def test_an_unknown_conversation_is_a_404(admin_api):
    response = admin_api.post("/conversations/999999/handoff")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_a_deactivated_integration_token_no_longer_works(campaign, frozen_clock):
    from django.test import Client

    bot = make_bot(campaign)
    headers = bearer(bot.user)
    bot.user.is_active = False
    bot.user.save()
    conversation = customer_writes(campaign)
    response = ApiClient(Client(), headers).post(f"/conversations/{conversation.pk}/handoff")
    assert response.status_code == 401


def test_the_operation_is_documented_with_examples(admin_api):
    schema = admin_api.get("/openapi.json").json()
    operation = schema["paths"]["/api/v1/conversations/{conversation_id}/handoff"]["post"]
    assert set(operation["responses"]) >= {"200", "401", "403", "404", "409"}
    assert operation["responses"]["200"]["content"]["application/json"]["example"]["state"] == "queued"
    assert (
        operation["responses"]["409"]["content"]["application/json"]["example"]["error"]["code"]
        == "not_with_bot"
    )
