"""What the webhook tests share, whichever door they knock on (the Django view or the lean ASGI app).

The app secret and verify token they configure, the page the events are for, and a body signed the
way Facebook signs it. A test module takes the fixtures by name (`page = webhook_door.page`), so
pytest finds them there; `facebook_settings` is autouse within each module that takes it.
"""

from __future__ import annotations

import pytest

from pagedesk.messenger import fixtures
from pagedesk.messenger.models import PageConnection

SECRET = "app-secret-for-tests"
VERIFY = "verify-me-please"
URL = "/webhooks/messenger"


@pytest.fixture(autouse=True)
def facebook_settings(settings):
    settings.FACEBOOK_APP_SECRET = SECRET
    settings.FACEBOOK_VERIFY_TOKEN = VERIFY


@pytest.fixture
def page(campaign) -> PageConnection:
    connection, _ = PageConnection.objects.update_or_create(
        campaign=campaign, defaults={"page_id": fixtures.PAGE_ID, "page_name": "Acme"}
    )
    return connection


def signed(body: dict | bytes, signature: str | None = "good") -> tuple[bytes, str | None]:
    """The raw body and its X-Hub-Signature-256: "good" signs it with SECRET, None sends none,
    anything else is sent as it is."""
    raw = body if isinstance(body, bytes) else fixtures.encode(body)
    return raw, fixtures.sign(raw, SECRET) if signature == "good" else signature
