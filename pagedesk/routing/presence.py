"""An agent's presence: routing owns it because routing is what acts on it. Available takes queued
customers at once, Offline hands her conversations back, wrap-up and the disconnect grace period set
it by themselves (docs/decisions/layers.md)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from pagedesk.accounts.models import BreakReason, Presence, PresenceChange, User
from pagedesk.core import clock, metrics
from pagedesk.core.errors import ApplicationError
from pagedesk.realtime import groups
from pagedesk.realtime.events import AgentStatusChanged
from pagedesk.realtime.publish import publish
from pagedesk.routing.services import agent_presence_changed


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
