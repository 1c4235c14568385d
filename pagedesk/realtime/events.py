"""The catalogue of realtime events. Every event a browser can receive is defined here, once.

Events are hints (ARCHITECTURE.md §6): they carry ids and a version so a page can tell whether to apply
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


# --- Outbound messages (issue 4, Send API) ---------------------------------------------------------


class MessageStatusChanged(Event):
    """An outbound message moved between pending/sent/delivered/read/failed, or its reason changed."""

    type: Literal["message.status_changed"] = "message.status_changed"
    message_id: int
    conversation_id: int
    status: str
    reason: str = ""
