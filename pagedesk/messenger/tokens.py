"""Page tokens: encrypted at rest, decrypted only inside pagedesk.messenger, and their health.

A page token is a bearer credential that lets anyone send as the Page, so it is stored Fernet-encrypted
with settings.TOKEN_KEY and never logged, rendered or returned by an API. Code outside this package
asks `page_token_get` for the clear token only to hand it straight to the Graph client.
"""

from __future__ import annotations

import logging

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from pagedesk.core import clock
from pagedesk.messenger import client
from pagedesk.messenger.errors import GraphError, TokenInvalid
from pagedesk.messenger.models import PageConnection, TokenStatus
from pagedesk.realtime import groups
from pagedesk.realtime.events import CampaignChanged, CampaignTokenStatusChanged
from pagedesk.realtime.publish import publish

logger = logging.getLogger(__name__)


def _fernet() -> Fernet:
    key = settings.TOKEN_KEY
    return Fernet(key.encode() if isinstance(key, str) else key)


def token_encrypt(token: str) -> str:
    return _fernet().encrypt(token.encode()).decode()


def token_decrypt(encrypted: str) -> str | None:
    """The clear token, or None when it cannot be decrypted (e.g. TOKEN_KEY was rotated)."""
    if not encrypted:
        return None
    try:
        return _fernet().decrypt(encrypted.encode()).decode()
    except (InvalidToken, ValueError):
        # Never log the ciphertext or the key; the page just needs re-activating.
        logger.warning("a page token could not be decrypted; was PAGEDESK_TOKEN_KEY changed?")
        return None


def page_token_set(*, page_connection: PageConnection, token: str) -> None:
    """Put the encrypted token on the connection; the caller saves it (inside its own transaction)."""
    page_connection.token_encrypted = token_encrypt(token)


def page_token_get(*, page_connection: PageConnection) -> str | None:
    """The decrypted page token, or None when the page has none (not activated) or it is unreadable.

    Returns the token even when token_status is invalid: the caller decides whether to try (a check
    that confirms the token is dead marks it invalid through `page_connection_mark_invalid`).
    """
    return token_decrypt(page_connection.token_encrypted)


# --- Token health ---------------------------------------------------------------------------------

# Without pages_messaging a valid token still cannot answer customers, so the page is as good as dead.
REQUIRED_SCOPE_FOR_SENDING = "pages_messaging"


def token_status_publish(page_connection: PageConnection) -> None:
    campaign_id = page_connection.campaign_id
    audience = [groups.admins(), groups.supervisors(campaign_id)]
    publish(
        CampaignTokenStatusChanged(campaign_id=campaign_id, token_status=page_connection.token_status),
        # Members too: the inbox warns agents that replies will wait until the page is re-activated.
        to=[*audience, groups.campaign_queue(campaign_id)],
    )
    publish(CampaignChanged(campaign_id=campaign_id), to=audience)


def page_connection_mark_invalid(*, page_connection: PageConnection, reason: str) -> bool:
    """Mark the page token invalid at once (Graph error 190, revoked or expired); True if it changed.

    Only an active or unknown token flips, in one conditional UPDATE, so a burst of failing sends marks
    the page once and publishes once. The reason is shown to admins and, through pending messages, to
    agents; it never contains the token.
    """
    reason = str(reason)[:300]
    with transaction.atomic():
        changed = (
            PageConnection.objects.filter(pk=page_connection.pk)
            .exclude(token_status=TokenStatus.INVALID)
            .update(
                token_status=TokenStatus.INVALID,
                token_invalid_reason=reason,
                last_checked_at=clock.now(),
                updated_at=clock.now(),
            )
        )
        if changed:
            page_connection.token_status = TokenStatus.INVALID
            page_connection.token_invalid_reason = reason
            token_status_publish(page_connection)
    if changed:
        logger.warning("page %s token marked invalid: %s", page_connection.page_id, reason)
    return bool(changed)


