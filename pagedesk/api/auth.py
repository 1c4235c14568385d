"""API authentication: the browser's session (with CSRF) or a personal bearer token."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from pagedesk.accounts.selectors import user_get_by_api_token


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):  # type: ignore[no-untyped-def]
        user = user_get_by_api_token(raw_token=token)
        if user is None:
            return None
        request.user = user
        return user


class ActiveSessionAuth(SessionAuth):
    """Session auth for the UI's own calls; ninja enforces CSRF for it."""

    def authenticate(self, request: HttpRequest, key: str | None):  # type: ignore[no-untyped-def]
        user = super().authenticate(request, key)
        if user is not None and not user.is_active:
            return None
        return user


api_auth = [BearerTokenAuth(), ActiveSessionAuth()]
