"""Every operation the OpenAPI document publishes is reachable at its path with its method.

ninja gives each router's paths their own URL patterns: when two routers declare the same path (GET
…/messages in the reads, POST in the writes), Django routes every method to the first, and the other
answers 405 although the document lists it. An anonymous request shows it without side effects: a
routed operation refuses it with 401, a misrouted one with 405.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.mark.django_db
def test_every_published_operation_is_routed_to_its_method():
    client = Client()
    document = client.get("/api/v1/openapi.json").json()
    misrouted = []
    for path, item in document["paths"].items():
        url = re.sub(r"\{[^}]+\}", "1", path)
        for method in item.keys() & HTTP_METHODS:
            response = getattr(client, method)(url)
            if response.status_code == 405:
                misrouted.append(f"{method.upper()} {path}")
    assert not misrouted, misrouted
