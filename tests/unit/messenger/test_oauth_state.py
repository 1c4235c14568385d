"""The OAuth `state`: random, bound to the session and one campaign, single-use, short-lived."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from pagedesk.core.errors import ApplicationError
from pagedesk.messenger import oauth


def test_state_is_single_use_and_names_its_campaign():
    session: dict = {}
    first = oauth.oauth_state_create(session=session, campaign_id=7)
    second = oauth.oauth_state_create(session=session, campaign_id=8)
    assert first != second and len(first) >= 32
    assert oauth.oauth_state_consume(session=session, state=second) == 8
    assert oauth.oauth_state_consume(session=session, state=second) is None
    assert oauth.oauth_state_consume(session=session, state=first) == 7
    assert oauth.oauth_state_consume(session=session, state="") is None


def test_a_state_from_another_session_is_unknown():
    mine: dict = {}
    state = oauth.oauth_state_create(session=mine, campaign_id=1)
    assert oauth.oauth_state_consume(session={}, state=state) is None


def test_expired_state_is_refused(monkeypatch):
    session: dict = {}
    state = oauth.oauth_state_create(session=session, campaign_id=1)
    later = time.time() + oauth.STATE_TTL_SECONDS + 1
    monkeypatch.setattr(oauth.time, "time", lambda: later)
    assert oauth.oauth_state_consume(session=session, state=state) is None


def test_dialog_url(settings):
    settings.FACEBOOK_DIALOG_URL = "https://www.facebook.com"
    settings.FACEBOOK_GRAPH_VERSION = "v25.0"
    settings.FACEBOOK_APP_ID = "123"
    url = oauth.oauth_dialog_url(
        state="abc", redirect_uri="https://desk.example.com/campaigns/facebook/callback"
    )
    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("www.facebook.com", "/v25.0/dialog/oauth")
    assert {k: v[0] for k, v in parse_qs(parts.query).items()} == {
        "client_id": "123",
        "redirect_uri": "https://desk.example.com/campaigns/facebook/callback",
        "state": "abc",
        "scope": "pages_messaging,pages_show_list,pages_manage_metadata,pages_read_engagement",
        "response_type": "code",
    }


def test_the_pages_wait_in_the_session_for_their_campaign_with_tokens_encrypted():
    session: dict = {}
    pages = [oauth.PageInfo(id="1", name="Acme", tasks=("MANAGE", "MESSAGING"), access_token="EAApage")]
    oauth.activation_store(session=session, campaign_id=3, permissions=["pages_messaging"], pages=pages)
    assert "EAApage" not in str(session)
    assert oauth.activation_load(session=session, campaign_id=3) == (["pages_messaging"], pages)
    with pytest.raises(ApplicationError):
        oauth.activation_load(session=session, campaign_id=4)
    oauth.activation_clear(session=session)
    with pytest.raises(ApplicationError):
        oauth.activation_load(session=session, campaign_id=3)


def test_page_admin_needs_manage_and_messaging():
    assert oauth.PageInfo(id="1", name="A", tasks=("MANAGE", "MESSAGING", "ANALYZE")).is_admin
    assert not oauth.PageInfo(id="1", name="A", tasks=("MESSAGING", "MODERATE")).is_admin
    assert not oauth.PageInfo(id="1", name="A", tasks=("MANAGE",)).is_admin
    assert "EAA" not in repr(oauth.PageInfo(id="1", name="A", tasks=(), access_token="EAAsecret"))
