"""Routing writes: queue, assign, requeue, transfer, abandon, after-hours (ARCHITECTURE.md §4).

The routing engine (issue 5) fills this module; the Messenger ingest calls `conversation_route_new`
for every conversation it opens.
"""

from __future__ import annotations

from pagedesk.conversations.models import Conversation


def conversation_route_new(*, conversation: Conversation) -> Conversation:
    """Hand a newly opened conversation to routing. Called inside the ingest transaction.

    Until the engine lands the conversation simply stays `queued` (issue 4's contract).
    """
    return conversation
