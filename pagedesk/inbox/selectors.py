"""Reads for the agent inbox: who may open what, the lists on the left and the open conversation.

Every function issues a fixed number of queries whatever the number of conversations or messages
(tests/integration/inbox/test_inbox_queries.py asserts the bounds with 50 conversations and 2,000
messages).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from pagedesk.accounts.models import Presence, User
from pagedesk.campaigns.models import Campaign, CannedResponse, Disposition, Membership, Strategy
from pagedesk.conversations.models import (
    Attachment,
    Contact,
    Conversation,
    ConversationState,
    Direction,
    Message,
    SenderType,
)
from pagedesk.conversations.thread import thread_owner_label
from pagedesk.conversations.window import WindowMode, messaging_window, window_closed_reason
from pagedesk.core.errors import NotFound, PermissionDenied
from pagedesk.inbox.models import ReadState
from pagedesk.messenger.send import page_send_readiness
from pagedesk.routing.models import Assignment
from pagedesk.routing.selectors import agent_loads

PAGE_SIZE = 40
HISTORY_PAGE_SIZE = 30
EARLIER_CONVERSATIONS = 20
# What the agent finished: the History tab.
HISTORY_STATES = (ConversationState.CLOSED,)


# --- who may open what ----------------------------------------------------------------------------


def _member_campaign_ids(agent: User) -> QuerySet[Membership, Any]:
    return Membership.objects.filter(agent=agent).values("campaign_id")


def conversation_scope_for_agent(*, agent: User) -> QuerySet[Conversation]:
    """Conversations an agent may open: assigned to them, pending (queued) in an enabled campaign they
    are a member of, or closed by/with them (History, read-only)."""
    return Conversation.objects.filter(
        Q(agent=agent, state=ConversationState.ASSIGNED)
        | Q(
            state=ConversationState.QUEUED,
            campaign__enabled=True,
            campaign_id__in=_member_campaign_ids(agent),
        )
        | Q(agent=agent, state__in=HISTORY_STATES)
    )


def conversation_get_for_agent(*, agent: User, conversation_id: int, act: bool = False) -> Conversation:
    """A conversation the agent may open (act=True: may act on, i.e. assigned to them).

    403 when it exists outside their scope, 404 when it does not exist.
    """
    scope = (
        Conversation.objects.filter(agent=agent, state=ConversationState.ASSIGNED)
        if act
        else conversation_scope_for_agent(agent=agent)
    )
    conversation = (
        scope.select_related(
            "campaign",
            "campaign__page_connection",
            "contact",
            "agent",
            "transferred_by",
            "disposition",
            "disposition__parent",
            "closed_by",
        )
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        if act and conversation_visible_to_agent(agent=agent, conversation_id=conversation_id):
            raise PermissionDenied(
                "not_your_conversation",
                _("This conversation is not assigned to you (any more); refresh to see where it is."),
            )
        raise _conversation_not_found()
    return conversation


def _conversation_not_found() -> NotFound:
    # One answer for what does not exist and what the agent may not see, so an id tells nothing (issue 13).
    return NotFound("not_found", _("There is no such conversation, or it is not yours to open."))


def conversation_visible_to_agent(*, agent: User, conversation_id: int) -> bool:
    return conversation_scope_for_agent(agent=agent).filter(pk=conversation_id).exists()


def conversation_get_for_take(*, agent: User, conversation_id: int) -> Conversation:
    """A conversation of one of the agent's campaigns, for Take: routing's conversation_take checks state
    under its lock, so a member's second click gets "already taken" (409). Another campaign's is not
    found, as one that does not exist: its state and campaign are not the agent's to learn."""
    conversation = (
        Conversation.objects.select_related("campaign")
        .filter(pk=conversation_id, campaign__memberships__agent=agent)
        .first()
    )
    if conversation is None:
        raise _conversation_not_found()
    return conversation


def attachment_get_for_agent(*, agent: User, attachment_id: int) -> Attachment:
    """An attachment from the history of a contact the agent may currently see (the open thread shows
    every earlier conversation with that contact)."""
    attachment = Attachment.objects.select_related("message__conversation").filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound("not_found", _("There is no attachment with id %(id)s.") % {"id": attachment_id})
    contact_id = attachment.message.conversation.contact_id
    if not conversation_scope_for_agent(agent=agent).filter(contact_id=contact_id).exists():
        raise NotFound("not_found", _("There is no attachment with id %(id)s.") % {"id": attachment_id})
    return attachment


# --- the lists on the left ------------------------------------------------------------------------


def _with_previews(conversations: QuerySet[Conversation], *, agent: User) -> QuerySet[Conversation]:
    """Annotate the last message (text, kind, direction) and the agent's unread inbound count."""
    last = Message.objects.filter(conversation=OuterRef("pk")).order_by("-created_at", "-id")
    read = ReadState.objects.filter(agent=agent, conversation=OuterRef("pk")).values("last_read_message_id")[
        :1
    ]
    unread = (
        Message.objects.filter(
            conversation=OuterRef("pk"), direction=Direction.IN, id__gt=OuterRef("last_read")
        )
        .order_by()
        .values("conversation")
        .annotate(n=Count("id"))
        .values("n")[:1]
    )
    return conversations.annotate(
        last_text=Subquery(last.values("text")[:1]),
        last_kind=Subquery(last.values("kind")[:1]),
        last_direction=Subquery(last.values("direction")[:1]),
        last_sender_type=Subquery(last.values("sender_type")[:1]),
        last_author_id=Subquery(last.values("author_id")[:1]),
        last_read=Coalesce(Subquery(read), Value(0), output_field=IntegerField()),
    ).annotate(unread=Coalesce(Subquery(unread, output_field=IntegerField()), Value(0)))


def _name_authors(conversations: list[Conversation], *, agent: User) -> list[Conversation]:
    """Who wrote each preview's last message, as the viewer should read it: "You" only for the viewer's
    own messages; a colleague's (before a transfer, or a supervisor's) by name; the page's or the
    system's by what they are. One query, only when some colleague wrote a last message."""
    authors = {getattr(c, "last_author_id", None) for c in conversations} - {None, agent.pk}
    names = {u.pk: u.name for u in User.objects.filter(pk__in=authors)} if authors else {}
    for c in conversations:
        author_id = getattr(c, "last_author_id", None)
        sender = getattr(c, "last_sender_type", "")
        if getattr(c, "last_direction", "") != Direction.OUT:
            label = ""
        elif author_id == agent.pk:
            label = _("You")
        elif author_id in names:
            label = names[author_id]
        elif sender == SenderType.AGENT:
            label = _("Agent")
        else:
            label = str(SenderType(sender).label) if sender in SenderType.values else ""
        c.last_author_label = label  # type: ignore[attr-defined]
    return conversations


@dataclass(frozen=True)
class InboxLists:
    active: list[Conversation]
    pending: list[Conversation]

    @property
    def unread_total(self) -> int:
        return sum(int(getattr(c, "unread", 0) or 0) for c in self.active)


def inbox_lists(*, agent: User) -> InboxLists:
    """Active (mine, oldest assignment first) and Pending (ringall queues, FIFO); two queries."""
    active = _with_previews(
        Conversation.objects.filter(agent=agent, state=ConversationState.ASSIGNED)
        .select_related("contact", "campaign")
        .order_by("assigned_at", "pk"),
        agent=agent,
    )
    pending = _with_previews(
        Conversation.objects.filter(
            state=ConversationState.QUEUED,
            campaign__enabled=True,
            campaign__strategy=Strategy.RINGALL,
            campaign_id__in=_member_campaign_ids(agent),
        )
        .select_related("contact", "campaign")
        .order_by("queue_order", "pk"),
        agent=agent,
    )
    active_rows, pending_rows = list(active[:200]), list(pending[:200])
    _name_authors(active_rows + pending_rows, agent=agent)
    return InboxLists(active=active_rows, pending=pending_rows)


def history_list(*, agent: User, query: str = "", offset: int = 0) -> tuple[list[Conversation], bool]:
    """The agent's closed conversations, newest first, searched by customer or campaign name; one query."""
    conversations = Conversation.objects.filter(agent=agent, state__in=HISTORY_STATES)
    for word in query.split()[:5]:
        conversations = conversations.filter(
            Q(contact__first_name__icontains=word)
            | Q(contact__last_name__icontains=word)
            | Q(campaign__name__icontains=word)
            | Q(contact__psid__endswith=word)
        )
    rows = list(
        _with_previews(
            conversations.select_related(
                "contact", "campaign", "disposition", "disposition__parent", "closed_by"
            ).order_by("-closed_at", "-pk"),
            agent=agent,
        )[offset : offset + HISTORY_PAGE_SIZE + 1]
    )
    return _name_authors(rows[:HISTORY_PAGE_SIZE], agent=agent), len(rows) > HISTORY_PAGE_SIZE


# --- the open conversation ------------------------------------------------------------------------


def _messages(conversation_ids: list[int]) -> QuerySet[Message]:
    return (
        Message.objects.filter(conversation_id__in=conversation_ids)
        .select_related("author")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("pk")))
    )


def thread_page(
    *, conversation: Conversation, before_id: int | None = None, limit: int = PAGE_SIZE
) -> tuple[list[Message], bool]:
    """Up to `limit` messages of the conversation ending before message `before_id` (or the newest),
    oldest first, and whether earlier ones exist. Three queries (four with before_id)."""
    messages = _messages([conversation.pk])
    if before_id is not None:
        anchor = Message.objects.filter(pk=before_id, conversation=conversation).values("created_at").first()
        if anchor is None:
            return [], False
        messages = messages.filter(
            Q(created_at__lt=anchor["created_at"]) | Q(created_at=anchor["created_at"], pk__lt=before_id)
        )
    rows = list(messages.order_by("-created_at", "-pk")[: limit + 1])
    has_more = len(rows) > limit
    return list(reversed(rows[:limit])), has_more


def messages_after(*, conversation: Conversation, after_id: int) -> list[Message]:
    """Messages newer than the one the page shows last (a live insert or a reconnect); bounded."""
    return list(_messages([conversation.pk]).filter(pk__gt=after_id).order_by("created_at", "pk")[:200])


def message_get_in(*, conversation: Conversation, message_id: int) -> Message:
    message = _messages([conversation.pk]).filter(pk=message_id).first()
    if message is None:
        raise NotFound("not_found", _("There is no message with id %(id)s here.") % {"id": message_id})
    return message


def earlier_conversations(*, conversation: Conversation) -> list[Conversation]:
    """The contact's earlier conversations (any campaign of the same page), newest first, with message
    counts; shown collapsed above the thread. One query."""
    return list(
        Conversation.objects.filter(
            contact_id=conversation.contact_id, created_at__lte=conversation.created_at
        )
        .exclude(pk=conversation.pk)
        .select_related("campaign", "agent", "disposition")
        .annotate(message_count=Count("messages"))
        .order_by("-created_at", "-pk")[:EARLIER_CONVERSATIONS]
    )


def earlier_conversation_get(*, conversation: Conversation, earlier_id: int) -> Conversation:
    """An earlier conversation of the open conversation's contact (the agent may read the history of a
    customer they are talking to)."""
    earlier = (
        Conversation.objects.filter(pk=earlier_id, contact_id=conversation.contact_id)
        .select_related("campaign", "agent")
        .first()
    )
    if earlier is None:
        raise NotFound(
            "not_found", _("There is no earlier conversation with id %(id)s.") % {"id": earlier_id}
        )
    return earlier


@dataclass(frozen=True)
class DispositionChoice:
    id: int
    label: str


@dataclass
class Pane:
    conversation: Conversation
    contact: Contact
    campaign: Campaign
    can_act: bool
    can_take: bool
    window_mode: str
    window_remaining: int
    window_reason: str
    token_ok: bool
    token_reason: str
    messages: list[Message]
    has_more: bool
    earlier: list[Conversation]
    dispositions: list[DispositionChoice]
    canned: list[dict[str, str]]
    transfer_note: str = ""
    transferred_by: str = ""
    # When the viewer got the conversation (their latest hand-over), not its first assignment: after a
    # transfer, "yours since" is the receiver's time.
    yours_since: dt.datetime | None = None
    # Another Messenger app has the thread (the Page inbox, a bot): who, named for the agent; "" = pagedesk.
    thread_owner: str = ""
    # pagedesk has the thread back from another app, so the agent may pass it back.
    can_hand_back: bool = False


def fill_placeholders(text: str, *, contact: Contact, agent: User) -> str:
    """Canned response placeholders. An unknown first name becomes empty, never a made-up one."""
    return (
        text.replace("{customer_first_name}", contact.first_name or "")
        .replace("{agent_first_name}", agent.first_name_or_name)
        .replace(" ,", ",")
    )


def _dispositions(campaign: Campaign) -> list[DispositionChoice]:
    """Leaf dispositions (a parent with children is too general to close with), "Parent › child"."""
    rows = list(Disposition.objects.filter(campaign=campaign).order_by("position", "id"))
    by_id = {d.pk: d for d in rows}
    parents = {d.parent_id for d in rows if d.parent_id}
    choices = []
    for d in rows:
        if d.pk in parents:
            continue
        parent = by_id.get(d.parent_id) if d.parent_id else None
        choices.append(DispositionChoice(d.pk, f"{parent.name} › {d.name}" if parent else d.name))
    return choices


def conversation_pane(*, agent: User, conversation: Conversation) -> Pane:
    """Everything the right-hand side shows; a fixed number of queries (about ten)."""
    campaign = conversation.campaign
    contact = conversation.contact
    can_act = conversation.state == ConversationState.ASSIGNED and conversation.agent_id == agent.pk
    can_take = (
        conversation.state == ConversationState.QUEUED
        and campaign.enabled
        and campaign.strategy == Strategy.RINGALL
    )
    mode, remaining = messaging_window(conversation=conversation)
    token_ok, token_reason = page_send_readiness(
        campaign=campaign, connection=getattr(campaign, "page_connection", None)
    )
    messages, has_more = thread_page(conversation=conversation)
    canned = [
        {"title": c.title, "text": fill_placeholders(c.text, contact=contact, agent=agent)}
        for c in CannedResponse.objects.filter(campaign=campaign).order_by("position", "id")
    ]
    pane = Pane(
        conversation=conversation,
        contact=contact,
        campaign=campaign,
        can_act=can_act,
        can_take=can_take,
        window_mode=mode,
        window_remaining=remaining,
        window_reason=window_closed_reason(conversation=conversation) if mode == WindowMode.CLOSED else "",
        token_ok=token_ok,
        token_reason=token_reason,
        messages=messages,
        has_more=has_more,
        earlier=earlier_conversations(conversation=conversation),
        dispositions=_dispositions(campaign) if can_act else [],
        canned=canned if can_act else [],
    )
    if can_act:
        pane.yours_since = (
            Assignment.objects.filter(conversation=conversation, agent=agent)
            .order_by("-at", "-pk")
            .values_list("at", flat=True)
            .first()
        ) or conversation.assigned_at
    if contact.thread_owner_app_id:
        pane.thread_owner = thread_owner_label(contact.thread_owner_app_id)
    else:
        pane.can_hand_back = can_act and contact.thread_owner_changed_at is not None
    if conversation.transfer_note or conversation.transferred_by_id:
        pane.transfer_note = conversation.transfer_note
        pane.transferred_by = conversation.transferred_by.name if conversation.transferred_by else ""
    return pane


@dataclass(frozen=True)
class TransferTarget:
    id: int
    label: str
    available: bool


def transfer_targets(
    *, agent: User, conversation: Conversation
) -> tuple[list[TransferTarget], list[TransferTarget]]:
    """Other members of the campaign (with whether they can take it now) and the other enabled campaigns."""
    campaign = conversation.campaign
    members = list(
        Membership.objects.filter(campaign=campaign)
        .exclude(agent=agent)
        .select_related("agent")
        .order_by("position", "id")
    )
    loads = agent_loads(agent_ids=[m.agent_id for m in members])
    agents = []
    for m in members:
        free = (
            m.agent.presence == Presence.AVAILABLE and loads[m.agent_id] < campaign.max_interactions_per_agent
        )
        state = _("available") if free else m.agent.get_presence_display().lower()
        if m.agent.presence == Presence.AVAILABLE and not free:
            state = _("busy")
        agents.append(TransferTarget(m.agent_id, f"{m.agent.name} ({state})", free))
    campaigns = [
        TransferTarget(c.pk, c.name, True)
        for c in Campaign.objects.filter(enabled=True).exclude(pk=campaign.pk).order_by("name")
    ]
    return agents, campaigns
