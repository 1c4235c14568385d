"""The realtime layer's SocketPolicy: which groups a user's socket hears, and an agent's sockets
counted for the disconnect grace period (issue 5). config/websockets.py hands it to the consumer.

The same rule decides what a view shows and what a socket hears: admins every campaign's
supervisor group, supervisors their campaigns', agents their own group and their campaigns' queues.
"""

from __future__ import annotations

from typing import Any

from pagedesk.accounts.models import User
from pagedesk.campaigns.models import Campaign
from pagedesk.realtime import groups
from pagedesk.realtime.selectors import FORBIDDEN, LOGGED_OUT, SocketAccess, session_is_users
from pagedesk.routing.services import agent_connected, agent_disconnected


def groups_for_user(*, user: User) -> list[str]:
    if user.is_admin:
        campaign_ids = list(Campaign.objects.values_list("pk", flat=True))
        return [groups.admins(), *(groups.supervisors(cid) for cid in campaign_ids)]
    if user.is_supervisor:
        campaign_ids = list(user.supervised_campaigns.values_list("pk", flat=True))
        return [groups.supervisor(user.pk), *(groups.supervisors(cid) for cid in campaign_ids)]
    campaign_ids = list(user.memberships.values_list("campaign_id", flat=True))
    return [groups.agent(user.pk), *(groups.campaign_queue(cid) for cid in campaign_ids)]


def socket_access(*, user_id: int, session_key: str | None) -> SocketAccess:
    """What an open socket may hear now, read from the database: its user's groups, or why it must close.

    `session_key` is the session the socket was opened with (None for a socket without one, e.g. in
    tests); a session that no longer exists or no longer belongs to the user (logged out, expired,
    password changed) closes it, as a deactivated user does."""
    user = User.objects.filter(pk=user_id).first()
    if user is None or not user.is_active:
        return SocketAccess(groups=[], close_code=FORBIDDEN)
    if session_key is not None and not session_is_users(session_key, user):
        return SocketAccess(groups=[], close_code=LOGGED_OUT)
    return SocketAccess(groups=groups_for_user(user=user))


class AgentSockets:
    """realtime.selectors.SocketPolicy for pagedesk's users."""

    def groups(self, *, user: Any) -> list[str]:
        return groups_for_user(user=user)

    def access(self, *, user_id: int, session_key: str | None) -> SocketAccess:
        return socket_access(user_id=user_id, session_key=session_key)

    def opened(self, *, user: Any) -> None:
        if user.is_agent:
            agent_connected(agent=user)

    def closed(self, *, user: Any) -> None:
        if user.is_agent:
            agent_disconnected(agent=user)
