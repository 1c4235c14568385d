"""Routing reads for the inbox and the supervisor board (docs/architecture.md §3 display status, §5 alarms).

Constant query counts: each function issues a fixed number of queries whatever the queue length.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from pagedesk.accounts.models import User
from pagedesk.accounts.selectors import display_status
from pagedesk.campaigns.models import Campaign, Membership, Strategy
from pagedesk.conversations.models import Conversation, ConversationState, Message
from pagedesk.core import clock
from pagedesk.core.errors import NotFound, PermissionDenied
from pagedesk.routing.models import Assignment


def queue_list_for_campaign(*, campaign: Campaign) -> QuerySet[Conversation]:
    """The campaign's queue, FIFO (head first), with contacts joined."""
    return (
        Conversation.objects.filter(campaign=campaign, state=ConversationState.QUEUED)
        .select_related("contact")
        .order_by("queue_order", "pk")
    )


def queue_list_for_agent(*, agent: User) -> QuerySet[Conversation]:
    """What an agent may Take: the queues of the enabled ringall campaigns they are a member of.

    A disabled campaign's conversations are recorded but never shown to agents.
    """
    return (
        Conversation.objects.filter(
            state=ConversationState.QUEUED,
            campaign__enabled=True,
            campaign__strategy=Strategy.RINGALL,
            campaign__memberships__agent=agent,
        )
        .select_related("contact", "campaign")
        .order_by("queue_order", "pk")
    )


def conversation_list_for_agent(*, agent: User) -> QuerySet[Conversation]:
    """The agent's open assignments, oldest assignment first."""
    return (
        Conversation.objects.filter(agent=agent, state=ConversationState.ASSIGNED)
        .select_related("contact", "campaign")
        .order_by("assigned_at", "pk")
    )


def agent_loads(*, agent_ids: list[int]) -> dict[int, int]:
    """Open assignments per agent (all campaigns); agents with none are present with 0."""
    rows = dict(
        Conversation.objects.filter(agent_id__in=agent_ids, state=ConversationState.ASSIGNED)
        .values("agent_id")
        .annotate(n=Count("id"))
        .values_list("agent_id", "n")
    )
    return {agent_id: rows.get(agent_id, 0) for agent_id in agent_ids}


@dataclass(frozen=True)
class AgentRow:
    agent: User
    position: int
    load: int
    max_load: int
    status: str  # DisplayStatus value

    @property
    def free_slots(self) -> int:
        return max(0, self.max_load - self.load)


def agent_rows_for_campaign(*, campaign: Campaign) -> list[AgentRow]:
    """The campaign's members in member order with their load and display status (2 queries)."""
    memberships = list(
        Membership.objects.filter(campaign=campaign)
        .select_related("agent", "agent__break_reason")
        .order_by("position", "agent_id")
    )
    loads = agent_loads(agent_ids=[m.agent_id for m in memberships])
    max_load = campaign.max_interactions_per_agent
    return [
        AgentRow(
            agent=m.agent,
            position=m.position,
            load=loads[m.agent_id],
            max_load=max_load,
            status=display_status(presence=m.agent.presence, load=loads[m.agent_id], max_load=max_load),
        )
        for m in memberships
    ]


@dataclass(frozen=True)
class Alarms:
    """The board's alarms (docs/architecture.md §5). Ids, so the board can highlight rows."""

    queue_length: int
    acd: bool  # queue length ≥ ACD threshold
    chat_time_conversation_ids: list[int] = field(default_factory=list)  # assigned longer than the threshold
    sl_conversation_ids: list[int] = field(default_factory=list)  # queued longer than the SL threshold

    @property
    def any(self) -> bool:
        return self.acd or bool(self.chat_time_conversation_ids) or bool(self.sl_conversation_ids)


def alarms(*, campaign: Campaign, at: dt.datetime | None = None) -> Alarms:
    """Current alarms for a campaign (3 queries). Chat time counts from the (first) assignment."""
    now = at or clock.now()
    queued = Conversation.objects.filter(campaign=campaign, state=ConversationState.QUEUED)
    queue_length = queued.count()
    sl_ids = list(
        queued.filter(queued_at__lte=now - dt.timedelta(seconds=campaign.sl_threshold_seconds))
        .order_by("queue_order", "pk")
        .values_list("pk", flat=True)
    )
    chat_ids = list(
        Conversation.objects.filter(
            campaign=campaign,
            state=ConversationState.ASSIGNED,
            assigned_at__lte=now - dt.timedelta(seconds=campaign.chat_time_threshold_seconds),
        )
        .order_by("assigned_at", "pk")
        .values_list("pk", flat=True)
    )
    return Alarms(
        queue_length=queue_length,
        acd=queue_length >= campaign.acd_threshold,
        chat_time_conversation_ids=chat_ids,
        sl_conversation_ids=sl_ids,
    )


# --- Who may read which conversation (recordings, the board's actions) -------------------------------


def took_part(*, agent_id: int) -> Q:
    """Conversations the agent took part in: assigned to them now, handed to them at any time (routed,
    taken, transferred; a transfer moves `agent` on, so only routing's Assignment rows remember), or
    written in by them. Each EXISTS is one seek per conversation in an (agent, conversation) index."""
    return (
        Q(agent_id=agent_id)
        | Exists(Assignment.objects.filter(agent_id=agent_id, conversation_id=OuterRef("pk")))
        | Exists(Message.objects.filter(author_id=agent_id, conversation_id=OuterRef("pk")))
    )


def conversation_scope_for_user(*, user: User) -> QuerySet[Conversation]:
    """Admins: every conversation. Supervisors: those of campaigns they supervise. Integrations: those
    of their campaigns (campaigns.Integration.campaigns), whoever took part. Agents: those they took
    part in (`took_part`), so one passed on by a transfer stays in their recordings."""
    conversations = Conversation.objects.all()
    if user.is_admin:
        return conversations
    if user.is_integration:
        # Every conversation of its campaigns while it is not revoked (issue 15); checked before the
        # agent rule, so having written in a campaign since taken from it gives no access.
        return conversations.filter(
            campaign__integrations__user=user, campaign__integrations__revoked_at__isnull=True
        )
    if user.is_supervisor:
        return conversations.filter(campaign_id__in=Campaign.objects.filter(supervisors=user).values("pk"))
    return conversations.filter(took_part(agent_id=user.pk))


def conversation_get_for_user(*, user: User, conversation_id: int) -> Conversation:
    """A conversation `user` may read; 403 when it exists outside their scope, 404 when it does not.

    An integration gets 404 for both: it is another system, and must not learn which ids exist in the
    campaigns it was not given."""
    conversation = (
        conversation_scope_for_user(user=user)
        .select_related("campaign", "contact", "agent", "disposition", "disposition__parent", "closed_by")
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        # An integration is told nothing of other campaigns, not even that an id exists there.
        if not user.is_integration and Conversation.objects.filter(pk=conversation_id).exists():
            raise PermissionDenied("forbidden", _("You cannot see this conversation."))
        raise NotFound("not_found", _("There is no conversation with id %(id)s.") % {"id": conversation_id})
    return conversation
