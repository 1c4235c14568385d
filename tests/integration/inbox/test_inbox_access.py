"""Who may open and act on what: assigned to me, or pending in my campaigns (403 otherwise, 404 when
nothing exists), in every view of the inbox and in the websocket audience."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from pagedesk.campaigns import schedule
from pagedesk.campaigns.services import MemberSpec, campaign_create, membership_set
from pagedesk.conversations.models import Attachment, ConversationState, Message
from pagedesk.realtime import groups
from pagedesk.realtime.selectors import groups_for_user

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


def test_bobs_conversation_is_403_everywhere_for_alice(client_for, alice, bob, campaign):
    bobs = make_conversation(campaign, agent=bob)
    message = Message.objects.filter(conversation=bobs)[0]
    client = client_for(alice)
    for suffix in VIEWS_GET:
        assert client.get(f"/inbox/{bobs.pk}/{suffix}").status_code == 403, suffix
    for suffix in VIEWS_POST:
        assert client.post(f"/inbox/{bobs.pk}/{suffix}", {"text": "hi"}).status_code in (403, 409), suffix
    assert client.get(f"/inbox/{bobs.pk}/messages/{message.pk}/").status_code == 403
    assert client.post(f"/inbox/{bobs.pk}/messages/{message.pk}/retry/").status_code == 403
    # A JSON error an agent can read, for the script.
    body = client.post(f"/inbox/{bobs.pk}/send/", {"text": "hi"}).json()
    assert body["error"]["code"] == "not_your_conversation"
    assert Message.objects.filter(conversation=bobs).count() == 2  # nothing was sent


def test_pending_in_my_campaign_is_readable_but_not_writable(client_for, alice, campaign):
    pending = make_conversation(campaign, state=ConversationState.QUEUED, messages=1)
    client = client_for(alice)
    assert client.get(f"/inbox/{pending.pk}/pane/").status_code == 200
    assert client.post(f"/inbox/{pending.pk}/send/", {"text": "hi"}).status_code == 403
    assert client.post(f"/inbox/{pending.pk}/close/").status_code == 403


def test_pending_in_a_campaign_i_am_not_in_is_403(client_for, alice, other_campaign):
    theirs = make_conversation(other_campaign, state=ConversationState.QUEUED, messages=1)
    client = client_for(alice)
    assert client.get(f"/inbox/{theirs.pk}/pane/").status_code == 403
    assert client.post(f"/inbox/{theirs.pk}/take/").status_code == 403
    assert client.get("/inbox/999999/pane/").status_code == 404


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

    assert client.get(f"/inbox/attachments/{foreign.pk}/").status_code == 403
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
