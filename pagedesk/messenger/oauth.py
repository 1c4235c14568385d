"""Activation with Facebook: the OAuth dialog, token exchanges, page choice and the page connection.

The flow follows Meta's "manually build a login flow" guide:
https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow
https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived
https://developers.facebook.com/docs/pages-api/overview#get-page-access-tokens (/me/accounts, tasks)
https://developers.facebook.com/docs/messenger-platform/webhooks#connect-your-app (subscribed_apps)

Session state: the `state` parameter is random, bound to the admin's session and one campaign, and
single-use. Between the callback and the page choice the admin's pages from /me/accounts wait in the
session, their page tokens Fernet-encrypted; the chosen page's token comes from there, never from the form,
and /me/accounts is called once per activation.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from pagedesk.campaigns.models import Campaign
from pagedesk.core import clock
from pagedesk.core.errors import ApplicationError
from pagedesk.messenger import client
from pagedesk.messenger.models import PageConnection, TokenStatus
from pagedesk.messenger.send import messages_resend_pending
from pagedesk.messenger.tasks_outbound import inbound_reprocess_enqueue
from pagedesk.messenger.tokens import (
    page_token_set,
    token_decrypt,
    token_encrypt,
    token_status_publish,
)

logger = logging.getLogger(__name__)

SCOPES = ("pages_messaging", "pages_show_list", "pages_manage_metadata", "pages_read_engagement")
# The five the issue requires, plus reactions, edits, standby and thread-control changes
# (messaging_handovers), which the webhook side records.
SUBSCRIBED_FIELDS = (
    "messages",
    "messaging_postbacks",
    "message_deliveries",
    "message_reads",
    "message_echoes",
    "message_reactions",
    "message_edits",
    "standby",
    "messaging_handovers",
)
STATE_SESSION_KEY = "pagedesk_fb_oauth_states"
ACTIVATION_SESSION_KEY = "pagedesk_fb_activation"
STATE_TTL_SECONDS = 15 * 60
ACTIVATION_TTL_SECONDS = 30 * 60
# Page roles come back as `tasks`; MANAGE is a full admin, MESSAGING lets the page token answer.
REQUIRED_TASKS = ("MANAGE", "MESSAGING")


@dataclasses.dataclass(frozen=True)
class PageInfo:
    id: str
    name: str
    tasks: tuple[str, ...]
    access_token: str = dataclasses.field(repr=False, default="")

    @property
    def is_admin(self) -> bool:
        return all(task in self.tasks for task in REQUIRED_TASKS)


# --- State ----------------------------------------------------------------------------------------


def oauth_state_create(*, session: Any, campaign_id: int) -> str:
    """A fresh random state bound to this session and campaign; older expired ones are dropped."""
    now = time.time()
    states = {
        key: value
        for key, value in (session.get(STATE_SESSION_KEY) or {}).items()
        if now - float(value.get("at", 0)) < STATE_TTL_SECONDS
    }
    state = secrets.token_urlsafe(32)
    states[state] = {"campaign_id": campaign_id, "at": now}
    session[STATE_SESSION_KEY] = states
    return state


def oauth_state_consume(*, session: Any, state: str) -> int | None:
    """The campaign id the state was issued for, once; None for an unknown, used or expired state."""
    states = dict(session.get(STATE_SESSION_KEY) or {})
    entry = states.pop(state, None) if state else None
    session[STATE_SESSION_KEY] = states
    if not entry or time.time() - float(entry.get("at", 0)) >= STATE_TTL_SECONDS:
        return None
    return int(entry["campaign_id"])


def oauth_dialog_url(*, state: str, redirect_uri: str) -> str:
    query = urlencode(
        {
            "client_id": settings.FACEBOOK_APP_ID,
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": ",".join(SCOPES),
            "response_type": "code",
        }
    )
    return f"{settings.FACEBOOK_DIALOG_URL}/{settings.FACEBOOK_GRAPH_VERSION}/dialog/oauth?{query}"


def activation_store(
    *, session: Any, campaign_id: int, permissions: list[str], pages: list[PageInfo]
) -> None:
    """Keep the callback's page list (page tokens Fernet-encrypted) for the admin's choice, so the choice
    does not ask Graph for /me/accounts a second time; the user token is not needed after the list."""
    session[ACTIVATION_SESSION_KEY] = {
        "campaign_id": campaign_id,
        "permissions": permissions,
        "pages": [
            {"id": p.id, "name": p.name, "tasks": list(p.tasks), "token": token_encrypt(p.access_token)}
            for p in pages
        ],
        "at": time.time(),
    }


def activation_load(*, session: Any, campaign_id: int) -> tuple[list[str], list[PageInfo]]:
    """(granted permissions, the admin's pages with their tokens) saved by the callback for this
    campaign, or an error."""
    entry = session.get(ACTIVATION_SESSION_KEY) or {}
    rows = entry.get("pages") if entry else None
    if (
        not isinstance(rows, list)
        or int(entry.get("campaign_id", 0)) != campaign_id
        or time.time() - float(entry.get("at", 0)) >= ACTIVATION_TTL_SECONDS
    ):
        raise ApplicationError(
            "activation_expired",
            _(
                "This activation has expired or belongs to another campaign. Click 'Activate with Facebook' again."
            ),
            status=409,
        )
    pages = [
        PageInfo(
            id=str(row["id"]),
            name=str(row.get("name", "")),
            tasks=tuple(row.get("tasks") or ()),
            # A token that no longer decrypts (PAGEDESK_TOKEN_KEY rotated meanwhile) is refused on activation.
            access_token=token_decrypt(row.get("token", "")) or "",
        )
        for row in rows
    ]
    return list(entry.get("permissions") or []), pages


def activation_clear(*, session: Any) -> None:
    session.pop(ACTIVATION_SESSION_KEY, None)


# --- Graph calls (no database transaction is open during any of these) ----------------------------


def user_token_from_code(*, code: str, redirect_uri: str) -> str:
    body = client.get(
        "oauth/access_token",
        params={
            "client_id": settings.FACEBOOK_APP_ID,
            "redirect_uri": redirect_uri,
            "client_secret": settings.FACEBOOK_APP_SECRET,
            "code": code,
        },
    )
    return str(body["access_token"])


def user_token_long_lived(*, user_token: str) -> str:
    """Page tokens obtained from a long-lived user token do not expire (Meta, get-long-lived)."""
    body = client.get(
        "oauth/access_token",
        params={
            "grant_type": "fb_exchange_token",
            "client_id": settings.FACEBOOK_APP_ID,
            "client_secret": settings.FACEBOOK_APP_SECRET,
            "fb_exchange_token": user_token,
        },
    )
    return str(body["access_token"])


def permissions_granted(*, user_token: str) -> list[str]:
    body = client.get("me/permissions", token=user_token)
    return sorted(
        str(row.get("permission"))
        for row in body.get("data") or []
        if isinstance(row, dict) and row.get("status") == "granted"
    )


def permissions_missing(*, granted: list[str]) -> list[str]:
    return [scope for scope in SCOPES if scope not in granted]


def pages_list(*, user_token: str) -> list[PageInfo]:
    """Every page the user manages, following Graph's cursor paging (`paging.next` absolute URLs)."""
    pages: list[PageInfo] = []
    body = client.get(
        "me/accounts", token=user_token, params={"fields": "id,name,access_token,tasks", "limit": 100}
    )
    for _page in range(50):  # a bound, not an expectation: 5,000 pages
        for row in body.get("data") or []:
            if isinstance(row, dict) and row.get("id"):
                pages.append(
                    PageInfo(
                        id=str(row["id"]),
                        name=str(row.get("name", "")),
                        tasks=tuple(str(t) for t in row.get("tasks") or []),
                        access_token=str(row.get("access_token", "")),
                    )
                )
        next_url = (body.get("paging") or {}).get("next")
        if not next_url:
            break
        # The next URL already carries the access token Facebook echoed back.
        body = client.request("GET", "", absolute_url=str(next_url))
    return pages


def page_subscribe(*, page_id: str, page_token: str) -> None:
    client.post(
        f"{page_id}/subscribed_apps",
        token=page_token,
        params={"subscribed_fields": ",".join(SUBSCRIBED_FIELDS)},
    )


# --- Checks and the write --------------------------------------------------------------------------


def page_choice_check(*, campaign: Campaign, page: PageInfo, confirm_switch: bool) -> None:
    """Refuse a page the user cannot run, one another campaign answers, or an unconfirmed switch."""
    if not page.is_admin:
        missing = [task for task in REQUIRED_TASKS if task not in page.tasks]
        raise ApplicationError(
            "not_page_admin",
            _(
                "Your Facebook account is not an admin of the page “%(page)s” (missing: %(tasks)s). "
                "Ask a page admin to activate it, or give your account full control of the page."
            )
            % {"page": page.name, "tasks": ", ".join(missing)},
            status=403,
        )
    other = (
        PageConnection.objects.filter(page_id=page.id)
        .exclude(campaign=campaign)
        .select_related("campaign")
        .first()
    )
    if other is not None:
        raise ApplicationError(
            "page_taken",
            _(
                "The page “%(page)s” is already connected to the campaign “%(other)s”. A page can answer one campaign."
            )
            % {"page": page.name, "other": other.campaign.name},
            status=409,
        )
    current = PageConnection.objects.filter(campaign=campaign).first()
    if current is not None and current.page_id and current.page_id != page.id and not confirm_switch:
        raise ApplicationError(
            "page_switch",
            _(
                "This campaign is connected to the page “%(old)s”. Switching to “%(new)s” starts a new stream: "
                "customers of the old page will no longer reach this campaign. Tick the confirmation to switch."
            )
            % {"old": current.page_name or current.page_id, "new": page.name},
            status=409,
            field="confirm_switch",
        )


def page_connection_activate(
    *, campaign: Campaign, page: PageInfo, permissions: list[str], confirm_switch: bool = False
) -> PageConnection:
    """Connect the page to the campaign: check, subscribe the app (HTTP), then store (short transaction).

    Re-activating the same page keeps every conversation; afterwards messages that waited for the token
    are queued and the webhook side may reprocess what it could not handle meanwhile.
    """
    page_choice_check(campaign=campaign, page=page, confirm_switch=confirm_switch)
    if not page.access_token:
        raise ApplicationError(
            "no_page_token", _("Facebook did not return a token for this page. Try again.")
        )
    page_subscribe(page_id=page.id, page_token=page.access_token)
    try:
        with transaction.atomic():
            connection, _created = PageConnection.objects.select_for_update().get_or_create(campaign=campaign)
            connection.page_id = page.id
            connection.page_name = page.name
            page_token_set(page_connection=connection, token=page.access_token)
            connection.token_status = TokenStatus.ACTIVE
            connection.token_invalid_reason = ""
            connection.granted_permissions = sorted(permissions)
            connection.activated_at = clock.now()
            connection.last_checked_at = clock.now()
            connection.save()
            token_status_publish(connection)
    except IntegrityError:
        # Another admin connected the same page to another campaign between the check and the save.
        raise ApplicationError(
            "page_taken",
            _("The page “%(page)s” was just connected to another campaign.") % {"page": page.name},
            status=409,
        ) from None
    logger.info("campaign %s activated with page %s", campaign.pk, page.id)
    _after_activation(connection)
    return connection


def _after_activation(connection: PageConnection) -> None:
    counts = messages_resend_pending(page_connection=connection)
    if counts["queued"] or counts["failed"]:
        logger.info("after activation of page %s: %s", connection.page_id, counts)
    try:
        inbound_reprocess_enqueue(page_id=connection.page_id)
    except Exception:
        # Reprocessing is the webhook side's optional hook; activation has succeeded regardless.
        logger.exception("could not enqueue inbound reprocessing for page %s", connection.page_id)
