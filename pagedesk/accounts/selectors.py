"""Reads for users and presence."""

from __future__ import annotations

from django.db.models import QuerySet
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
from pagedesk.core.errors import ApplicationError, NotFound, PermissionDenied


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


def user_get(*, user_id: int) -> User:
    user = User.objects.select_related("break_reason").filter(pk=user_id).first()
    if user is None:
        raise NotFound("not_found", _("There is no user with id %(id)s.") % {"id": user_id})
    return user


def break_reason_get(*, reason_id: int, field: str | None = None) -> BreakReason:
    """The reason with that id. With `field`, an unknown id is bad input on that field (422), not a 404."""
    reason = BreakReason.objects.filter(pk=reason_id).first()
    if reason is None:
        message = _("There is no break reason with id %(id)s.") % {"id": reason_id}
        if field:
            raise ApplicationError("unknown_break_reason", message, status=422, field=field)
        raise NotFound("not_found", message)
    return reason


def agent_get_for_user(*, user: User, agent_id: int) -> User:
    """An agent whose presence `user` may read and set (the same rule for both).

    Admins: any agent. Supervisors: agents who are members of a campaign they supervise. Agents: only
    themselves. An existing agent outside that scope is a 403 and an unknown id a 404, the same rule as
    campaign_get_for_user.
    """
    from pagedesk.campaigns.models import Membership

    agent = User.objects.select_related("break_reason").filter(pk=agent_id).first()
    if agent is None:
        raise NotFound("not_found", _("There is no agent with id %(id)s.") % {"id": agent_id})
    if user.is_admin:
        allowed = True
    elif user.is_supervisor:
        allowed = Membership.objects.filter(agent=agent, campaign__supervisors=user).exists()
    else:
        allowed = agent.pk == user.pk
    if not allowed:
        raise PermissionDenied(
            "forbidden", _("You can only see and change the presence of agents in campaigns you supervise.")
        )
    if not agent.is_agent:
        if agent.pk == user.pk:
            raise PermissionDenied("not_an_agent", _("Only agents have a presence."))
        raise NotFound(
            "not_an_agent", _("%(name)s is not an agent; only agents have a presence.") % {"name": agent.name}
        )
    return agent


def presence_change_list(*, agent: User, limit: int = 100) -> QuerySet[PresenceChange]:
    """The agent's presence history, newest first."""
    return (
        PresenceChange.objects.filter(agent=agent)
        .select_related("break_reason", "changed_by")
        .order_by("-changed_at", "-id")[:limit]
    )
