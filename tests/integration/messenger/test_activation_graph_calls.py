"""Issue 12 #12h: one activation asks Graph for the admin's pages (/me/accounts) once. The page choice
fetched the list again to find the chosen page's token, doubling the slowest call of the flow."""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from pagedesk.messenger import client as graph
from pagedesk.messenger.models import PageConnection
from pagedesk.messenger.tokens import page_token_get
from tests.integration.messenger.facebook_simulator import ACME_PAGE_ID, Simulator
from tests.integration.messenger.test_activation_flow import callback, start


@pytest.fixture
def fb(fb: Simulator, settings) -> Simulator:
    settings.PUBLIC_URL = ""
    return fb


@pytest.fixture
def graph_calls(monkeypatch) -> Counter[str]:
    """Every Graph request pagedesk makes (through to the simulator), counted by method and path."""
    calls: Counter[str] = Counter()
    real = graph.request

    def counting(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        where = urlsplit(kwargs["absolute_url"]).path if kwargs.get("absolute_url") else "/" + path
        calls[f"{method} {where.split('/v25.0', 1)[-1]}"] += 1
        return real(method, path, **kwargs)

    monkeypatch.setattr(graph, "request", counting)
    return calls


@pytest.mark.django_db
def test_one_activation_lists_the_pages_once(client_for, ada, fb, graph_calls):
    from pagedesk.campaigns.services import campaign_create

    acme = campaign_create(fields={"name": "Acme Support", "page_name": "Acme Support"})
    client = client_for(ada)
    assert callback(client, fb.dialog_code(start(client, acme))).status_code == 200
    response = client.post(reverse("facebook:choose_page", args=[acme.pk]), {"page_id": ACME_PAGE_ID})
    assert response.status_code == 200, response.content.decode()

    connection = PageConnection.objects.get(campaign=acme)
    assert connection.page_id == ACME_PAGE_ID and page_token_get(page_connection=connection)
    assert graph_calls["GET /me/accounts"] == 1, graph_calls
    assert graph_calls[f"POST /{ACME_PAGE_ID}/subscribed_apps"] == 1, graph_calls


@pytest.mark.django_db
def test_a_refused_choice_and_a_retry_still_list_the_pages_once(client_for, ada, fb, graph_calls):
    from pagedesk.campaigns.services import campaign_create

    acme = campaign_create(fields={"name": "Acme Support", "page_name": "Acme Support"})
    client = client_for(ada)
    callback(client, fb.dialog_code(start(client, acme)))
    url = reverse("facebook:choose_page", args=[acme.pk])
    assert client.post(url, {"page_id": "123"}).status_code == 422
    assert client.post(url, {"page_id": ACME_PAGE_ID}).status_code == 200
    assert graph_calls["GET /me/accounts"] == 1, graph_calls
