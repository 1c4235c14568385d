"""REST reads of contacts: the Messenger customers of the pages (mounted at /api/v1/).

Who sees which contact follows who sees their conversations (pagedesk.platform.selectors): admins
every contact; others the contacts of the conversations they may see. A contact outside that scope is a
403 for a person and a 404 for an integration.
"""

# No `from __future__ import annotations`: ninja resolves the annotations of the query schemas.
from django.http import HttpRequest
from ninja import Query, Router

from pagedesk.api.conversations_schemas import (
    CONTACT_EXAMPLE,
    CONVERSATION_EXAMPLE,
    ContactPageOut,
    ContactsQuery,
    example,
    page_example,
)
from pagedesk.api.pagination import page_of
from pagedesk.api.permissions import request_user
from pagedesk.api.schemas import READ_REFUSALS, ObjectId
from pagedesk.platform.selectors import ContactFilters, contact_get_for_user, contact_list
from pagedesk.platform.shapes import ContactDetailOut, contact_detail_shape, contact_shape

router = Router(tags=["contacts"])


@router.get(
    "/contacts",
    response={200: ContactPageOut, **READ_REFUSALS},
    openapi_extra=example(page_example(CONTACT_EXAMPLE)),
)
def contacts_list(request: HttpRequest, query: Query[ContactsQuery]) -> dict[str, object]:
    """The contacts you may see, most recently active first, a page at a time."""
    filters = ContactFilters(
        campaign_id=query.campaign, page_id=query.page_id or "", text=query.q or "", blocked=query.blocked
    )
    body = page_of(
        contact_list(user=request_user(request), filters=filters),
        request=request,
        number=query.page,
        size=query.page_size,
    )
    body["items"] = [contact_shape(c) for c in body["items"]]
    return body


@router.get(
    "/contacts/{contact_id}",
    response={200: ContactDetailOut, **READ_REFUSALS},
    openapi_extra=example(
        {
            **CONTACT_EXAMPLE,
            "blocked_in": [
                {"campaign": {"id": 5, "name": "Billing"}, "note": "Spam", "since": "2026-02-21T09:00:00Z"}
            ],
            "conversations": [CONVERSATION_EXAMPLE],
        }
    ),
)
def contacts_get(request: HttpRequest, contact_id: ObjectId) -> ContactDetailOut:
    """Profile (as Facebook's Profile API gave it), PSID and page; the campaigns where the customer is
    blocked; their conversations you may see, newest first (at most 100: page through
    `GET /conversations?contact=<id>` for all)."""
    detail = contact_get_for_user(user=request_user(request), contact_id=contact_id)
    return contact_detail_shape(detail.contact, blocked=detail.blocked, conversations=detail.conversations)
