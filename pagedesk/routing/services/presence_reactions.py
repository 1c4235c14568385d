"""What routing does when an agent's presence changes (accounts.services.presence_set's hook):
Available dispatches to her, Offline returns her conversations to the queue; and her websockets,
whose last close sets her Offline after a grace period.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction

from pagedesk.accounts.models import Presence, User
from pagedesk.core import clock
from pagedesk.routing.models import AgentConnection
from pagedesk.routing.services.dispatch import agent_redispatch
from pagedesk.routing.services.requeue import ReturnReason, agent_conversations_requeue

# presence_set's note for the grace timer's Offline; the hook tells that cause apart by it.
DISCONNECTED_NOTE = "disconnected"


def agent_presence_changed(
    *, agent_id: int, presence: str, changed_by_id: int | None = None, note: str = ""
) -> None:
    """Hook for accounts.services.presence_set (after commit): an agent who becomes Available may
    take queued customers at once; an Offline one answers nobody, so hers go back to the queue.
    A Break keeps them: she is still responsible for them (the board marks who is left waiting)."""
    if presence == Presence.AVAILABLE:
        agent_redispatch(agent_id=agent_id)
    elif presence == Presence.OFFLINE:
        if changed_by_id is None:
            reason = ReturnReason.DISCONNECTED if note == DISCONNECTED_NOTE else ReturnReason.OFFLINE
        elif changed_by_id == agent_id:
            reason = ReturnReason.WENT_OFFLINE
        else:
            reason = ReturnReason.SET_OFFLINE
        agent_conversations_requeue(agent_id=agent_id, reason=reason, actor_id=changed_by_id)


def agent_connected(*, agent: User) -> None:
    """A websocket of this agent opened; cancels a pending disconnect timer (by clearing its token)."""
    AgentConnection.objects.get_or_create(agent=agent)
    with transaction.atomic():
        row = AgentConnection.objects.select_for_update().get(agent=agent)
        row.open_connections += 1
        row.disconnected_at = None
        row.save(update_fields=["open_connections", "disconnected_at"])


def agent_disconnected(*, agent: User) -> None:
    """A websocket closed. When it was the agent's last, they go Offline unless they reconnect within
    AGENT_DISCONNECT_GRACE_SECONDS; going Offline returns their conversations to the queue.

    Known limit: a server process killed with sockets open leaves the count too high, so that agent
    is not set Offline automatically until they connect and disconnect again.
    """
    from pagedesk.routing.tasks import disconnect_expire  # lazy (task): routing.tasks imports these services

    AgentConnection.objects.get_or_create(agent=agent)
    with transaction.atomic():
        row = AgentConnection.objects.select_for_update().get(agent=agent)
        row.open_connections = max(0, row.open_connections - 1)
        if row.open_connections == 0:
            now = clock.now()
            row.disconnected_at = now
            disconnect_expire.using(
                run_after=now + dt.timedelta(seconds=settings.AGENT_DISCONNECT_GRACE_SECONDS)
            ).enqueue(agent_id=agent.pk, token=now.isoformat())
        row.save(update_fields=["open_connections", "disconnected_at"])


def agent_disconnect_expire(*, agent_id: int, token: str) -> bool:
    """The grace timer's body: Offline if the agent has not reconnected since `token`; True if set."""
    from pagedesk.accounts.services import presence_set

    with transaction.atomic():
        row = (
            AgentConnection.objects.select_for_update(of=("self",))
            .select_related("agent")
            .filter(agent_id=agent_id)
            .first()
        )
        if row is None or row.open_connections or row.disconnected_at is None:
            return False
        if row.disconnected_at.isoformat() != token:
            return False
        row.disconnected_at = None
        row.save(update_fields=["disconnected_at"])
        if row.agent.is_agent and row.agent.presence != Presence.OFFLINE:
            presence_set(agent=row.agent, presence=Presence.OFFLINE, note=DISCONNECTED_NOTE)
    return True
