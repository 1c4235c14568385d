"""REST reads of the connected Facebook Pages (mounted at /api/v1/): one per campaign, with the health
of its token and of its webhook. The campaigns' rules: admins every page, supervisors those of the
campaigns they supervise, agents those of their campaigns, integrations those of theirs."""

# No `from __future__ import annotations`: ninja resolves the annotations of the schemas.
from django.http import HttpRequest
from ninja import Router

from pagedesk.api.conversations_schemas import PAGE_EXAMPLE, example
from pagedesk.api.permissions import request_user
from pagedesk.api.schemas import READ_REFUSALS
from pagedesk.platform.selectors import page_list_for_user
from pagedesk.platform.shapes import PageOut, page_shape

router = Router(tags=["pages"])


@router.get("/pages", response={200: list[PageOut], **READ_REFUSALS}, openapi_extra=example([PAGE_EXAMPLE]))
def pages_list(request: HttpRequest) -> list[PageOut]:
    """Each connected page, by campaign name: its token's status (and why it is invalid), the last
    webhook event received for it, and the webhook fields pagedesk subscribed it to at activation.
    Reads pagedesk's own records only; it never calls Facebook."""
    return [
        page_shape(row.connection, last_webhook_at=row.last_webhook_at)
        for row in page_list_for_user(user=request_user(request))
    ]
