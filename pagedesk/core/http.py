"""What pagedesk believes about the client of a request."""

from __future__ import annotations

from django.http import HttpRequest


def client_ip_address(request: HttpRequest) -> str | None:
    """The client's address as the server saw it: uvicorn replaces the socket's address with the
    X-Forwarded-For one only for a request from a proxy in PAGEDESK_TRUSTED_PROXIES (`pagedesk serve`),
    so a header a client wrote itself is never believed here."""
    return request.META.get("REMOTE_ADDR")
