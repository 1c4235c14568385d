"""Webhook authenticity checks. Both compare in constant time so a caller cannot learn a secret byte by byte.

Meta signs every webhook POST with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`,
keyed with the app secret:
https://developers.facebook.com/docs/messenger-platform/webhooks#validate-payloads
The HMAC must be computed over the exact bytes received (before any JSON parsing): Meta escapes some
characters (e.g. `/` and non-ASCII) in the body, so a re-serialised body would not match.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_PREFIX = "sha256="


def signature_expected(*, body: bytes, secret: str) -> str:
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_is_valid(*, body: bytes, header: str | None, secret: str) -> bool:
    """True when `header` is the app-secret HMAC of `body`. No secret configured means nothing is valid."""
    if not secret or not header:
        return False
    expected = signature_expected(body=body, secret=secret)
    # Encode both: compare_digest on str refuses non-ASCII, and a header is attacker-controlled.
    return hmac.compare_digest(expected.encode(), header.strip().encode("utf-8", "replace"))


def verify_token_matches(*, given: str | None, expected: str) -> bool:
    """The GET subscription handshake's hub.verify_token check (an empty setting never matches)."""
    if not expected or given is None:
        return False
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))
