"""Who may open and act on what: assigned to me, or pending in my campaigns, in every view of the inbox
and in the websocket audience. What an agent may not see answers the same 404 as what does not exist
(issue 13: an id must tell nothing of another agent's or campaign's conversation); one the agent can
see but not act on (pending, or moved on) is a 403 that says so."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from pagedesk.campaigns import schedule
from pagedesk.campaigns.services import MemberSpec, campaign_create, membership_set
from pagedesk.conversations.models import Attachment, ConversationState, Message
from pagedesk.realtime import groups
from pagedesk.routing.sockets import groups_for_user

from .conftest import make_contact, make_conversation

pytestmark = pytest.mark.django_db

VIEWS_GET = ["", "pane/", "messages/", "transfer/"]
VIEWS_POST = ["send/", "seen/", "typing/", "take/", "close/", "return/", "transfer/"]


@pytest.fixture
def other_campaign(db, bob):
    created = campaign_create(
        fields={"name": "Globex Help", "page_name": "Globex", "timezone": "UTC"},
        ranges=[schedule.Range(schedule.ALL_WEEKDAYS, 0, schedule.MINUTES_PER_DAY)],
    )
    membership_set(campaign=created, members=[MemberSpec(agent_id=bob.pk)])
    return created


def test_bobs_conversation_is_not_found_everywhere_for_alice(client_for, alice, bob, campaign):
    bobs = make_conversation(campaign, agent=bob)
    message = Message.objects.filter(conversation=bobs)[0]
    client = client_for(alice)
    nothing = client.post("/inbox/999999/send/", {"text": "hi"}).json()
    for suffix in VIEWS_GET:
        response = client.get(f"/inbox/{bobs.pk}/{suffix}")
        assert response.status_code == 404, suffix
    for suffix in VIEWS_POST:
        if suffix == "seen/":
            # A hint the page sends by itself: for a conversation that is not hers, a no-op.
            assert client.post(f"/inbox/{bobs.pk}/{suffix}").status_code == 204
            continue
        # Take: a member of the campaign learns only that it is taken (she may have seen it pending).
        assert client.post(f"/inbox/{bobs.pk}/{suffix}", {"text": "hi"}).status_code in (404, 409), suffix
    assert client.get(f"/inbox/{bobs.pk}/messages/{message.pk}/").status_code == 404
    assert client.post(f"/inbox/{bobs.pk}/messages/{message.pk}/retry/").status_code == 404
    # A JSON error an agent can read, the same as for an id that does not exist.
    assert client.post(f"/inbox/{bobs.pk}/send/", {"text": "hi"}).json() == nothing
    assert Message.objects.filter(conversation=bobs).count() == 2  # nothing was sent


def test_pending_in_my_campaign_is_readable_but_not_writable(client_for, alice, campaign):
    pending = make_conversation(campaign, state=ConversationState.QUEUED, messages=1)
    client = client_for(alice)
    assert client.get(f"/inbox/{pending.pk}/pane/").status_code == 200
    assert client.post(f"/inbox/{pending.pk}/send/", {"text": "hi"}).status_code == 403
    assert client.post(f"/inbox/{pending.pk}/close/").status_code == 403


def test_another_campaigns_conversation_is_not_found(client_for, alice, bob, other_campaign):
    theirs = make_conversation(other_campaign, state=ConversationState.QUEUED, messages=1)
    taken = make_conversation(other_campaign, agent=bob, contact=make_contact(first_name="Taken"))
    client = client_for(alice)
    nothing = client.post("/inbox/999999/take/").json()
    assert client.get(f"/inbox/{theirs.pk}/pane/").status_code == 404
    for conversation in (theirs, taken):
        # Take answered "already taken" or named the campaign: now the same as for no conversation.
        response = client.post(f"/inbox/{conversation.pk}/take/")
        assert (response.status_code, response.json()) == (404, nothing)
    assert "Globex" not in str(nothing)
    assert client.get("/inbox/999999/pane/").status_code == 404


def test_a_transfer_to_someone_outside_the_campaign_names_nobody(
    client_for, alice, ada, bob, campaign, other_campaign
):
    from pagedesk.accounts.models import Presence
    from pagedesk.routing.services import presence_set

    mine = make_conversation(campaign, agent=alice)
    presence_set(agent=alice, presence=Presence.AVAILABLE)
    client = client_for(alice)
    outsider = make_user_in(other_campaign)
    answers = [
        client.post(f"/inbox/{mine.pk}/transfer/", {"target": f"agent:{user_id}"}).json()
        for user_id in (ada.pk, outsider.pk, 999999)
    ]
    # It answered "Ada Lovelace is not a member of …": now one answer, naming nobody.
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["error"]["code"] == "not_found"
    for name in ("Ada", "Outsider"):
        assert name not in str(answers[0])


def make_user_in(campaign):  # type: ignore[no-untyped-def]
    from tests.conftest import make_user

    user = make_user("outsider", "agent")
    membership_set(campaign=campaign, members=[MemberSpec(agent_id=user.pk)])
    return user


def test_attachments_follow_the_same_rule_and_are_never_static(
    client_for, alice, bob, campaign, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    mine = make_conversation(campaign, agent=alice)
    bobs = make_conversation(campaign, agent=bob, contact=make_contact(first_name="Other"))

    def attach(conversation, name: str, content_type: str, kind: str) -> Attachment:
        message = Message.objects.filter(conversation=conversation)[0]
        attachment = Attachment(message=message, type=kind, filename=name, content_type=content_type)
        attachment.file.save("upload.bin", ContentFile(b"data"), save=True)
        return attachment

    pdf = attach(mine, '<script>x</script>"evil".pdf', "application/pdf", "file")
    picture = attach(mine, "photo.png", "image/png", "image")
    svg = attach(mine, "vector.svg", "image/svg+xml", "image")
    foreign = attach(bobs, "secret.pdf", "application/pdf", "file")
    client = client_for(alice)

    response = client.get(f"/inbox/attachments/{pdf.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "<" not in response["Content-Disposition"] and '"evil"' not in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]

    response = client.get(f"/inbox/attachments/{picture.pk}/")
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline;")
    # SVG can carry script: a download, never inline.
    assert client.get(f"/inbox/attachments/{svg.pk}/")["Content-Disposition"].startswith("attachment;")

    assert client.get(f"/inbox/attachments/{foreign.pk}/").status_code == 404
    assert client.get("/inbox/attachments/999999/").status_code == 404
    assert not str(settings.MEDIA_ROOT).startswith(str(settings.STATIC_ROOT))


def test_only_agents_use_the_inbox(client_for, ada, sam, campaign):
    assert client_for(sam).get("/inbox/").status_code == 403
    assert client_for(ada).get("/inbox/lists/").status_code == 403


def test_the_websocket_audience_is_my_agent_group_and_my_campaign_queues(alice, campaign, other_campaign):
    assert sorted(groups_for_user(user=alice)) == sorted(
        [groups.agent(alice.pk), groups.campaign_queue(campaign.pk)]
    )
    assert groups.campaign_queue(other_campaign.pk) not in groups_for_user(user=alice)
