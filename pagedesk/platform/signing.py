"""The pure parts of outbound webhooks: the secret at rest, the signature, the retry schedule, the
Retry-After header and the address guard. No database, no HTTP (docs/decisions/outbound-webhooks.md)."""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import hmac
import ipaddress
import random
import secrets
import socket
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.utils.translation import gettext as _

from pagedesk.core.errors import ApplicationError

# Retries: the n-th retry waits a delay drawn from [d/2, d], d = min(BASE × 2^(n−1), CAP) ("equal
# jitter": never sooner than half the exponential step, so a burst of failures spreads without a
# receiver seeing retries bunched near zero).
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 3600.0
RETRY_WINDOW = dt.timedelta(hours=24)
# A Retry-After asking for longer than this is capped: the 24 h window still applies.
RETRY_AFTER_CAP_SECONDS = 6 * 3600.0
SECRET_MIN_LENGTH = 16


# --- the secret at rest ------------------------------------------------------------------------------


def _fernet() -> Fernet:
    key = settings.TOKEN_KEY
    return Fernet(key.encode() if isinstance(key, str) else key)


def secret_generate() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def secret_encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def secret_decrypt(encrypted: str) -> str | None:
    """The clear secret, or None when PAGEDESK_TOKEN_KEY changed since it was stored (rotate it)."""
    try:
        return _fernet().decrypt(encrypted.encode()).decode()
    except (InvalidToken, ValueError):
        return None


# --- the signature -----------------------------------------------------------------------------------


def signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`, the X-Pagedesk-Signature value.

    The timestamp is signed with the body so a captured request cannot be replayed later with a
    fresh X-Pagedesk-Timestamp (receivers refuse old timestamps: docs/webhooks.md).
    """
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


# --- when to try again -------------------------------------------------------------------------------


def backoff_seconds(retry: int, *, rng: random.Random | None = None) -> float:
    """The wait before retry number `retry` (1 = the first retry), with equal jitter."""
    step = min(BACKOFF_BASE_SECONDS * 2 ** max(0, retry - 1), BACKOFF_CAP_SECONDS)
    return step / 2 + (rng or random).uniform(0, step / 2)


def retry_after_seconds(value: str | None, *, now: dt.datetime) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), capped; None if absent or
    unreadable (the backoff applies then)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), RETRY_AFTER_CAP_SECONDS)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return min(max(0.0, (when - now).total_seconds()), RETRY_AFTER_CAP_SECONDS)


# Answers worth trying again: the receiver's own trouble (5xx), or it asked us to (408, 429).
def retryable_status(status: int) -> bool:
    return status >= 500 or status in (408, 429)


# --- the address guard (SSRF) ------------------------------------------------------------------------


class UnsafeUrl(ApplicationError):
    """A malformed URL is a 422 (URL_PATTERN says what is well formed); a well-formed one whose host
    cannot be found or is private is a 400: a rule of the request no schema can state."""

    status = 422


_H16 = "[0-9A-Fa-f]{1,4}"
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_LS32 = f"(?:{_H16}:{_H16}|{_OCTET}(?:\\.{_OCTET}){{3}})"
# RFC 3986's IPv6address, one line per form of "::".
_IPV6 = (
    "(?:"
    + "|".join(
        [
            f"(?:{_H16}:){{6}}{_LS32}",
            f"::(?:{_H16}:){{5}}{_LS32}",
            f"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
            f"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
            f"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
            f"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
            f"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
            f"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
            f"(?:(?:{_H16}:){{0,6}}{_H16})?::",
        ]
    )
    + ")"
)
_PORT = "(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
# What url_check takes as well formed, published as the API's pattern for a webhook URL: http(s), a
# host name (RFC 3986 reg-name characters, no user:password@) or a bracketed IPv6 address, a port
# of at most 65535, then a path, query or fragment without spaces or control characters.
URL_PATTERN = (
    "^[Hh][Tt][Tt][Pp][Ss]?://"
    f"(?:[A-Za-z0-9._~%!$&'()*+,;=-]+|\\[{_IPV6}\\])"
    f"(?::{_PORT}?)?"
    "(?:[/?#][^\\x00-\\x20\\x7f]*)?$"
)


def url_check(url: str, *, resolve: bool = True) -> list[str]:
    """Refuse a URL pagedesk must not POST to; return the addresses its host resolves to.

    Only http(s). Unless PAGEDESK_WEBHOOKS_ALLOW_PRIVATE, every address the host resolves to must be
    public: not loopback, private, link-local (cloud metadata at 169.254.169.254), multicast, reserved
    or unspecified. Checked at registration and again before each drain sends (a name can be re-pointed).
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced or invalid [IPv6] host
        raise UnsafeUrl(
            "invalid_url", _("Give an http:// or https:// URL with a host name."), field="url"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl("invalid_url", _("Give an http:// or https:// URL with a host name."), field="url")
    if parts.username or parts.password:
        raise UnsafeUrl(
            "invalid_url",
            _("Leave credentials out of the URL: receivers verify the signature instead."),
            field="url",
        )
    if not resolve:
        return []
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeUrl(
            "invalid_url", _("The URL's port is not a number from 1 to 65535."), field="url"
        ) from None
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise UnsafeUrl(
            "unresolvable_url",
            _("The host %(host)s could not be found; check the spelling or the DNS record.")
            % {"host": parts.hostname},
            field="url",
            status=400,
        ) from None
    addresses = sorted({str(info[4][0]) for info in infos})
    if not settings.WEBHOOKS_ALLOW_PRIVATE:
        for address in addresses:
            if not _public(address):
                raise UnsafeUrl(
                    "private_url",
                    _(
                        "%(host)s resolves to %(address)s, a private or local address pagedesk does not "
                        "send webhooks to. Use the receiver's public address (or set "
                        "PAGEDESK_WEBHOOKS_ALLOW_PRIVATE=true on a closed network)."
                    )
                    % {"host": parts.hostname, "address": address},
                    field="url",
                    status=400,
                )
    return addresses


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )
