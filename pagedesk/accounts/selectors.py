"""Reads for users and presence."""

from __future__ import annotations

from django.db.models import QuerySet

from pagedesk.accounts.models import ApiToken, BreakReason, DisplayStatus, Presence, Role, User, hash_token
from pagedesk.core import clock


def user_list(*, role: str | None = None, active_only: bool = False) -> QuerySet[User]:
    users = User.objects.select_related("break_reason").order_by("username")
    if role:
        users = users.filter(role=role)
    if active_only:
        users = users.filter(is_active=True)
    return users


def agent_list() -> QuerySet[User]:
    return user_list(role=Role.AGENT, active_only=True)


def break_reason_list(*, active_only: bool = True) -> QuerySet[BreakReason]:
    reasons = BreakReason.objects.all()
    return reasons.filter(active=True) if active_only else reasons


def display_status(*, presence: str, load: int, max_load: int) -> str:
    """Derived status (ARCHITECTURE.md §3): Free/Busy split Available by load against capacity."""
    if presence == Presence.AVAILABLE:
        return DisplayStatus.BUSY if load >= max_load else DisplayStatus.FREE
    return {
        Presence.OFFLINE: DisplayStatus.OFFLINE,
        Presence.BREAK: DisplayStatus.BREAK,
        Presence.WRAP_UP: DisplayStatus.WRAP_UP,
    }[Presence(presence)]


def seconds_in_status(*, agent: User) -> int:
    return max(0, int((clock.now() - agent.presence_changed_at).total_seconds()))


def user_get_by_api_token(*, raw_token: str) -> User | None:
    """The active user a bearer token belongs to; touches last_used_at at most once a minute."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=hash_token(raw_token), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = clock.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
