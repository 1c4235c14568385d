"""Closing a conversation (disposition rules), and the wrap-up the agent enters after it: started
on close, ended by its timer.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from pagedesk.accounts.models import Presence, User
from pagedesk.campaigns.models import Campaign, Disposition
from pagedesk.conversations.models import Conversation, ConversationState
from pagedesk.core import clock
from pagedesk.core.db import lock_objects
from pagedesk.core.errors import ApplicationError
from pagedesk.routing.models import Transfer, TransferState
from pagedesk.routing.services.audiences import _publish_closed
from pagedesk.routing.services.dispatch import agent_redispatch
from pagedesk.routing.services.presence import presence_set
from pagedesk.routing.services.primitives import (
    ASSIGNED,
    _after_commit,
    _bump,
    _check_actor,
    _event,
    _lock_conversation,
    _require_state,
    _timer_run_after,
)


def conversation_close(
    *, conversation: Conversation, agent: User, disposition: Disposition | None = None
) -> Conversation:
    """Close an assigned conversation. A disposition is required when the campaign defines any.

    The agent then enters wrap-up for the campaign's wrap-up seconds (when they were Available); a
    timer ends it. A customer message afterwards opens a new conversation (ingest's rule).
    """
    with transaction.atomic():
        locked = _lock_conversation(conversation.pk)
        campaign = locked.campaign
        # An integration also closes what its bot is handling (state bot: no agent, so no wrap-up).
        _require_state(locked, ASSIGNED, *((ConversationState.BOT,) if agent.is_integration else ()))
        _check_actor(locked, agent)
        _check_disposition(campaign, disposition)
        now = clock.now()
        owner_id = locked.agent_id
        _bump(locked, state=ConversationState.CLOSED, closed_at=now, closed_by=agent, disposition=disposition)
        Transfer.objects.filter(conversation=locked, state=TransferState.PENDING).update(
            state=TransferState.ACCEPTED, resolved_at=now
        )
        _event(locked, "closed", actor=agent, disposition_id=disposition.pk if disposition else None)
        _publish_closed(campaign, locked, agent_id=owner_id)
        wrapping = owner_id is not None and _start_wrap_up(
            owner_id, seconds=campaign.wrap_up_seconds, now=now
        )
        if owner_id is not None and not wrapping:
            _after_commit(lambda: agent_redispatch(agent_id=owner_id))
    return locked


def _check_disposition(campaign: Campaign, disposition: Disposition | None) -> None:
    if disposition is None:
        if Disposition.objects.filter(campaign=campaign).exists():
            raise ApplicationError(
                "disposition_required",
                _("Choose a disposition to close this conversation."),
                field="disposition",
            )
        return
    if disposition.campaign_id != campaign.pk:
        raise ApplicationError(
            "invalid_disposition", _("That disposition belongs to another campaign."), field="disposition"
        )
    if disposition.children.exists():
        raise ApplicationError(
            "disposition_too_general",
            _("“%(name)s” has sub-dispositions; choose one of them.") % {"name": disposition.name},
            field="disposition",
        )


def _start_wrap_up(agent_id: int, *, seconds: int, now: dt.datetime) -> bool:
    """Put the agent in wrap-up until now + seconds; True when they are in wrap-up afterwards.

    Only an Available agent (or one already wrapping up, whose wrap-up is extended) enters wrap-up:
    an agent who closes a conversation while on Break or Offline stays there.
    """
    if seconds <= 0:
        return False

    (agent,) = lock_objects(User.objects.filter(pk=agent_id))
    if agent.presence not in (Presence.AVAILABLE, Presence.WRAP_UP):
        return False
    until = now + dt.timedelta(seconds=seconds)
    if agent.presence != Presence.WRAP_UP:
        presence_set(agent=agent, presence=Presence.WRAP_UP, note="wrap-up")
    if agent.wrap_up_until is None or agent.wrap_up_until < until:
        User.objects.filter(pk=agent_id).update(wrap_up_until=until)
    from pagedesk.routing.tasks import wrap_up_end  # lazy (task): routing.tasks imports these services

    wrap_up_end.using(run_after=until).enqueue(agent_id=agent_id)
    return True


def agent_wrap_up_end(*, agent_id: int) -> bool:
    """End an agent's wrap-up when it is due (the timer's body); True when it ended.

    Re-checks under the lock: a later close may have extended it, or the agent may have picked
    another presence meanwhile.
    """
    from pagedesk.routing.tasks import wrap_up_end  # lazy (task): routing.tasks imports these services

    with transaction.atomic():
        locked = lock_objects(User.objects.filter(pk=agent_id))
        if not locked:
            return False
        agent = locked[0]
        if agent.presence != Presence.WRAP_UP:
            return False
        if agent.wrap_up_until is not None and agent.wrap_up_until > clock.now():
            wrap_up_end.using(run_after=_timer_run_after(agent.wrap_up_until)).enqueue(agent_id=agent_id)
            return False
        # presence_set's hook re-dispatches after commit.
        presence_set(agent=agent, presence=Presence.AVAILABLE, note="wrap-up ended")
    return True
