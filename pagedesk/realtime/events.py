"""The catalogue of realtime events. Every event a browser can receive is defined here, once.

Events are hints (docs/architecture.md §6): they carry ids and a version so a page can tell whether to apply
them, and a page always re-fetches its snapshot on (re)connect. docs/events.md lists them for readers.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Event(BaseModel):
    type: str

    def as_message(self) -> dict[str, object]:
        return self.model_dump(mode="json")


class AgentStatusChanged(Event):
    type: Literal["agent.status_changed"] = "agent.status_changed"
    agent_id: int
    presence: str
    break_reason: str | None = None
    changed_at: str


class CampaignChanged(Event):
    """A campaign's configuration, membership or token status changed; tables re-fetch the row."""

    type: Literal["campaign.changed"] = "campaign.changed"
    campaign_id: int


class CampaignTokenStatusChanged(Event):
    type: Literal["campaign.token_status_changed"] = "campaign.token_status_changed"
    campaign_id: int
    token_status: str


# --- Routing (issue 5) -----------------------------------------------------------------------------
# Every conversation event carries the conversation's `version`: a page applies an event only when it
# is newer than the row it shows, and re-fetches otherwise.


class ConversationQueued(Event):
    """A conversation entered (or re-entered) a campaign's queue; `reason` says why."""

    type: Literal["conversation.queued"] = "conversation.queued"
    conversation_id: int
    campaign_id: int
    version: int
    reason: str = "new"  # new | returned | transferred | transfer_returned | handoff (from the bot)


class ConversationAssigned(Event):
    type: Literal["conversation.assigned"] = "conversation.assigned"
    conversation_id: int
    campaign_id: int
    agent_id: int
    version: int
    how: str = "routed"  # routed | taken | transferred | transfer_returned


class ConversationClosed(Event):
    """The conversation left the open states: closed by an agent, after_hours, blocked or abandoned."""

    type: Literal["conversation.closed"] = "conversation.closed"
    conversation_id: int
    campaign_id: int
    agent_id: int | None = None
    state: str
    version: int


class ConversationAbandoned(Event):
    type: Literal["conversation.abandoned"] = "conversation.abandoned"
    conversation_id: int
    campaign_id: int
    version: int


class ConversationTransferred(Event):
    type: Literal["conversation.transferred"] = "conversation.transferred"
    conversation_id: int
    from_campaign_id: int
    to_campaign_id: int
    from_agent_id: int | None = None
    to_agent_id: int | None = None
    note: str = ""
    version: int


class QueueChanged(Event):
    """A campaign's queue length changed; boards and ringall inboxes re-fetch the queue."""

    type: Literal["queue.changed"] = "queue.changed"
    campaign_id: int
    length: int


# --- Outbound messages (issue 4, Send API) ---------------------------------------------------------


class MessageStatusChanged(Event):
    """An outbound message moved between pending/sent/delivered/read/failed, or its reason changed."""

    type: Literal["message.status_changed"] = "message.status_changed"
    message_id: int
    conversation_id: int
    status: str
    reason: str = ""


# --- Inbound messages (issue 4, webhook processing) ------------------------------------------------
# `version` is the conversation's version at the time of the event (messages have none of their own).


class MessageCreated(Event):
    """A message was added to a conversation: from the customer, or an echo of a reply sent from Facebook.

    `pending`: the conversation waits in a queue its campaign's members list as Pending (an enabled
    ringall campaign). A ringall member hears of a new conversation only through its opening message
    (conversation.queued goes to supervisors then), so a page that does not list the conversation yet
    re-fetches its lists on this flag instead of ignoring the message.
    """

    type: Literal["message.created"] = "message.created"
    message_id: int
    conversation_id: int
    campaign_id: int
    direction: str
    sender_type: str
    version: int
    pending: bool = False


class MessageUpdated(Event):
    """A message's reactions or text (customer edit) changed; the page re-fetches the message."""

    type: Literal["message.updated"] = "message.updated"
    message_id: int
    conversation_id: int
    change: str  # reaction | edit
    version: int


class ContactUpdated(Event):
    """A contact's profile (name, picture) arrived or changed."""

    type: Literal["contact.updated"] = "contact.updated"
    contact_id: int
    display_name: str
