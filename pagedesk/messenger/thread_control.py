"""An agent takes a Messenger thread from another app (the Page inbox, a bot) and hands it back.

Facebook first (outside any transaction: no HTTP under a lock), then the record under the contact lock,
so pagedesk never claims a thread Facebook did not give it. The `messaging_handovers` webhook that
follows finds the owner already recorded and changes nothing. docs/decisions/thread-control.md.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from pagedesk.conversations.models import Contact, Conversation, ConversationEvent
from pagedesk.conversations.services import contact_lock, contact_thread_owner_set
from pagedesk.conversations.thread import PAGE_INBOX_APP_ID, UNKNOWN_APP, thread_owner_title
from pagedesk.core.errors import ApplicationError
from pagedesk.messenger import client
from pagedesk.messenger.errors import (
    GraphError,
    PermissionMissing,
    PolicyError,
    RateLimited,
    TokenInvalid,
    Transient,
)
from pagedesk.messenger.models import PageConnection
from pagedesk.messenger.tokens import page_connection_mark_invalid, page_token_get


def _page(conversation: Conversation) -> tuple[PageConnection, str]:
    connection = PageConnection.objects.filter(campaign_id=conversation.campaign_id).first()
    token = page_token_get(page_connection=connection) if connection else None
    if connection is None or not token:
        raise ApplicationError(
            "page_not_connected",
            _(
                "This campaign's Facebook page is not connected. An admin must click “Activate with Facebook”."
            ),
            status=409,
        )
    return connection, token


def _refused(exc: GraphError, *, connection: PageConnection, doing: str) -> ApplicationError:
    if isinstance(exc, TokenInvalid):
        page_connection_mark_invalid(page_connection=connection, reason=exc.message)
        return ApplicationError(
            "token_invalid",
            _("Facebook no longer accepts the page's token. An admin must click “Activate with Facebook”."),
            status=409,
        )
    if isinstance(exc, Transient | RateLimited):
        return ApplicationError(
            "facebook_unavailable",
            _("Facebook did not answer (%(error)s). Nothing changed; try again in a moment.")
            % {"error": exc.message},
            status=503,
        )
    if isinstance(exc, PermissionMissing | PolicyError):
        return ApplicationError(
            "thread_control_refused",
            _(
                "Facebook refused to %(doing)s: %(error)s. Under Conversation Routing the page's settings in "
                "Meta Business Suite decide which app may take a conversation; ask the page's admin."
            )
            % {"doing": doing, "error": exc.message},
            status=409,
        )
    return ApplicationError(
        "thread_control_refused",
        _("Facebook refused to %(doing)s: %(error)s.") % {"doing": doing, "error": str(exc)},
        status=409,
    )


def thread_control_take(*, conversation: Conversation, actor: Any) -> str:
    """Take the conversation's thread from the app that has it; returns that app's id."""
    contact = conversation.contact
    previous = contact.thread_owner_app_id
    if not previous:
        raise ApplicationError(
            "thread_already_ours", _("pagedesk already has this conversation."), status=409
        )
    connection, token = _page(conversation)
    try:
        client.thread_control_take(
            page_id=connection.page_id,
            psid=contact.psid,
            token=token,
            metadata=f"pagedesk: taken by {getattr(actor, 'name', '') or 'an agent'}",
        )
    except GraphError as exc:
        raise _refused(exc, connection=connection, doing=_("give pagedesk this conversation")) from exc
    with transaction.atomic():
        locked = contact_lock(page_id=contact.page_id, psid=contact.psid)
        contact_thread_owner_set(
            contact=locked, owner_app_id="", previous_owner_app_id=previous, how="taken", actor=actor
        )
        contact.thread_owner_app_id, contact.thread_owner_changed_at = "", locked.thread_owner_changed_at
    return previous


def hand_back_target(*, conversation: Conversation) -> str:
    """The app pagedesk took the thread from (the latest change of the contact's threads that gave it
    to pagedesk), or the Page inbox when that is unknown."""
    event = (
        ConversationEvent.objects.filter(
            conversation__contact_id=conversation.contact_id, kind="thread_control", data__owner_app_id=""
        )
        .order_by("-at", "-pk")
        .first()
    )
    previous = str((event.data or {}).get("previous_owner_app_id") or "") if event else ""
    return previous if previous and previous != UNKNOWN_APP else PAGE_INBOX_APP_ID


def thread_control_hand_back(*, conversation: Conversation, actor: Any) -> str:
    """Pass the thread to the app it came from (default: the Page inbox); returns that app's id."""
    contact = conversation.contact
    if contact.thread_owner_app_id:
        raise ApplicationError(
            "thread_not_ours",
            _("%(owner)s already has this conversation.")
            % {"owner": thread_owner_title(contact.thread_owner_app_id)},
            status=409,
        )
    target = hand_back_target(conversation=conversation)
    connection, token = _page(conversation)
    try:
        client.thread_control_pass(
            page_id=connection.page_id,
            psid=contact.psid,
            token=token,
            target_app_id=target,
            metadata=f"pagedesk: handed back by {getattr(actor, 'name', '') or 'an agent'}",
        )
    except GraphError as exc:
        raise _refused(exc, connection=connection, doing=_("pass the conversation on")) from exc
    with transaction.atomic():
        locked = contact_lock(page_id=contact.page_id, psid=contact.psid)
        contact_thread_owner_set(
            contact=locked, owner_app_id=target, previous_owner_app_id="", how="handed_back", actor=actor
        )
        contact.thread_owner_app_id, contact.thread_owner_changed_at = target, locked.thread_owner_changed_at
    return target


def thread_owner_refresh(*, page_connection: PageConnection, token: str, contact: Contact) -> str | None:
    """Ask Facebook who owns the contact's thread and record it; returns the recorded owner ("" = ours),
    or None when Facebook could not say. Best effort, after a send was refused."""
    try:
        owner = client.thread_owner_get(page_id=page_connection.page_id, psid=contact.psid, token=token)
    except GraphError:
        return None
    recorded = "" if owner is None or owner == settings.FACEBOOK_APP_ID else owner
    with transaction.atomic():
        locked = contact_lock(page_id=contact.page_id, psid=contact.psid)
        contact_thread_owner_set(contact=locked, owner_app_id=recorded, how="took")
    return recorded
