"""Connecting a page from a page access token an operator already has, without the pop-up.

Used by `pagedesk demo` (the simulator's seeded page token) and by operators who connect pages with a
long-lived token from a Meta Business system user. It asks Facebook who the token belongs to and what it
may do, then goes through the same `page_connection_activate` as the pop-up flow, so the same checks,
subscription and follow-ups apply.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from pagedesk.campaigns.models import Campaign
from pagedesk.core.errors import ApplicationError
from pagedesk.messenger import client
from pagedesk.messenger.models import PageConnection
from pagedesk.messenger.oauth import REQUIRED_TASKS, SCOPES, PageInfo, page_connection_activate
from pagedesk.messenger.tokens import app_access_token


def page_connection_activate_with_token(*, campaign: Campaign, page_token: str) -> PageConnection:
    page = client.get("me", token=page_token, params={"fields": "id,name"})
    debug = client.get("debug_token", params={"input_token": page_token, "access_token": app_access_token()})
    data = debug.get("data") if isinstance(debug.get("data"), dict) else {}
    assert isinstance(data, dict)
    if not data.get("is_valid") or data.get("type") not in (None, "PAGE"):
        raise ApplicationError("not_a_page_token", _("That token is not a valid page access token."))
    scopes = [str(scope) for scope in data.get("scopes") or []]
    missing = [scope for scope in SCOPES if scope not in scopes]
    if missing:
        raise ApplicationError(
            "permissions_missing",
            _("The token lacks these permissions: %(scopes)s.") % {"scopes": ", ".join(missing)},
        )
    info = PageInfo(
        id=str(page["id"]),
        name=str(page.get("name", "")),
        # A page token that debug_token accepts with the messaging scopes can answer for the page.
        tasks=REQUIRED_TASKS,
        access_token=page_token,
    )
    return page_connection_activate(campaign=campaign, page=info, permissions=scopes, confirm_switch=False)
