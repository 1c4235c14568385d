"""Role checks for the API: the same predicates the UI's decorators use (pagedesk.core.permissions)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _

from pagedesk.accounts.models import User
from pagedesk.core.errors import PermissionDenied
from pagedesk.core.permissions import can_manage


def request_user(request: HttpRequest) -> User:
    """The authenticated user (ninja's auth ran before the view, so there always is one)."""
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


def admin_user(request: HttpRequest) -> User:
    """The user, if an administrator; otherwise 403, before any lookup, so nothing leaks by id."""
    user = request_user(request)
    if not can_manage(user):
        raise PermissionDenied("forbidden", _("Only administrators can do this."))
    return user
