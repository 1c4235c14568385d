"""The admin's Facebook settings page: URLs to paste into the Meta app, and a warning when Facebook can't reach us."""

from __future__ import annotations

import pytest
from django.urls import reverse

from pagedesk.messenger.settings_views import public_url_problem


@pytest.mark.parametrize(
    "url",
    [
        "",
        "http://localhost:8000",
        "https://127.0.0.1",
        "https://10.0.0.5",
        "https://172.16.4.1",
        "https://172.31.0.1",
        "https://192.168.1.10",
        "https://desk.local",
    ],
)
def test_unreachable_public_urls_are_flagged(url):
    assert public_url_problem(url)


@pytest.mark.parametrize("url", ["https://desk.example.com", "https://8.8.8.8", "https://172.32.0.1"])
def test_public_urls_pass(url):
    assert public_url_problem(url) == ""


def test_plain_http_is_flagged():
    assert "https" in public_url_problem("http://desk.example.com")


@pytest.mark.django_db
def test_page_shows_what_to_paste(client_for, ada, settings):
    settings.PUBLIC_URL = "https://desk.example.com"
    settings.FACEBOOK_VERIFY_TOKEN = "verify-me-please"
    html = client_for(ada).get(reverse("facebook:settings")).content.decode()
    assert "https://desk.example.com/webhooks/messenger" in html
    assert "https://desk.example.com/campaigns/facebook/callback" in html
    assert "verify-me-please" in html
    assert 'data-testid="public-url-warning"' not in html


@pytest.mark.django_db
def test_page_warns_about_a_private_address(client_for, ada, settings):
    settings.PUBLIC_URL = "http://192.168.1.20:8000"
    html = client_for(ada).get(reverse("facebook:settings")).content.decode()
    assert 'data-testid="public-url-warning"' in html
    assert "192.168.1.20" in html


@pytest.mark.django_db
def test_only_admins(client_for, sam):
    assert client_for(sam).get(reverse("facebook:settings")).status_code == 403
