"""An integration's token sees everything in its campaigns and nothing else: another campaign's
conversation, message, attachment, contact or page is a 404 (not a 403: another system must not learn
which ids exist), on every read endpoint, including through filters and cursors."""

from __future__ import annotations

import pytest

from pagedesk.campaigns.models import Integration
from pagedesk.conversations.models import SenderType
from pagedesk.recordings.selectors import campaigns_visible_to
from pagedesk.routing.selectors import conversation_scope_for_user
from tests.integration.api.conftest import error_of
from tests.integration.api.read_world import ACME_PAGE, AT, World, build_world, make_integration, message

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(campaign, alice, bob, sam, settings, tmp_path) -> World:
    settings.MEDIA_ROOT = tmp_path
    return build_world(campaign, alice=alice, bob=bob)


@pytest.fixture
def crm(api_as, world: World):
    return api_as(world.crm)


def assert_not_found(response) -> None:
    assert response.status_code == 404, response.content
    error = error_of(response)
    assert error["code"] == "not_found"
    # The refusal names nothing of what lies behind the id.
    assert "Beta" not in error["message"] and "Emma" not in error["message"]


def test_it_sees_all_of_its_campaign_whoever_took_part(crm, world: World):
    listed = [c["id"] for c in crm.get("/conversations").json()["items"]]
    assert listed == [world.open_one.pk, world.closed_one.pk]
    assert crm.get(f"/conversations/{world.open_one.pk}").status_code == 200
    assert crm.get(f"/conversations/{world.closed_one.pk}/messages").status_code == 200
    assert crm.get(f"/conversations/{world.open_one.pk}/transcript").status_code == 200
    assert crm.get(f"/attachments/{world.photo.pk}").status_code == 200
    assert crm.get(f"/contacts/{world.diego.pk}").status_code == 200
    assert [p["page_id"] for p in crm.get("/pages").json()] == [ACME_PAGE]
    assert [c["id"] for c in crm.get("/campaigns").json()] == [world.acme.pk]


def test_another_campaigns_ids_are_404s(crm, world: World):
    beta = world.beta_one
    assert_not_found(crm.get(f"/conversations/{beta.pk}"))
    assert_not_found(crm.get(f"/conversations/{beta.pk}/messages"))
    assert_not_found(crm.get(f"/conversations/{beta.pk}/transcript"))
    assert (
        crm.client.get(
            f"/api/v1/conversations/{beta.pk}/transcript", HTTP_ACCEPT="text/csv", **crm.headers
        ).status_code
        == 404
    )
    assert_not_found(crm.get(f"/attachments/{world.beta_photo.pk}"))
    assert_not_found(crm.get(f"/contacts/{world.emma.pk}"))
    assert_not_found(crm.get(f"/campaigns/{world.beta.pk}"))
    # Word for word the answer for an id that does not exist at all.
    assert (
        error_of(crm.get(f"/conversations/{beta.pk}"))["message"]
        == f"There is no conversation with id {beta.pk}."
    )
    assert error_of(crm.get("/conversations/999999"))["message"] == "There is no conversation with id 999999."
    assert error_of(crm.get(f"/attachments/{world.beta_photo.pk}"))["message"] == (
        f"There is no attachment with id {world.beta_photo.pk}."
    )


def test_filters_and_cursors_do_not_reach_another_campaign(crm, world: World, bob):
    # Another campaign as a filter is refused as /recordings refuses it (400, nothing listed).
    assert crm.get("/conversations", campaign=world.beta.pk).status_code == 400
    for query in (
        {"contact": world.emma.pk},
        {"agent": bob.pk, "q": "refund"},
        {"q": "refund"},
    ):
        items = crm.get("/conversations", **query).json()["items"]
        assert world.beta_one.pk not in [c["id"] for c in items], query
    assert {c["id"] for c in crm.get("/contacts").json()["items"]} == {world.carla.pk, world.diego.pk}
    assert crm.get("/contacts", campaign=world.beta.pk).json()["items"] == []
    assert crm.get("/contacts", q=world.emma.psid).json()["items"] == []
    # A message id of Beta's conversation as a cursor on its own conversation: refused, reveals nothing.
    beta_message = world.beta_one.messages.first()
    refused = crm.get(f"/conversations/{world.open_one.pk}/messages", before=beta_message.pk)
    assert refused.status_code == 400 and str(world.beta_one.pk) not in error_of(refused)["message"]
    recordings = crm.get("/recordings").json()["items"]
    assert world.beta_one.pk not in [c["id"] for c in recordings]
    assert crm.get("/recordings", campaign=world.beta.pk).status_code == 400


def test_having_written_in_another_campaign_gives_no_access(crm, world: World):
    # Its message in Beta (say, before Beta was taken from it) is not the agents' "took part" rule.
    message(world.beta_one, "bot reply", at=AT, sender=SenderType.INTEGRATION, author=world.crm)
    assert_not_found(crm.get(f"/conversations/{world.beta_one.pk}"))
    assert world.beta_one.pk not in conversation_scope_for_user(user=world.crm).values_list("pk", flat=True)


def test_an_integration_without_campaigns_sees_nothing(api_as, world: World):
    idle = api_as(make_integration("Reports", []))
    assert idle.get("/conversations").json()["count"] == 0
    assert idle.get("/contacts").json()["count"] == 0
    assert idle.get("/pages").json() == []
    assert idle.get("/recordings").json()["count"] == 0
    assert_not_found(idle.get(f"/conversations/{world.open_one.pk}"))
    assert_not_found(idle.get(f"/attachments/{world.photo.pk}"))


def test_a_campaign_given_later_is_seen_and_one_taken_away_is_not(crm, world: World):
    integration = Integration.objects.get(user=world.crm)
    integration.campaigns.set([world.beta])
    assert [c["id"] for c in crm.get("/conversations").json()["items"]] == [world.beta_one.pk]
    assert_not_found(crm.get(f"/conversations/{world.open_one.pk}"))
    assert list(campaigns_visible_to(user=world.crm)) == [world.beta]


def test_a_revoked_integration_is_refused(crm, world: World):
    world.crm.is_active = False
    world.crm.save()
    assert crm.get("/conversations").status_code == 401
