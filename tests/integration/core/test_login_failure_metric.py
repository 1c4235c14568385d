"""pagedesk_login_failures_total counts every failed log-in (issue 13, finding 8: 25 left it at 0)."""

from __future__ import annotations

import pytest
from django.test import Client
from prometheus_client import REGISTRY

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def login_failures() -> float:
    return REGISTRY.get_sample_value("pagedesk_login_failures_total") or 0.0


def test_every_failed_login_moves_the_login_failure_counter(alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    before = login_failures()
    client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    client.post("/accounts/login/", {"username": "nobody", "password": "wrong"})
    assert login_failures() == before + 2
    # Attempts refused during a lock-out are failed log-ins too: they are what an attack looks like.
    for _ in range(3):
        client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    locked_out = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert locked_out.status_code in (403, 429)  # refused, however django-axes words it
    assert login_failures() == before + 6
    # And the figure is what /metrics shows to a local scraper.
    settings.METRICS_TOKEN = ""
    metrics = Client().get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    assert f"pagedesk_login_failures_total {before + 6}" in metrics


def test_a_successful_login_does_not_count_as_a_failure(alice):
    before = login_failures()
    response = Client().post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert login_failures() == before
