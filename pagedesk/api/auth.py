"""API authentication: the browser's session (with CSRF) or a personal bearer token."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from pagedesk.accounts.selectors import user_get_by_api_token


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = user_get_by_api_token(raw_token=token)
        if user is None:
            return None
        request.user = user
        return user


class ActiveSessionAuth(SessionAuth):
    """Session auth for the UI's own calls; ninja enforces CSRF for it.

    Only a logged-in session is checked for CSRF: an anonymous request, or one carrying an
    Authorization header (a script whose token was refused), must get 401, not ninja's 403 "CSRF check
    Failed", which would tell the caller the wrong thing to fix.
    """

    def __call__(self, request: HttpRequest) -> Any:
        if request.headers.get("Authorization"):
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is not None and not user.is_active:
            return None
        return user


api_auth = [BearerTokenAuth(), ActiveSessionAuth()]
