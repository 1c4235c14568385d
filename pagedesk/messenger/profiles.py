"""Contact names and pictures from the User Profile API, fetched in a task, never in a transaction.

https://developers.facebook.com/docs/messenger-platform/identity/user-profile
A failed lookup leaves the neutral "Messenger user …1234" label (Contact.display_name) and retries
later with backoff; pagedesk never invents a name.
"""

from __future__ import annotations

import datetime as dt
import logging

from pagedesk.conversations import services
from pagedesk.conversations.models import Contact
from pagedesk.core import clock
from pagedesk.core.text import clean_text
from pagedesk.messenger import client
from pagedesk.messenger.errors import GraphError, InvalidId
from pagedesk.messenger.models import PageConnection
from pagedesk.messenger.tokens import page_token_get

logger = logging.getLogger(__name__)

PROFILE_FIELDS = "first_name,last_name,profile_pic"
# Profile pictures are signed URLs that expire; names change rarely. Once a day is plenty.
REFRESH_AFTER = dt.timedelta(days=1)
# While a retry chain for a contact runs, new conversations do not start another.
RETRY_QUIET = dt.timedelta(hours=1)
MAX_ATTEMPTS = 6


def retry_delay(attempt: int) -> dt.timedelta:
    """1, 2, 4, 8, 16 minutes … capped at 6 hours."""
    return min(dt.timedelta(minutes=2**attempt), dt.timedelta(hours=6))


def _page_token(page_connection: PageConnection) -> str | None:
    return page_token_get(page_connection=page_connection)


def contact_profile_enqueue_if_stale(*, contact: Contact) -> bool:
    """Enqueue a profile lookup unless one succeeded today or a retry chain is under way."""
    # lazy (task): messenger.tasks imports this module
    from pagedesk.messenger.tasks import contact_profile_fetch

    now = clock.now()
    if contact.profile_fetched_at and now - contact.profile_fetched_at < REFRESH_AFTER:
        return False
    if contact.profile_failed_at and now - contact.profile_failed_at < RETRY_QUIET:
        return False
    if contact.psid.startswith("user_ref:"):
        return False  # Chat Plugin guests have no PSID the Profile API knows.
    contact_profile_fetch.enqueue(contact_id=contact.pk, attempt=0)
    return True


def contact_profile_refresh(*, contact_id: int, attempt: int = 0) -> str:
    """Fetch and store one contact's profile; on failure record it and re-enqueue with backoff."""
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None:
        return "contact gone"
    if contact.profile_fetched_at and clock.now() - contact.profile_fetched_at < REFRESH_AFTER:
        return "fresh"
    connection = PageConnection.objects.filter(page_id=contact.page_id).first()
    if connection is None:
        return "page not connected"
    token = _page_token(connection)
    if not token:
        return _failed(contact, attempt, "the page has no usable token")
    try:
        data = client.get(
            client.graph_id(contact.psid, kind="PSID"), token=token, params={"fields": PROFILE_FIELDS}
        )
    except InvalidId as exc:
        # Asking again will not make the id valid: recorded, and not retried.
        services.contact_profile_failed(contact_id=contact.pk)
        return f"refused: {exc}"
    except GraphError as exc:
        return _failed(contact, attempt, str(exc))
    services.contact_profile_set(
        contact_id=contact.pk,
        # A Graph answer is a boundary too: NUL and lone surrogates failed the profile task (core/text.py).
        first_name=clean_text(str(data.get("first_name") or ""), limit=150),
        last_name=clean_text(str(data.get("last_name") or ""), limit=150),
        profile_pic_url=clean_text(str(data.get("profile_pic") or "")),
    )
    return "fetched"


def _failed(contact: Contact, attempt: int, reason: str) -> str:
    # lazy (task): messenger.tasks imports this module
    from pagedesk.messenger.tasks import contact_profile_fetch

    services.contact_profile_failed(contact_id=contact.pk)
    logger.info("profile lookup for contact %s failed (attempt %d): %s", contact.pk, attempt + 1, reason)
    if attempt + 1 < MAX_ATTEMPTS:
        contact_profile_fetch.using(run_after=clock.now() + retry_delay(attempt)).enqueue(
            contact_id=contact.pk, attempt=attempt + 1
        )
        return f"failed, retrying: {reason}"
    return f"failed, giving up: {reason}"
