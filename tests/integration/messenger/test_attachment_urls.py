"""Attachment downloads fetch only https URLs (issue 13, finding 9).

A signed webhook decides the URL pagedesk downloads, and the download followed any scheme and any
redirect. Now: https anywhere; http only to the configured Graph host (the bundled simulator, whose
CDN serves plain http); nothing else, at the first hop or after a redirect. A refused URL marks the
attachment failed with a reason the agent sees, is not retried, and sends no request.
"""

from __future__ import annotations

import httpx
import pytest
from django_tasks_db.models import DBTaskResult

from pagedesk.conversations.models import Attachment, Contact, Conversation, Message
from pagedesk.core import clock
from pagedesk.messenger import attachments, client

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 100
PAGE = "1000000000000001"
CDN = "https://scontent.xx.fbcdn.net/v/p/photo_n.png?oe=1"

pytestmark = pytest.mark.django_db


@pytest.fixture
def requests_sent(monkeypatch, settings, tmp_path) -> list[httpx.Request]:
    """Every request the download makes. The CDN answers a PNG; /hop?to=URL redirects to URL."""
    settings.MEDIA_ROOT = tmp_path / "media"
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.url.path == "/hop":
            return httpx.Response(302, headers={"location": request.url.params["to"]})
        return httpx.Response(200, content=PNG, headers={"content-type": "image/png"})

    monkeypatch.setattr(
        client._local, "client", httpx.Client(transport=httpx.MockTransport(answer)), raising=False
    )
    return sent


def attachment_for(campaign, url: str) -> Attachment:
    contact, _ = Contact.objects.get_or_create(page_id=PAGE, psid="7000000000000001")
    conversation, _ = Conversation.objects.get_or_create(
        campaign=campaign, contact=contact, defaults={"state": "queued", "queued_at": clock.now()}
    )
    message = Message.objects.create(
        conversation=conversation,
        direction="in",
        sender_type="customer",
        page_id=PAGE,
        mid=f"m_att{Message.objects.count()}",
    )
    return Attachment.objects.create(message=message, type="image", original_url=url)


def fetch(attachment: Attachment) -> Attachment:
    attachments.attachment_fetch(attachment_id=attachment.pk)
    attachment.refresh_from_db()
    return attachment


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://files.example.com/photo.png",
        "gopher://127.0.0.1:6379/_FLUSHALL",
        "data:image/png;base64,iVBORw0KGgo=",
        "http://scontent.xx.fbcdn.net/v/p/photo_n.png",  # http, to a host that is not the simulator
        "http://169.254.169.254/latest/meta-data/",
        "//scontent.xx.fbcdn.net/photo.png",
        "photo.png",
    ],
)
def test_a_url_that_is_not_https_is_refused_without_a_request(campaign, requests_sent, url):
    attachment = fetch(attachment_for(campaign, url))
    assert requests_sent == []
    assert not attachment.file
    assert "not downloaded" in attachment.download_error
    assert not DBTaskResult.objects.filter(task_path__endswith="attachment_download").exists()


@pytest.mark.parametrize(
    "target",
    [
        "file:///etc/passwd",
        "ftp://files.example.com/photo.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:8100/cdn/abc/photo.png",  # the simulator's address, while Graph is Facebook
    ],
)
def test_a_redirect_to_a_url_that_is_not_https_is_refused(campaign, requests_sent, target):
    attachment = fetch(attachment_for(campaign, f"https://cdn.example.com/hop?to={target}"))
    assert [request.url.host for request in requests_sent] == ["cdn.example.com"]
    assert not attachment.file
    assert "not downloaded" in attachment.download_error
    assert not DBTaskResult.objects.filter(task_path__endswith="attachment_download").exists()


def test_https_and_https_redirects_are_downloaded(campaign, requests_sent):
    attachment = fetch(attachment_for(campaign, f"https://cdn.example.com/hop?to={CDN}"))
    assert [request.url.host for request in requests_sent] == ["cdn.example.com", "scontent.xx.fbcdn.net"]
    assert attachment.file
    assert attachment.download_error == ""


def test_redirects_are_followed_a_few_times_only(campaign, requests_sent):
    url = CDN
    for _ in range(8):
        url = f"https://cdn.example.com/hop?to={httpx.URL(url)}"
    attachment = fetch(attachment_for(campaign, url))
    assert len(requests_sent) <= 6
    assert not attachment.file
    assert "redirect" in attachment.download_error


def test_http_is_allowed_to_the_simulator_when_graph_points_at_it(campaign, requests_sent, settings):
    settings.FACEBOOK_GRAPH_URL = "http://127.0.0.1:8100"
    attachment = fetch(attachment_for(campaign, "http://127.0.0.1:8100/cdn/abc/photo.png"))
    assert attachment.file
    # Not the same host and port: still refused.
    other = fetch(attachment_for(campaign, "http://127.0.0.1:9999/cdn/abc/photo.png"))
    assert not other.file
    assert "not downloaded" in other.download_error
    assert len(requests_sent) == 1
