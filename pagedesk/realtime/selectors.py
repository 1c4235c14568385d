"""Which audience groups a user may join; the websocket consumer asks here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.utils.crypto import constant_time_compare

from pagedesk.accounts.models import User
from pagedesk.campaigns.models import Campaign
from pagedesk.realtime import groups

# Close codes the page knows (pagedesk/core/static/pagedesk/app.js): both send it to the login page.
LOGGED_OUT = 4401
FORBIDDEN = 4403


def groups_for_user(*, user: User) -> list[str]:
    if user.is_admin:
        campaign_ids = list(Campaign.objects.values_list("pk", flat=True))
        return [groups.admins(), *(groups.supervisors(cid) for cid in campaign_ids)]
    if user.is_supervisor:
        campaign_ids = list(user.supervised_campaigns.values_list("pk", flat=True))
        return [groups.supervisor(user.pk), *(groups.supervisors(cid) for cid in campaign_ids)]
    campaign_ids = list(user.memberships.values_list("campaign_id", flat=True))
    return [groups.agent(user.pk), *(groups.campaign_queue(cid) for cid in campaign_ids)]


@dataclass(frozen=True)
class SocketAccess:
    groups: list[str]
    close_code: int | None = None


def socket_access(*, user_id: int, session_key: str | None) -> SocketAccess:
    """What an open socket may hear now, read from the database: its user's groups, or why it must close.

    `session_key` is the session the socket was opened with (None for a socket without one, e.g. in
    tests); a session that no longer exists or no longer belongs to the user (logged out, expired,
    password changed) closes it, as a deactivated user does."""
    user = User.objects.filter(pk=user_id).first()
    if user is None or not user.is_active:
        return SocketAccess(groups=[], close_code=FORBIDDEN)
    if session_key is not None and not _session_is_users(session_key, user):
        return SocketAccess(groups=[], close_code=LOGGED_OUT)
    return SocketAccess(groups=groups_for_user(user=user))


def _session_is_users(session_key: str, user: User) -> bool:
    data = import_module(settings.SESSION_ENGINE).SessionStore(session_key).load()
    if str(data.get(SESSION_KEY, "")) != str(user.pk):
        return False
    return constant_time_compare(str(data.get(HASH_SESSION_KEY, "")), user.get_session_auth_hash())
