"""Writes for users, break reasons and API tokens. Presence is routing's (routing/services/presence.py): it is
routing that acts on it."""

from __future__ import annotations

import secrets

from axes.utils import reset as axes_reset
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from pagedesk.accounts.models import (
    ApiToken,
    BreakReason,
    Presence,
    PresenceChange,
    Role,
    User,
    hash_token,
)
from pagedesk.accounts.signals import agent_deactivated
from pagedesk.core import clock
from pagedesk.core.errors import ApplicationError
from pagedesk.realtime.access import access_changed, session_ended

USERNAME_MAX = 150


def _check_password(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ApplicationError("weak_password", " ".join(exc.messages), field="password") from None


def user_create(
    *,
    username: str,
    role: str,
    password: str | None,
    email: str = "",
    display_name: str = "",
    first_name: str = "",
    last_name: str = "",
    validate: bool = True,
) -> User:
    username = username.strip()
    if not username:
        raise ApplicationError("invalid_username", _("A username is required."), field="username")
    if len(username) > USERNAME_MAX:
        raise ApplicationError("invalid_username", _("The username is too long."), field="username")
    if role not in Role.values:
        raise ApplicationError(
            "invalid_role",
            _("Role must be one of: %(roles)s.") % {"roles": ", ".join(Role.values)},
            field="role",
        )
    user = User(
        username=username,
        role=role,
        email=email.strip(),
        display_name=display_name.strip(),
        first_name=first_name.strip(),
        last_name=last_name.strip(),
    )
    try:
        User.username_validator(username)
    except ValidationError as exc:
        raise ApplicationError("invalid_username", " ".join(exc.messages), field="username") from None
    taken = User.objects.filter(username__iexact=username).values_list("username", flat=True).first()
    if taken is not None:
        # "Alice" beside "alice" is two accounts a team reads as one person (and picks wrongly in
        # member lists); every other name in pagedesk is unique whatever its case.
        raise ApplicationError(
            "duplicate_username",
            _("A user named “%(name)s” already exists.") % {"name": taken},
            status=409,
            field="username",
        )
    if password:
        if validate:
            _check_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
            PresenceChange.objects.create(
                agent=user, presence=Presence.OFFLINE, changed_at=user.presence_changed_at
            )
    except IntegrityError:
        raise ApplicationError(
            "duplicate_username",
            _("A user named “%(name)s” already exists.") % {"name": username},
            status=409,
            field="username",
        ) from None
    return user


def user_update(
    *,
    user: User,
    role: str | None = None,
    email: str | None = None,
    display_name: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    is_active: bool | None = None,
    password: str | None = None,
) -> User:
    with transaction.atomic():
        if role is not None or is_active is not None or password:
            # Role, activity and password decide what the user's open sockets may hear (a new password
            # ends the user's other sessions): they stop now and re-read it as this commits
            # (realtime/access.py), before a supervised campaign is cleared below.
            access_changed(user_ids=[user.pk])
        if role is not None:
            if role not in Role.values:
                raise ApplicationError(
                    "invalid_role",
                    _("Role must be one of: %(roles)s.") % {"roles": ", ".join(Role.values)},
                    field="role",
                )
            if user.role == Role.AGENT and role != Role.AGENT:
                # Members must be agents (routing assigns to them); leaving one behind would break that rule.
                campaigns = sorted(user.memberships.values_list("campaign__name", flat=True))
                if campaigns:
                    raise ApplicationError(
                        "agent_is_member",
                        _("%(name)s is a member of %(campaigns)s. Remove them from these campaigns first.")
                        % {"name": user.name, "campaigns": ", ".join(campaigns)},
                        status=409,
                        field="role",
                    )
            if user.role == Role.SUPERVISOR and role != Role.SUPERVISOR:
                user.supervised_campaigns.clear()
            user.role = role
        for field, value in {
            "email": email,
            "display_name": display_name,
            "first_name": first_name,
            "last_name": last_name,
        }.items():
            if value is not None:
                setattr(user, field, value.strip())
        deactivating = is_active is False and user.is_active
        if is_active is not None:
            user.is_active = is_active
        if password:
            _check_password(password, user)
            user.set_password(password)
        user.save()
        if deactivating and user.is_agent:
            # Routing answers: Offline, and her conversations back to the queue (routing/receivers.py).
            agent_deactivated.send(sender=User, agent=user)
        if password:
            # An administrator resets a password for someone who cannot get in; a lock-out left in place
            # would refuse the new password too until the cool-off ends.
            user_unlock(user=user)
        return user


def user_session_end(*, user: User, session_key: str | None) -> None:
    """The user logged out of this session: the sockets opened with it close."""
    if session_key:
        session_ended(user_id=user.pk, session_key=session_key)


def user_unlock(*, user: User) -> int:
    """Lift the lock-out that wrong passwords put on this username, from every address; returns how
    many attempt records were cleared (0 when it was not locked)."""
    return axes_reset(username=user.username)


BREAK_REASON_MAX = 60


def _check_break_reason_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ApplicationError("invalid_name", _("A name is required."), field="name")
    if len(name) > BREAK_REASON_MAX:
        raise ApplicationError(
            "too_long",
            _("A break reason is limited to %(n)d characters.") % {"n": BREAK_REASON_MAX},
            field="name",
        )
    return name


def break_reason_create(*, name: str, position: int | None = None) -> BreakReason:
    name = _check_break_reason_name(name)
    if BreakReason.objects.filter(name__iexact=name).exists():
        raise ApplicationError(
            "duplicate_name",
            _("A break reason named “%(name)s” already exists.") % {"name": name},
            status=409,
            field="name",
        )
    if position is None:
        position = BreakReason.objects.count()
    return BreakReason.objects.create(name=name, position=position)


def break_reason_update(
    *, reason: BreakReason, name: str | None = None, active: bool | None = None
) -> BreakReason:
    if name is not None:
        name = _check_break_reason_name(name)
        if BreakReason.objects.filter(name__iexact=name).exclude(pk=reason.pk).exists():
            raise ApplicationError(
                "duplicate_name",
                _("A break reason named “%(name)s” already exists.") % {"name": name},
                status=409,
                field="name",
            )
        reason.name = name
    if active is not None:
        reason.active = active
    reason.save()
    return reason


def api_token_create(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a personal token; returns the row and the raw token, which is never stored."""
    raw = "pd_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name[:80], token_hash=hash_token(raw), prefix=raw[:10])
    return token, raw


def api_token_revoke(*, token: ApiToken) -> None:
    """Idempotent: revoking a revoked token keeps the time it stopped working."""
    if token.revoked_at is not None:
        return
    token.revoked_at = clock.now()
    token.save(update_fields=["revoked_at"])
