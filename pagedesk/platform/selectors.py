"""Reads of the open platform: the outbound webhooks' admin side (admins only; the edges check the
role first), and behind the public API's conversation side (pagedesk.api.conversations, contacts, pages): who
may see which contact and page, a conversation's messages a page at a time, its transfer in progress.

The same role rules as the pages (routing.selectors.conversation_scope_for_user and
campaigns.selectors.campaign_list_for_user): admins everything, supervisors their campaigns,
integrations their Integration.campaigns, agents what they took part in. Every list here costs a fixed
number of queries whatever its length.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, F, Max, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from pagedesk.accounts.models import User
from pagedesk.campaigns.models import BlockedContact, Campaign
from pagedesk.campaigns.selectors import campaign_list_for_user
from pagedesk.conversations.models import Attachment, Contact, Conversation, Message
from pagedesk.core.errors import ApplicationError, NotFound, PermissionDenied
from pagedesk.messenger.models import InboundEvent, PageConnection
from pagedesk.platform.models import OPEN_DELIVERY_STATES, WebhookDelivery, WebhookEndpoint
from pagedesk.platform.shapes import CONVERSATION_RELATED, MESSAGE_PREFETCH, MESSAGE_RELATED
from pagedesk.routing.models import Transfer, TransferState
from pagedesk.routing.selectors import conversation_scope_for_user

# --- Outbound webhooks -------------------------------------------------------------------------------


def webhook_endpoint_list() -> QuerySet[WebhookEndpoint]:
    return (
        WebhookEndpoint.objects.prefetch_related("campaigns")
        .annotate(open_deliveries=Count("deliveries", filter=Q(deliveries__state__in=OPEN_DELIVERY_STATES)))
        .order_by("id")
    )


def webhook_endpoints_disabled_count() -> int:
    """Endpoints pagedesk disabled (after failing for 24 h), waiting for an admin to enable them."""
    return WebhookEndpoint.objects.filter(enabled=False).exclude(disabled_reason="").count()


def webhook_endpoint_get(*, endpoint_id: int) -> WebhookEndpoint:
    endpoint = webhook_endpoint_list().filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("not_found", _("There is no webhook endpoint %(id)s.") % {"id": endpoint_id})
    return endpoint


def webhook_endpoint_timezone(*, endpoint: WebhookEndpoint) -> str:
    """The zone its log's times are shown in: its campaigns' when they share one (as their own pages
    show them), else the site's."""
    zones = {c.timezone for c in endpoint.campaigns.all()}
    if not endpoint.all_campaigns and len(zones) == 1:
        return zones.pop()
    return str(settings.TIME_ZONE)


def webhook_delivery_list(
    *, endpoint: WebhookEndpoint, state: str = "", event_type: str = ""
) -> QuerySet[WebhookDelivery]:
    """Newest first, each with its event; attempts prefetched for the log."""
    rows = WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event").order_by("-id")
    if state:
        rows = rows.filter(state=state)
    if event_type:
        rows = rows.filter(event_type=event_type)
    return rows


def webhook_delivery_get(*, endpoint: WebhookEndpoint, delivery_id: str) -> WebhookDelivery:
    """By its public id (the uuid receivers see)."""
    try:
        public_id = uuid.UUID(str(delivery_id))
    except ValueError:
        public_id = None
    delivery = (
        WebhookDelivery.objects.select_related("event").filter(endpoint=endpoint, uuid=public_id).first()
        if public_id
        else None
    )
    if delivery is None:
        raise NotFound("not_found", _("This endpoint has no delivery %(id)s.") % {"id": delivery_id})
    return delivery


# --- Contacts -------------------------------------------------------------------------------------------


def _visible_campaign_ids(user: User) -> QuerySet[Campaign, Any]:
    return campaign_list_for_user(user=user).order_by().values("pk")


def contact_scope_for_user(*, user: User) -> QuerySet[Contact]:
    """Admins: every contact. Others: the contacts of the conversations they may see (a contact is a
    customer of a page, and who may see them follows who may see their conversations)."""
    if user.is_admin:
        return Contact.objects.all()
    return Contact.objects.filter(
        Exists(conversation_scope_for_user(user=user).filter(contact_id=OuterRef("pk")))
    )


@dataclass(frozen=True)
class ContactFilters:
    campaign_id: int | None = None
    page_id: str = ""
    text: str = ""
    blocked: bool | None = None


def _blocked_here(user: User) -> Exists:
    """The contact is blocked in a campaign the user may see, on that campaign's page."""
    return Exists(
        BlockedContact.objects.filter(
            psid=OuterRef("psid"),
            campaign__page_connection__page_id=OuterRef("page_id"),
            campaign_id__in=_visible_campaign_ids(user),
        )
    )


def contact_list(*, user: User, filters: ContactFilters) -> QuerySet[Contact]:
    """The contacts `user` may see matching `filters`, most recently active first.

    `text` matches every word in the first or last name, or the whole PSID; `campaign_id` keeps the
    contacts who wrote to that campaign (a conversation there); `blocked` those blocked (or not) in a
    campaign the user may see.
    """
    contacts = contact_scope_for_user(user=user)
    if filters.campaign_id:
        contacts = contacts.filter(
            Exists(
                conversation_scope_for_user(user=user).filter(
                    contact_id=OuterRef("pk"), campaign_id=filters.campaign_id
                )
            )
        )
    if filters.page_id:
        contacts = contacts.filter(page_id=filters.page_id)
    text = filters.text.strip()
    if text:
        by_name = Q()
        for word in text.split():
            by_name &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
        contacts = contacts.filter(by_name | Q(psid=text))
    if filters.blocked is not None:
        contacts = contacts.filter(_blocked_here(user) if filters.blocked else ~_blocked_here(user))
    # NULLS LAST on both databases: a contact that never wrote goes after the active ones.
    return contacts.order_by(F("last_message_at").desc(nulls_last=True), "-pk")


