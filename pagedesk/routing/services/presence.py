"""An agent's presence, which routing owns because routing is what acts on it: `presence_set` (the
only writer of presence), and its reactions: Available dispatches to her, Offline returns her
conversations to the queue; and her websockets, whose last close sets her Offline after a grace
period (docs/decisions/layers.md).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from pagedesk.accounts.models import BreakReason, Presence, PresenceChange, User
from pagedesk.core import clock, metrics
from pagedesk.core.errors import ApplicationError
from pagedesk.realtime import groups
from pagedesk.realtime.events import AgentStatusChanged
from pagedesk.realtime.publish import publish
from pagedesk.routing.models import AgentConnection
from pagedesk.routing.services.dispatch import agent_redispatch
from pagedesk.routing.services.requeue import ReturnReason, agent_conversations_requeue

# presence_set's note for the grace timer's Offline; the hook tells that cause apart by it.
DISCONNECTED_NOTE = "disconnected"


def presence_set(
    *,
    agent: User,
    presence: str,
    break_reason: BreakReason | None = None,
    changed_by: User | None = None,
    note: str = "",
) -> User:
    """Change an agent's presence, record the change and tell the agent and their supervisors.

    Break needs a reason from the admin's list; any other presence clears it. Setting the same
    presence (and reason) again is a no-op, so the board's "time in status" is not reset by a
    double click.
    """
    if presence not in Presence.values:
        raise ApplicationError(
            "invalid_presence",
            _("Presence must be one of: %(values)s.") % {"values": ", ".join(Presence.values)},
            field="presence",
        )
    if not agent.is_agent:
        raise ApplicationError("not_an_agent", _("Only agents have a presence."), status=409)
    if presence == Presence.BREAK:
        if break_reason is None:
            raise ApplicationError(
                "break_reason_required", _("Choose a reason for the break."), field="break_reason"
            )
        if not break_reason.active:
            raise ApplicationError(
                "break_reason_inactive", _("That break reason is no longer offered."), field="break_reason"
            )
    else:
        break_reason = None

    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=agent.pk)
        if locked.presence == presence and locked.break_reason_id == (
            break_reason.pk if break_reason else None
        ):
            return locked
        now = clock.now()
        locked.presence = presence
        locked.break_reason = break_reason
        locked.presence_changed_at = now
        if presence != Presence.WRAP_UP:
            locked.wrap_up_until = None
        locked.save(update_fields=["presence", "break_reason", "presence_changed_at", "wrap_up_until"])
        PresenceChange.objects.create(
            agent=locked,
            presence=presence,
            break_reason=break_reason,
            changed_at=now,
            changed_by=changed_by,
            note=note,
        )
        campaign_ids = list(locked.memberships.values_list("campaign_id", flat=True))
        publish(
            AgentStatusChanged(
                agent_id=locked.pk,
                presence=presence,
                break_reason=break_reason.name if break_reason else None,
                changed_at=now.isoformat(),
            ),
            to=[groups.agent(locked.pk), *(groups.supervisors(cid) for cid in campaign_ids)],
        )
        # An agent who becomes Available takes queued customers at once (issue 5); one who becomes
        # Offline hands hers back to the queue (issue 12). After commit, in routing's own short
        # transactions: routing locks conversations before agents, and this one holds the agent.
        agent_id, by_id = locked.pk, changed_by.pk if changed_by else None
        transaction.on_commit(
            lambda: agent_presence_changed(
                agent_id=agent_id, presence=presence, changed_by_id=by_id, note=note
            ),
            robust=True,
        )
    metrics.presence_changes.labels(presence=presence).inc()
    # The caller's instance sees the change too, without reading back the row we just wrote.
    for field in ("presence", "break_reason", "presence_changed_at", "wrap_up_until"):
        setattr(agent, field, getattr(locked, field))
    return locked


def agent_presence_changed(
    *, agent_id: int, presence: str, changed_by_id: int | None = None, note: str = ""
) -> None:
    """Hook for presence_set (after commit): an agent who becomes Available may
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
