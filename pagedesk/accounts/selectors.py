"""Reads for users and presence."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from pagedesk.accounts.models import (
    ApiToken,
    BreakReason,
    DisplayStatus,
    Presence,
    PresenceChange,
    Role,
    User,
    hash_token,
)
from pagedesk.core import clock
from pagedesk.core.errors import ApplicationError, NotFound


def user_list(*, role: str | None = None, active_only: bool = False) -> QuerySet[User]:
    """People: an integration's user is listed with its integration, not among the users."""
    users = User.objects.select_related("break_reason").exclude(role=Role.INTEGRATION).order_by("username")
    if role:
        users = users.filter(role=role)
    if active_only:
        users = users.filter(is_active=True)
    return users


def locked_usernames(*, usernames: Iterable[str] | None = None) -> set[str]:
    """The usernames that django-axes refuses a log-in to now (too many wrong passwords, cool-off not over).

    Locked is a property of the username, whatever axes keys its lock-out on: with username alone (today)
    a username is locked when all its failures reach the limit, with username + IP when its failures from
    one address do. Either way an administrator sees and lifts it per user (user_unlock).
    """
    attempts = AccessAttempt.objects.filter(username__isnull=False)
    if usernames is not None:
        attempts = attempts.filter(username__in=list(usernames))
    cool_off = get_cool_off()
    if cool_off is not None:
        # attempt_time is the latest failure: axes' cool-off runs from it (and its handler compares with
        # django's timezone.now, not our clock, so this does too).
        attempts = attempts.filter(attempt_time__gte=timezone.now() - cool_off)
    by_username_alone = any(
        params == "username" or list(params) == ["username"] for params in settings.AXES_LOCKOUT_PARAMETERS
    )
    failures: dict[tuple[str, str | None], int] = defaultdict(int)
    for username, ip_address, count in attempts.values_list("username", "ip_address", "failures_since_start"):
        failures[(username, None if by_username_alone else ip_address)] += count
    return {username for (username, _ip), count in failures.items() if count >= settings.AXES_FAILURE_LIMIT}


def user_is_locked(*, user: User) -> bool:
    return bool(locked_usernames(usernames=[user.username]))


def agent_list() -> QuerySet[User]:
    return user_list(role=Role.AGENT, active_only=True)


def break_reason_list(*, active_only: bool = True) -> QuerySet[BreakReason]:
    reasons = BreakReason.objects.all()
    return reasons.filter(active=True) if active_only else reasons


def display_status(*, presence: str, load: int, max_load: int) -> str:
    """Derived status (docs/architecture.md §3): Free/Busy split Available by load against capacity."""
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


def user_get(*, user_id: int) -> User:
    """A person (as user_list lists them): an integration's user is not found here. It is managed with
    its integration, whose revoke and tokens keep it consistent; changing its role or password as a
    user's would turn it into a person who can log in."""
    user = (
        User.objects.select_related("break_reason").exclude(role=Role.INTEGRATION).filter(pk=user_id).first()
    )
    if user is None:
        raise NotFound("not_found", _("There is no user with id %(id)s.") % {"id": user_id})
    return user


def break_reason_get(*, reason_id: int, field: str | None = None) -> BreakReason:
    """The reason with that id. With `field`, an unknown id is a rule the body breaks (400, as for an
    unknown member or supervisor): the id is well formed, so not a 422; nor is the address unknown (404)."""
    reason = BreakReason.objects.filter(pk=reason_id).first()
    if reason is None:
        message = _("There is no break reason with id %(id)s.") % {"id": reason_id}
        if field:
            raise ApplicationError("unknown_break_reason", message, status=400, field=field)
        raise NotFound("not_found", message)
    return reason


def presence_change_list(*, agent: User, limit: int = 100) -> QuerySet[PresenceChange]:
    """The agent's presence history, newest first."""
    return (
        PresenceChange.objects.filter(agent=agent)
        .select_related("break_reason", "changed_by")
        .order_by("-changed_at", "-id")[:limit]
    )


def api_token_list_for_user(*, user: User) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first (revoked ones too, marked)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def api_token_get_for_user(*, user: User, token_id: int) -> ApiToken:
    token = ApiToken.objects.filter(pk=token_id, user=user).first()
    if token is None:
        raise NotFound("not_found", _("You have no token with id %(id)s.") % {"id": token_id})
    return token
