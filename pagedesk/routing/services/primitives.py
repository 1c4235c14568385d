"""The steps every routing write is built from: lock a conversation, check who acts on it and in
which state, bump its version, record its timeline entry, count agents' loads under their locks,
defer follow-ups until after commit, and when a re-armed timer should run.

Lock order for all of routing: see the package docstring (pagedesk/routing/services/__init__.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext as _

from pagedesk.accounts.models import User
from pagedesk.conversations.models import Conversation, ConversationEvent, ConversationState
from pagedesk.core import clock
from pagedesk.core.errors import ApplicationError, NotFound, PermissionDenied

QUEUED = ConversationState.QUEUED


ASSIGNED = ConversationState.ASSIGNED


def _after_commit(func: Callable[[], object]) -> None:
    # robust: a failing follow-up (a dispatch, a publish) is logged and never undoes the committed
    # change; the minute reconciliation catches up whatever it left behind.
    transaction.on_commit(func, robust=True)


def _event(conversation: Conversation, kind: str, *, actor: User | None = None, **data: Any) -> None:
    ConversationEvent.objects.create(
        conversation=conversation, kind=kind, actor=actor, at=clock.now(), data=data
    )


def _timer_run_after(due: dt.datetime) -> dt.datetime:
    """When a timer re-armed for `due` (a pagedesk.core.clock time) should run.

    The worker compares run_after with the real time, while `due` is on routing's clock, which tests
    and the simulator may freeze: re-armed at `due` itself, a timer whose clock is frozen in the past
    would run at once, find itself not due by that clock and re-arm for the same past time, for ever.
    Real time plus the wait still left runs it when it is due on a clock that moves, and at most once
    per wait on one that does not.
    """
    return dt.datetime.now(dt.UTC) + max(due - clock.now(), dt.timedelta(0))


def _bump(conversation: Conversation, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(conversation, name, value)
    conversation.version += 1
    conversation.save(update_fields=[*fields, "version"])


def _lock_conversation(conversation_id: int) -> Conversation:
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("campaign", "contact")
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        raise NotFound("not_found", _("There is no conversation with that id."))
    return conversation


def _load_counts(agent_ids: Iterable[int]) -> dict[int, int]:
    """Open assignments per agent, across all campaigns. Caller holds the agents' row locks."""
    rows = (
        Conversation.objects.filter(agent_id__in=list(agent_ids), state=ASSIGNED)
        .values("agent_id")
        .annotate(n=Count("id"))
        .values_list("agent_id", "n")
    )
    return dict(rows)


def _check_actor(conversation: Conversation, by: User) -> None:
    """The assigned agent acts on their own conversation; admins and the campaign's supervisors on any;
    an integration on any of its campaigns' (issue 15: a CRM or a bot closes what it finished)."""
    if by.is_admin:
        return
    if by.is_integration:
        if conversation.campaign.integrations.filter(user=by, revoked_at__isnull=True).exists():
            return
        raise PermissionDenied("not_your_conversation", _("This conversation is not in your campaigns."))
    if by.is_supervisor and conversation.campaign.supervisors.filter(pk=by.pk).exists():
        return
    if conversation.agent_id != by.pk:
        raise PermissionDenied("not_your_conversation", _("This conversation is assigned to someone else."))


def _require_state(conversation: Conversation, *states: str) -> None:
    if conversation.state not in states:
        raise ApplicationError(
            "wrong_state",
            _("The conversation is %(state)s; refresh to see its current state.")
            % {"state": conversation.get_state_display().lower()},
            status=409,
        )
