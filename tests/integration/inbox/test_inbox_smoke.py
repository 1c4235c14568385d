from __future__ import annotations

import pytest

from .conftest import make_conversation

pytestmark = pytest.mark.django_db


def test_page_and_pane_render(client_for, alice, campaign):
    conversation = make_conversation(campaign, agent=alice, messages=6)
    client = client_for(alice)
    response = client.get("/inbox/")
    assert response.status_code == 200, response.content[:2000]
    response = client.get(f"/inbox/{conversation.pk}/")
    assert response.status_code == 200
    assert b"message 5 of" in response.content
