"""Reads of contacts, conversations and messages that the write path and the inbox share."""

from __future__ import annotations

from pagedesk.conversations.models import OPEN_STATES, Contact, Conversation, Message


def contact_get(*, page_id: str, psid: str) -> Contact | None:
    return Contact.objects.filter(page_id=page_id, psid=psid).first()


def conversation_open_for_contact(*, contact: Contact) -> Conversation | None:
    """The contact's open (queued/assigned) conversation, in any campaign (a transfer may have moved it)."""
    return (
        Conversation.objects.filter(contact=contact, state__in=OPEN_STATES)
        .order_by("-created_at", "-id")
        .first()
    )


def message_get_by_mid(*, page_id: str, mid: str) -> Message | None:
    if not mid:
        return None
    return Message.objects.filter(page_id=page_id, mid=mid).select_related("conversation").first()
