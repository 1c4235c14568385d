"""Typed Graph API errors. Callers handle them by meaning, never by code number.

Codes from Meta's Graph API error reference and the Messenger Send API error list:
https://developers.facebook.com/docs/graph-api/guides/error-handling
https://developers.facebook.com/docs/messenger-platform/error-codes
"""

from __future__ import annotations

from typing import Any


class GraphError(Exception):
    """A Graph API error we cannot classify more precisely; not retried."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        subcode: int | None = None,
        http_status: int | None = None,
        fbtrace_id: str = "",
        error_type: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.subcode = subcode
        self.http_status = http_status
        self.fbtrace_id = fbtrace_id
        self.error_type = error_type

    def __str__(self) -> str:
        parts = [self.message]
        if self.code is not None:
            parts.append(f"(code {self.code}" + (f", subcode {self.subcode})" if self.subcode else ")"))
        return " ".join(parts)


class TokenInvalid(GraphError):
    """Code 190: expired, revoked or otherwise invalid access token. The page must be re-activated."""


class RateLimited(GraphError):
    """Codes 4, 17, 32, 613, 2022 (and 80000-range throttling): slow down and retry later."""


class Transient(GraphError):
    """Codes 1, 2, 1200, HTTP 5xx, timeouts and connection errors: retry with backoff."""


class OutsideWindow(GraphError):
    """Code 10 / subcode 2018278 (and 2018065): the messaging window has closed for this customer."""


class PermissionMissing(GraphError):
    """Codes 10 (other subcodes) and 200–299: the app or token lacks a permission."""


class PolicyError(GraphError):
    """The message was refused for content/policy or recipient reasons (e.g. 551 user unavailable, 100)."""


class InvalidId(PolicyError):
    """pagedesk refused to call Graph: an id (PSID, page id, message id) is not shaped like a Graph id.

    Raised before any HTTP request, so nothing reached Facebook; like a refusal, it is not retried.
    """


class Ambiguous(Transient):
    """The request may or may not have reached Facebook (read timeout after sending)."""


RATE_LIMIT_CODES = {4, 17, 32, 613, 2022}
TRANSIENT_CODES = {1, 2, 1200}
OUTSIDE_WINDOW_SUBCODES = {2018278, 2018065}


def classify(body: Any, *, http_status: int) -> GraphError:
    """Map a Graph error response to the typed exception callers act on."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        cls: type[GraphError] = Transient if http_status >= 500 else GraphError
        return cls(f"Facebook answered HTTP {http_status}", http_status=http_status)
    code = error.get("code")
    subcode = error.get("error_subcode")
    kwargs: dict[str, Any] = {
        "code": code if isinstance(code, int) else None,
        "subcode": subcode if isinstance(subcode, int) else None,
        "http_status": http_status,
        "fbtrace_id": str(error.get("fbtrace_id", "")),
        "error_type": str(error.get("type", "")),
    }
    message = str(error.get("message") or f"Facebook answered HTTP {http_status}")
    if code == 190:
        return TokenInvalid(message, **kwargs)
    if code in RATE_LIMIT_CODES or (isinstance(code, int) and 80000 <= code < 80100):
        return RateLimited(message, **kwargs)
    if code == 10 and subcode in OUTSIDE_WINDOW_SUBCODES:
        return OutsideWindow(message, **kwargs)
    if code in TRANSIENT_CODES or error.get("is_transient") is True or http_status >= 500:
        return Transient(message, **kwargs)
    if code == 10 or (isinstance(code, int) and 200 <= code <= 299):
        return PermissionMissing(message, **kwargs)
    if code in {100, 551} or (isinstance(code, int) and 2018000 <= code < 2019000):
        return PolicyError(message, **kwargs)
    return GraphError(message, **kwargs)
