"""The messaging window: when a page may reply to a customer (Messenger Platform policy).

Within 24 h of the customer's last message a reply is a RESPONSE; from 24 h to 7 days only with the
HUMAN_AGENT tag, when the campaign allows it; after that no reply until the customer writes again.
The composer shows the time left, the send path refuses a closed window without calling Facebook,
and the delivery (pagedesk.messenger.send) tags what it sends by the mode.
https://developers.facebook.com/docs/messenger-platform/policy/policy-overview#24hours_window
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from django.db.models import Max
from django.utils.translation import gettext as _

from pagedesk.conversations.models import Conversation
from pagedesk.core import clock
from pagedesk.core.errors import ApplicationError

RESPONSE_WINDOW = dt.timedelta(hours=24)
HUMAN_AGENT_WINDOW = dt.timedelta(days=7)


class WindowMode(StrEnum):
    RESPONSE = "RESPONSE"
    HUMAN_AGENT = "HUMAN_AGENT"
    CLOSED = "CLOSED"


def last_customer_message_at(*, conversation: Any) -> dt.datetime | None:
    """The contact's last message to the page, across all its conversations (the window is per user),
    including a message Facebook delivered as `standby` while another app had the thread: the window is
    the page's, whichever app answers (Contact.last_message_at counts those; docs/decisions/thread-control.md)."""
    found = Conversation.objects.filter(contact_id=conversation.contact_id).aggregate(
        at=Max("last_customer_message_at"), contact_at=Max("contact__last_message_at")
    )
    candidates = [
        at for at in (found["at"], found["contact_at"], conversation.last_customer_message_at) if at
    ]
    return max(candidates, default=None)


def messaging_window(*, conversation: Any, at: dt.datetime | None = None) -> tuple[str, int]:
    """(mode, seconds left in that mode) for replying in this conversation now.

    Within 24 h of the customer's last message → RESPONSE; 24 h–7 days → HUMAN_AGENT when the campaign
    allows that tag; otherwise CLOSED with 0 seconds. The composer shows the remaining time.
    """
    now = at or clock.now()
    last = last_customer_message_at(conversation=conversation)
    if last is None:
        return WindowMode.CLOSED.value, 0
    elapsed = now - last
    if elapsed < RESPONSE_WINDOW:
        return WindowMode.RESPONSE.value, int((RESPONSE_WINDOW - elapsed).total_seconds())
    if elapsed < HUMAN_AGENT_WINDOW and conversation.campaign.human_agent_enabled:
        return WindowMode.HUMAN_AGENT.value, int((HUMAN_AGENT_WINDOW - elapsed).total_seconds())
    return WindowMode.CLOSED.value, 0


def window_closed_reason(*, conversation: Any) -> str:
    if conversation.campaign.human_agent_enabled:
        return _(
            "More than 7 days have passed since the customer's last message; Facebook does not allow "
            "a reply until the customer writes again."
        )
    return _(
        "More than 24 hours have passed since the customer's last message; Facebook does not allow "
        "a reply until the customer writes again. (Allowing replies up to 7 days with the HUMAN_AGENT "
        "tag can be enabled in the campaign.)"
    )


def messaging_window_require(*, conversation: Any) -> tuple[str, int]:
    """The window, or an ApplicationError (no Graph call) when it is closed."""
    mode, remaining = messaging_window(conversation=conversation)
    if mode == WindowMode.CLOSED:
        raise ApplicationError("outside_window", window_closed_reason(conversation=conversation), status=409)
    return mode, remaining