def _page_connection_mark_checked(*, page_connection: PageConnection, scopes: list[str] | None) -> None:
    fields: dict[str, object] = {"last_checked_at": clock.now(), "updated_at": clock.now()}
    if scopes:
        fields["granted_permissions"] = sorted(scopes)
    with transaction.atomic():
        PageConnection.objects.filter(pk=page_connection.pk).update(**fields)
    page_connection.last_checked_at = fields["last_checked_at"]  # type: ignore[assignment]


def app_access_token() -> str:
    """The app token `<app id>|<app secret>`, which Meta accepts for /debug_token.

    https://developers.facebook.com/docs/facebook-login/guides/access-tokens#apptokens
    """
    return f"{settings.FACEBOOK_APP_ID}|{settings.FACEBOOK_APP_SECRET}"


def page_token_check(*, page_connection: PageConnection) -> str:
    """Ask Facebook whether the page token still works; returns the resulting token status.

    Calls GET /debug_token (https://developers.facebook.com/docs/graph-api/reference/debug_token).
    A token that is not valid, or any error 190, marks the page invalid at once. Other Graph errors
    (Facebook down, rate limits) leave the status alone: an outage is not a revocation.
    """
    token = page_token_get(page_connection=page_connection)
    if not token:
        if page_connection.token_status == TokenStatus.ACTIVE:
            page_connection_mark_invalid(
                page_connection=page_connection,
                reason=_("The stored page token cannot be read. Activate with Facebook again."),
            )
        return str(page_connection.token_status)
    try:
        body = client.get("debug_token", params={"input_token": token, "access_token": app_access_token()})
    except TokenInvalid as exc:
        # debug_token authenticates with the *app* token, so a 190 here may be a wrong
        # FACEBOOK_APP_SECRET rather than a revoked page. Ask with the page token itself before
        # turning every page red for a configuration mistake that re-activation cannot fix.
        try:
            client.get("me", token=token, params={"fields": "id"})
        except TokenInvalid as page_exc:
            page_connection_mark_invalid(page_connection=page_connection, reason=page_exc.message)
            return str(TokenStatus.INVALID)
        except GraphError:
            page_connection_mark_invalid(page_connection=page_connection, reason=exc.message)
            return str(TokenStatus.INVALID)
        logger.error(
            "Facebook refused pagedesk's app token while checking page %s (%s); check FACEBOOK_APP_ID and "
            "FACEBOOK_APP_SECRET. The page token itself still works.",
            page_connection.page_id,
            exc,
        )
        return str(page_connection.token_status)
    except GraphError as exc:
        logger.info("token check for page %s inconclusive: %s", page_connection.page_id, exc)
        return str(page_connection.token_status)
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    assert isinstance(data, dict)
    error = data.get("error") if isinstance(data.get("error"), dict) else {}
    assert isinstance(error, dict)
    if not data.get("is_valid"):
        reason = str(error.get("message") or _("Facebook says the page token is no longer valid."))
        page_connection_mark_invalid(page_connection=page_connection, reason=reason)
        return str(TokenStatus.INVALID)
    expires_at = data.get("expires_at")
    if isinstance(expires_at, int) and 0 < expires_at < clock.now().timestamp():
        page_connection_mark_invalid(page_connection=page_connection, reason=_("The page token has expired."))
        return str(TokenStatus.INVALID)
    scopes = data.get("scopes") if isinstance(data.get("scopes"), list) else None
    if scopes and REQUIRED_SCOPE_FOR_SENDING not in scopes:
        page_connection_mark_invalid(
            page_connection=page_connection,
            reason=_("The permission pages_messaging was removed from the app."),
        )
        return str(TokenStatus.INVALID)
    _page_connection_mark_checked(page_connection=page_connection, scopes=[str(s) for s in scopes or []])
    return str(page_connection.token_status)


def page_connections_check_all() -> dict[str, int]:
    """Check every page with an active token; returns a count per resulting status (for logs/tests).

    Invalid tokens are not re-checked: only re-activation (a new token) makes them active again.
    """
    counts: dict[str, int] = {}
    connections = PageConnection.objects.filter(token_status=TokenStatus.ACTIVE).exclude(token_encrypted="")
    for connection in connections.order_by("pk"):
        status = page_token_check(page_connection=connection)
        counts[status] = counts.get(status, 0) + 1
    return counts