CONTACT_CONVERSATIONS = 100


@dataclass
class ContactDetail:
    contact: Contact
    blocked: list[BlockedContact]
    conversations: list[Conversation]


def contact_get_for_user(*, user: User, contact_id: int) -> ContactDetail:
    """A contact `user` may see, with where it is blocked and its conversations the user may see.

    403 for a person when it exists outside their scope, 404 when it does not; an integration gets 404
    for both (conversation_get_for_user's rule). Four queries.
    """
    contact = contact_scope_for_user(user=user).filter(pk=contact_id).first()
    if contact is None:
        if not user.is_integration and Contact.objects.filter(pk=contact_id).exists():
            raise PermissionDenied("forbidden", _("You cannot see this contact."))
        raise NotFound("not_found", _("There is no contact with id %(id)s.") % {"id": contact_id})
    blocked = list(
        BlockedContact.objects.filter(
            psid=contact.psid,
            campaign__page_connection__page_id=contact.page_id,
            campaign_id__in=_visible_campaign_ids(user),
        )
        .select_related("campaign")
        .order_by("campaign__name", "pk")
    )
    conversations = list(
        conversation_scope_for_user(user=user)
        .filter(contact=contact)
        .select_related(*CONVERSATION_RELATED)
        .order_by("-created_at", "-pk")[:CONTACT_CONVERSATIONS]
    )
    return ContactDetail(contact=contact, blocked=blocked, conversations=conversations)


# --- Pages ------------------------------------------------------------------------------------------------


@dataclass
class PageRow:
    connection: PageConnection
    last_webhook_at: dt.datetime | None


def page_list_for_user(*, user: User) -> list[PageRow]:
    """The connected pages of the campaigns `user` may see, by campaign name; two queries, and no Graph
    call (the subscribed fields are what pagedesk asks for at activation: shapes.page_shape)."""
    connections = list(
        PageConnection.objects.filter(campaign_id__in=_visible_campaign_ids(user))
        .exclude(page_id="")
        .select_related("campaign")
        .order_by("campaign__name", "pk")
    )
    last = (
        dict(
            InboundEvent.objects.filter(page_id__in=[c.page_id for c in connections])
            .values("page_id")
            .annotate(at=Max("received_at"))
            .values_list("page_id", "at")
        )
        if connections
        else {}
    )
    return [PageRow(connection=c, last_webhook_at=last.get(c.page_id)) for c in connections]


# --- A conversation's messages, a page at a time ------------------------------------------------------------

MAX_MESSAGES = 200


@dataclass
class MessagePage:
    items: list[Message]  # oldest first
    has_before: bool  # older messages exist before items[0] (or before the `after` cursor)
    has_after: bool  # newer messages exist after items[-1]


def _cursor_message(conversation: Conversation, message_id: int, field: str) -> Message:
    message = conversation.messages.filter(pk=message_id).only("pk", "created_at").first()
    if message is None:
        raise ApplicationError(
            "invalid_cursor",
            _(
                "Message %(id)s is not in conversation %(conversation)s: use an id from a page of its messages."
            )
            % {"id": message_id, "conversation": conversation.pk},
            status=400,
            field=field,
        )
    return message


def message_page(
    *, conversation: Conversation, before: int | None = None, after: int | None = None, limit: int = 50
) -> MessagePage:
    """`limit` messages of `conversation` in thread order (created_at, id): the newest ones, or those
    just before the message `before`, or just after the message `after` (ids of this conversation's
    messages). Three queries (the cursor's time, the page plus one to know if there is more, the
    attachments)."""
    if before is not None and after is not None:
        raise ApplicationError(
            "invalid_cursor", _("Give `before` or `after`, not both."), status=400, field="before"
        )
    messages = conversation.messages.select_related(*MESSAGE_RELATED).prefetch_related(
        *(Prefetch(name, queryset=Attachment.objects.order_by("pk")) for name in MESSAGE_PREFETCH)
    )
    if after is not None:
        cursor = _cursor_message(conversation, after, "after")
        rows = list(
            messages.filter(
                Q(created_at__gt=cursor.created_at) | Q(created_at=cursor.created_at, pk__gt=cursor.pk)
            ).order_by("created_at", "pk")[: limit + 1]
        )
        return MessagePage(items=rows[:limit], has_before=True, has_after=len(rows) > limit)
    if before is not None:
        cursor = _cursor_message(conversation, before, "before")
        messages = messages.filter(
            Q(created_at__lt=cursor.created_at) | Q(created_at=cursor.created_at, pk__lt=cursor.pk)
        )
    rows = list(messages.order_by("-created_at", "-pk")[: limit + 1])
    items = rows[:limit]
    items.reverse()
    return MessagePage(items=items, has_before=len(rows) > limit, has_after=before is not None)


def transfer_pending(*, conversation: Conversation) -> Transfer | None:
    """The transfer to another campaign's queue nobody has taken yet (one query)."""
    return (
        Transfer.objects.filter(conversation=conversation, state=TransferState.PENDING)
        .select_related("from_agent", "to_agent", "to_campaign")
        .order_by("-created_at", "-pk")
        .first()
    )
