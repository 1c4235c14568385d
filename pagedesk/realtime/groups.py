"""Audience names for the channel layer. Group names allow only [a-zA-Z0-9_.-]."""

from __future__ import annotations


def agent(agent_id: int) -> str:
    return f"agent.{agent_id}"


def supervisor(user_id: int) -> str:
    """One supervisor's sockets: told when the campaigns they supervise change."""
    return f"supervisor.{user_id}"


def campaign_queue(campaign_id: int) -> str:
    """Members of a campaign: they see its pending (ringall) queue."""
    return f"campaign.{campaign_id}.queue"


def supervisors(campaign_id: int) -> str:
    return f"campaign.{campaign_id}.supervisors"


def admins() -> str:
    return "admins"


def user(user_id: int) -> str:
    """Every socket of one user, whatever the role: access messages (realtime/access.py), not events."""
    return f"user.{user_id}"
