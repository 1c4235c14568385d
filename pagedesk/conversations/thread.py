"""Who owns the Messenger thread (Conversation Routing): the rule the domain applies, not the API.

A page can have several Messenger apps; Meta routes each customer's thread to one owner at a time, and
only the owner may reply. pagedesk's app owns a thread unless the contact records another app
(`Contact.thread_owner_app_id`, kept current by messenger from `messaging_handovers` webhooks and the
agent's Take control / Hand back). docs/decisions/thread-control.md.
https://developers.facebook.com/documentation/business-messaging/messenger-platform/conversation-routing
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from pagedesk.core.errors import ApplicationError

# Facebook's own Page inbox (Meta Business Suite, the Pages app) as a Messenger app: the target of a
# hand-back, and the app_id on the echoes of replies typed there.
PAGE_INBOX_APP_ID = "263902037430900"
# Recorded when a standby copy shows that another app has the thread before any messaging_handovers
# webhook said which one (the page may not send those to pagedesk's app).
UNKNOWN_APP = "unknown"


def thread_owner_label(app_id: str) -> str:
    """How the inbox names the app that has the thread."""
    if app_id == PAGE_INBOX_APP_ID:
        return _("the Facebook Page inbox")
    if app_id == UNKNOWN_APP:
        return _("another Messenger app")
    return _("another Messenger app (app id %(id)s)") % {"id": app_id}


def thread_owner_title(app_id: str) -> str:
    """The label at the start of a sentence."""
    label = thread_owner_label(app_id)
    return label[:1].upper() + label[1:]


def thread_owned_by_other_app(*, contact: Any) -> bool:
    return bool(contact.thread_owner_app_id)


def thread_owner_require(*, conversation: Any) -> None:
    """Refuse, without calling Facebook, a reply into a thread another app owns: Facebook would refuse it."""
    owner = conversation.contact.thread_owner_app_id
    if owner:
        raise ApplicationError(
            "thread_owned_elsewhere",
            _(
                "%(owner)s has this conversation, so Facebook would refuse the reply. An agent answers from "
                "pagedesk after clicking “Take control” in the inbox."
            )
            % {"owner": thread_owner_title(owner)},
            status=409,
        )
