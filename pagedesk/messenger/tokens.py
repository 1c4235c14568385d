"""Page tokens: encrypted at rest, decrypted only inside pagedesk.messenger, and their health.

A page token is a bearer credential that lets anyone send as the Page, so it is stored Fernet-encrypted
with settings.TOKEN_KEY and never logged, rendered or returned by an API. Code outside this package
asks `page_token_get` for the clear token only to hand it straight to the Graph client.
"""

from __future__ import annotations

import logging

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from pagedesk.messenger.models import PageConnection

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
