"""Who may read /metrics (issue 13, finding 8: it was open to anyone).

Without PAGEDESK_METRICS_TOKEN only a scraper on this machine may read it (the socket peer is a
loopback address and no proxy forwarded the request); with the token every request must carry it.
"""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

TOKEN = "s3cret-metrics-token"


def scrape(**extra: str):
    return Client().get("/metrics", **extra)


@pytest.mark.parametrize("peer", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_without_a_token_a_loopback_scraper_reads_the_metrics(settings, peer):
    settings.METRICS_TOKEN = ""
    response = scrape(REMOTE_ADDR=peer)
    assert response.status_code == 200
    assert b"pagedesk_http_requests_total" in response.content


@pytest.mark.parametrize(
    "extra",
    [
        {"REMOTE_ADDR": "203.0.113.7"},
        {"REMOTE_ADDR": "10.0.0.5"},
        {"REMOTE_ADDR": ""},
        # A forged header from afar does not make the caller local.
        {"REMOTE_ADDR": "203.0.113.7", "HTTP_X_FORWARDED_FOR": "127.0.0.1"},
        # A reverse proxy on this machine forwarded it: the caller is whoever reached the proxy.
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.7"},
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_FORWARDED": "for=203.0.113.7"},
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_REAL_IP": "203.0.113.7"},
    ],
)
def test_without_a_token_anyone_else_is_refused_and_told_to_set_one(settings, extra):
    settings.METRICS_TOKEN = ""
    response = scrape(**extra)
    assert response.status_code == 403
    assert "PAGEDESK_METRICS_TOKEN" in response.json()["error"]["message"]
    assert b"pagedesk_http_requests_total" not in response.content


def test_with_a_token_every_scraper_needs_it_even_on_loopback(settings):
    settings.METRICS_TOKEN = TOKEN
    for extra in (
        {"REMOTE_ADDR": "127.0.0.1"},
        {"REMOTE_ADDR": "203.0.113.7"},
        {"REMOTE_ADDR": "203.0.113.7", "HTTP_AUTHORIZATION": "Bearer wrong-token"},
        {"REMOTE_ADDR": "203.0.113.7", "HTTP_AUTHORIZATION": f"Basic {TOKEN}"},
        {"REMOTE_ADDR": "203.0.113.7", "HTTP_AUTHORIZATION": f"Bearer {TOKEN}x"},
        {"REMOTE_ADDR": "203.0.113.7", "HTTP_AUTHORIZATION": "Bearer "},
    ):
        response = scrape(**extra)
        assert response.status_code == 401, extra
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert "Authorization: Bearer" in response.json()["error"]["message"]
        assert b"pagedesk_http_requests_total" not in response.content


def test_with_a_token_the_right_bearer_reads_the_metrics_from_anywhere(settings):
    settings.METRICS_TOKEN = TOKEN
    for header in (f"Bearer {TOKEN}", f"bearer {TOKEN}"):
        response = scrape(REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION=header)
        assert response.status_code == 200
        assert b"pagedesk_http_requests_total" in response.content
