"""Issue 12 #12d: every page names an icon that exists, and browsers' /favicon.ico finds it (it 404ed on
every page, one error-page render per visit)."""

from __future__ import annotations

import re

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

pytestmark = pytest.mark.django_db


def fetch(client: Client, url: str) -> tuple[int, str, bytes]:
    response = client.get(url, follow=True)
    if not response.streaming:
        return response.status_code, response["Content-Type"], response.content

    async def read() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])  # type: ignore[attr-defined]

    return response.status_code, response["Content-Type"], async_to_sync(read)()


def test_favicon_ico_answers_with_an_icon():
    status, content_type, body = fetch(Client(), "/favicon.ico")
    assert status == 200
    assert content_type in {"image/x-icon", "image/vnd.microsoft.icon"}
    assert body[:4] == b"\x00\x00\x01\x00"  # the ICO header


@pytest.mark.parametrize(("path", "logged_in"), [("/accounts/login/", False), ("/campaigns/", True)])
def test_pages_link_an_icon_that_is_served(client_for, ada, path, logged_in):
    client = client_for(ada) if logged_in else Client()
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    links = re.findall(r'<link rel="icon"[^>]*href="([^"]+)"', html)
    assert links, "no <link rel=icon> on " + path
    for href in links:
        status, content_type, body = fetch(Client(), href)
        assert status == 200 and content_type.startswith("image/") and body, href
