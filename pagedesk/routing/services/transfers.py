"""Transfers: to another member of the campaign, to another campaign's queue, and the timeout that
returns a ringall transfer nobody took to its sender (or the source queue).

Lock order: see the package docstring (pagedesk/routing/services/__init__.py).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from pagedesk.accounts.models import Presence, User
from pagedesk.campaigns.models import Campaign, Membership, Strategy
from pagedesk.conversations.models import Conversation
from pagedesk.core import clock
from pagedesk.core.db import lock_objects
from pagedesk.core.errors import ApplicationError, NotFound
from pagedesk.realtime.events import ConversationQueued, ConversationTransferred
from pagedesk.realtime.publish import publish
from pagedesk.routing.models import Transfer, TransferState
from pagedesk.routing.services.assignment import _assign, _require_capacity
from pagedesk.routing.services.audiences import _audience, _publish, _publish_queue_changed
from pagedesk.routing.services.dispatch import _queue_grew, agent_redispatch
from pagedesk.routing.services.primitives import (
    ASSIGNED,
    QUEUED,
    _after_commit,
    _bump,
    _check_actor,
    _event,
    _load_counts,
    _lock_conversation,
    _require_state,
    _timer_run_after,
)
from pagedesk.routing.services.requeue import _requeue_front


def conversation_transfer_to_agent(
    *, conversation: Conversation, to_agent: User, by: User, note: str = ""
) -> Conversation:
    """Hand an assigned conversation to another member who is Available and has a free slot."""
    note = note.strip()[:1000]
    with transaction.atomic():
        locked = _lock_conversation(conversation.pk)
        campaign = locked.campaign
        _require_state(locked, ASSIGNED)
        _check_actor(locked, by)
        if to_agent.pk == locked.agent_id:
            raise ApplicationError(
                "same_agent", _("The conversation is already with %(name)s.") % {"name": to_agent.name}
            )
        if not Membership.objects.filter(campaign=campaign, agent_id=to_agent.pk).exists():
            raise ApplicationError(
                "not_a_member",
                _("%(name)s is not a member of “%(campaign)s”.")
                % {"name": to_agent.name, "campaign": campaign.name},
                status=409,
            )
        from_agent_id = locked.agent_id
        agents = {a.pk: a for a in lock_objects(User.objects.filter(pk__in=[from_agent_id, to_agent.pk]))}
        target = agents[to_agent.pk]
        _require_capacity(target, campaign=campaign, you=False)
        locked.transfer_note = note
        locked.transferred_by = by
        locked.save(update_fields=["transfer_note", "transferred_by"])
        Transfer.objects.create(
            conversation=locked,
            from_agent_id=from_agent_id,
            from_campaign=campaign,
            to_campaign=campaign,
            to_agent=target,
            note=note,
            state=TransferState.ACCEPTED,
            resolved_at=clock.now(),
        )
        _event(locked, "transferred", actor=by, from_agent_id=from_agent_id, to_agent_id=target.pk, note=note)
        transferred = ConversationTransferred(
            conversation_id=locked.pk,
            from_campaign_id=campaign.pk,
            to_campaign_id=campaign.pk,
            from_agent_id=from_agent_id,
            to_agent_id=target.pk,
            note=note,
            version=locked.version + 1,
        )
        _publish(campaign, transferred, from_agent_id, target.pk)
        # Assigned before and after: the queue's length did not change.
        _assign(locked, campaign=campaign, agent=target, how="transferred", actor=by, queue_event=False)
        if from_agent_id is not None:
            _after_commit(lambda: agent_redispatch(agent_id=from_agent_id))
    return locked


def conversation_transfer_to_campaign(
    *, conversation: Conversation, campaign: Campaign, by: User, note: str = ""
) -> Conversation:
    """Move a conversation into another campaign's queue (at its back), with a note for the receiver.

    When the target is ringall and has a transfer timeout, a transfer nobody takes in time returns to
    the sender (transfer_timeout_expire).
    """
    from pagedesk.routing.tasks import transfer_timeout  # lazy (task): routing.tasks imports these services

    note = note.strip()[:1000]
    with transaction.atomic():
        locked = _lock_conversation(conversation.pk)
        source = locked.campaign
        _require_state(locked, ASSIGNED, QUEUED)
        _check_actor(locked, by)
        target = Campaign.objects.filter(pk=campaign.pk).first()
        if target is None:
            raise NotFound("not_found", _("There is no campaign with that id."))
        if target.pk == source.pk:
            raise ApplicationError(
                "same_campaign", _("The conversation is already in “%(name)s”.") % {"name": target.name}
            )
        if not target.enabled:
            raise ApplicationError(
                "campaign_disabled",
                _("“%(name)s” is disabled and routes nothing.") % {"name": target.name},
                status=409,
            )
        if Conversation.objects.filter(
            campaign=target, contact_id=locked.contact_id, state__in=[QUEUED, ASSIGNED]
        ).exists():
            raise ApplicationError(
                "contact_busy_in_target",
                _("This customer already has an open conversation in “%(name)s”.") % {"name": target.name},
                status=409,
            )
        from_agent_id = locked.agent_id
        left_source_queue = locked.state == QUEUED
        now = clock.now()
        _bump(
            locked,
            campaign=target,
            state=QUEUED,
            agent=None,
            queue_order=now,
            transfer_note=note,
            transferred_by=by,
        )
        transfer = Transfer.objects.create(
            conversation=locked,
            from_agent_id=from_agent_id,
            from_campaign=source,
            to_campaign=target,
            note=note,
            created_at=now,
        )
        _event(
            locked,
            "transferred",
            actor=by,
            from_agent_id=from_agent_id,
            from_campaign_id=source.pk,
            to_campaign_id=target.pk,
            note=note,
        )
        transferred = ConversationTransferred(
            conversation_id=locked.pk,
            from_campaign_id=source.pk,
            to_campaign_id=target.pk,
            from_agent_id=from_agent_id,
            note=note,
            version=locked.version,
        )
        # One event for both campaigns' audiences: published once per campaign it reached a socket in
        # both groups twice and an outbound webhook registered for both campaigns twice (two ids).
        publish(transferred, to=[*_audience(source, from_agent_id), *_audience(target)])
        _publish(
            target,
            ConversationQueued(
                conversation_id=locked.pk, campaign_id=target.pk, version=locked.version, reason="transferred"
            ),
        )
        if left_source_queue:  # an assigned conversation leaves no queue shorter
            _publish_queue_changed(source)
        _queue_grew(target)
        if target.strategy == Strategy.RINGALL and target.transfer_timeout_seconds and from_agent_id:
            transfer_timeout.using(
                run_after=now + dt.timedelta(seconds=target.transfer_timeout_seconds)
            ).enqueue(transfer_id=transfer.pk)
        if from_agent_id is not None:
            _after_commit(lambda: agent_redispatch(agent_id=from_agent_id))
    return locked


def transfer_timeout_expire(*, transfer_id: int) -> bool:
    """Return an unaccepted ringall transfer to its sender; True when it was returned.

    Back to the sender when they still have a free slot in the source campaign and are not Offline
    (Available is not required: it was theirs a moment ago, like conversations kept through a
    break); otherwise to the front of the source campaign's queue, so it is never stranded.
    """
    from pagedesk.routing.tasks import transfer_timeout  # lazy (task): routing.tasks imports these services

    with transaction.atomic():
        transfer = Transfer.objects.select_for_update().filter(pk=transfer_id).first()
        if transfer is None or transfer.state != TransferState.PENDING:
            return False
        conversation = _lock_conversation(transfer.conversation_id)
        now = clock.now()
        if conversation.state != QUEUED or conversation.campaign_id != transfer.to_campaign_id:
            transfer.state, transfer.resolved_at = TransferState.ACCEPTED, now
            transfer.save(update_fields=["state", "resolved_at"])
            return False
        due = transfer.created_at + dt.timedelta(seconds=conversation.campaign.transfer_timeout_seconds)
        if due > now:
            transfer_timeout.using(run_after=_timer_run_after(due)).enqueue(transfer_id=transfer.pk)
            return False
        source = Campaign.objects.get(pk=transfer.from_campaign_id)
        target = conversation.campaign
        if Conversation.objects.filter(
            campaign=source, contact_id=conversation.contact_id, state__in=[QUEUED, ASSIGNED]
        ).exists():
            # The customer wrote again meanwhile and has a new conversation in the source campaign;
            # this one stays where it is rather than clash with it.
            return False
        transfer.state, transfer.resolved_at = TransferState.RETURNED, now
        transfer.save(update_fields=["state", "resolved_at"])
        _event(
            conversation, "transfer_returned", from_campaign_id=target.pk, to_agent_id=transfer.from_agent_id
        )
        sender = None
        if (
            transfer.from_agent_id
            and Membership.objects.filter(campaign=source, agent_id=transfer.from_agent_id).exists()
        ):
            (sender,) = lock_objects(User.objects.filter(pk=transfer.from_agent_id))
            # An Offline or deactivated sender answers nobody (issue 12): the queue serves it instead.
            if (
                sender.presence == Presence.OFFLINE
                or not sender.is_active
                or _load_counts([sender.pk]).get(sender.pk, 0) >= source.max_interactions_per_agent
            ):
                sender = None
        if sender is not None:
            # It was queued in the target, not the source: only the target's length changes.
            _assign(conversation, campaign=source, agent=sender, how="transfer_returned", queue_event=False)
        else:
            _requeue_front(conversation, campaign=source, reason="transfer_returned")
            _queue_grew(source)
        # The target's members saw it waiting in their Pending list; nothing else tells them it left.
        _publish_queue_changed(target, members=True)
    return True
