"""What the campaign table and the Facebook settings page do to a campaign's Facebook page (mounted at
/api/v1/pages; a page is named by its campaign's id): check its token now, list and replay the webhook
events pagedesk parked because it could not read them.

The same services as those pages (messenger.activation_views.facebook_check_view,
messenger.settings_views.parked_event_replay_view) and the same roles: supervisors check the pages of
campaigns they supervise and admins any; parked events are for admins.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import ConfigDict, Field
from pydantic.config import JsonDict

from pagedesk.accounts.models import User
from pagedesk.api.permissions import admin_user, request_user
from pagedesk.api.schemas import READ_REFUSALS, WRITE_REFUSALS, InputSchema, ObjectId, refusals
from pagedesk.campaigns.selectors import campaign_get_for_user
from pagedesk.core.errors import ApplicationError, PermissionDenied
from pagedesk.core.permissions import can_supervise
from pagedesk.messenger.ingest import inbound_event_replay
from pagedesk.messenger.models import InboundEvent, PageConnection
from pagedesk.messenger.selectors import page_connection_get, parked_event_get, parked_event_list
from pagedesk.messenger.tokens import page_token_check

router = Router(tags=["pages"])

# As many as the Facebook settings page shows; one call replays at most this many.
PARKED_MAX = 50


class PageTokenOut(Schema):
    campaign_id: int
    page_id: str
    page_name: str
    token_status: str = Field(description="active | invalid | unknown (never activated).")
    token_invalid_reason: str = Field(description="Facebook's reason, when invalid.")
    last_checked_at: dt.datetime | None = Field(
        description="The last check that got an answer; a Facebook outage leaves it (and the status) as "
        "it was, since an outage is not a revocation."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "campaign_id": 1,
                    "page_id": "104857600123456",
                    "page_name": "Acme Support",
                    "token_status": "active",
                    "token_invalid_reason": "",
                    "last_checked_at": "2026-12-07T10:20:31+01:00",
                },
                {
                    "campaign_id": 1,
                    "page_id": "104857600123456",
                    "page_name": "Acme Support",
                    "token_status": "invalid",
                    "token_invalid_reason": "Error validating access token: The user has not authorized "
                    "application 1234567890.",
                    "last_checked_at": "2026-12-07T10:20:31+01:00",
                },
            ]
        }
    )

    @staticmethod
    def resolve_campaign_id(obj: PageConnection) -> int:
        return obj.campaign_id


PARKED_EXAMPLE: JsonDict = {
    "id": 8812,
    "psid": "6584102938475612",
    "kind": "message",
    "received_at": "2026-12-07T09:41:12+01:00",
    "error": "nested deeper than 32 levels",
}


class ParkedEventOut(Schema):
    id: int
    psid: str = Field(description="The customer's page-scoped id, when pagedesk could read it.")
    kind: str
    received_at: dt.datetime
    error: str = Field(description="Why pagedesk could not read or store it.")

    model_config = ConfigDict(json_schema_extra={"examples": [PARKED_EXAMPLE]})


class ParkedQuery(Schema):
    limit: int = Field(PARKED_MAX, ge=1, le=PARKED_MAX, description="Newest first, at most this many.")


class ParkedReplayIn(InputSchema):
    event_ids: list[ObjectId] | None = Field(
        None,
        min_length=1,
        max_length=PARKED_MAX,
        description=f"The parked events to replay; omitted: the page's newest {PARKED_MAX}.",
    )

    json_examples = [{"event_ids": [8812]}, {}]


class ReplayedOut(Schema):
    event_id: int
    stored: int = Field(description="Events stored for processing from it (a parked body may hold several).")


class StillParkedOut(Schema):
    event_id: int
    code: str
    message: str


class ParkedReplayOut(Schema):
    replayed: list[ReplayedOut]
    still_parked: list[StillParkedOut] = Field(
        description="Events pagedesk still cannot read; they stay parked."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "replayed": [{"event_id": 8812, "stored": 1}],
                    "still_parked": [
                        {
                            "event_id": 8815,
                            "code": "still_parked",
                            "message": "pagedesk still cannot read this event: nested deeper than 32 levels",
                        }
                    ],
                }
            ]
        }
    )


def _supervisor(request: HttpRequest) -> User:
    user = request_user(request)
    if not can_supervise(user):
        raise PermissionDenied(
            "forbidden", _("Only supervisors and administrators can check a page's token.")
        )
    return user


def _admin_page(request: HttpRequest, campaign_id: ObjectId) -> PageConnection:
    user = admin_user(request)
    connection = page_connection_get(campaign=campaign_get_for_user(user=user, campaign_id=campaign_id))
    if not connection.page_id:
        raise ApplicationError(
            "page_not_activated",
            _(
                "This campaign has no Facebook page yet, so nothing of it was parked: activate it with Facebook."
            ),
            status=409,
        )
    return connection


@router.post(
    "/{campaign_id}/check",
    response={200: PageTokenOut, **READ_REFUSALS, **refusals(409)},
    summary="Check the page token now",
)
def page_check(request: HttpRequest, campaign_id: ObjectId) -> PageConnection:
    """Ask Facebook now whether the page token still works (the campaign table's refresh button);
    answers the page's token status after the check. 409 for a campaign never activated with Facebook."""
    campaign = campaign_get_for_user(user=_supervisor(request), campaign_id=campaign_id)
    connection = page_connection_get(campaign=campaign)
    if not connection.token_encrypted:
        raise ApplicationError(
            "page_not_activated",
            _("Campaign “%(name)s” has no page token to check: activate it with Facebook first.")
            % {"name": campaign.name},
            status=409,
        )
    page_token_check(page_connection=connection)
    connection.refresh_from_db()
    return connection


@router.get(
    "/{campaign_id}/parked",
    response={200: list[ParkedEventOut], **READ_REFUSALS, **refusals(409)},
    summary="Webhook events parked for the page",
)
def page_parked_list(
    request: HttpRequest, campaign_id: ObjectId, query: Query[ParkedQuery]
) -> list[InboundEvent]:
    """What Facebook sent for this page that pagedesk could not read or store, newest first (admins),
    as the Facebook settings page lists it. Replay them after the fix with POST …/parked/replay."""
    return parked_event_list(page_id=_admin_page(request, campaign_id).page_id, limit=query.limit)


@router.post(
    "/{campaign_id}/parked/replay",
    response={200: ParkedReplayOut, **WRITE_REFUSALS},
    summary="Replay the page's parked webhook events",
)
def page_parked_replay(
    request: HttpRequest, campaign_id: ObjectId, payload: ParkedReplayIn
) -> dict[str, object]:
    """Read parked events again (after an upgrade that fixes what parked them) and store what they hold
    for processing (admins), as the Facebook settings page's Replay. Each event is replayed on its own:
    one that still cannot be read stays parked, with its new reason, and does not stop the others.
    An id that is not a parked event of this page is a 404 and nothing is replayed."""
    page_id = _admin_page(request, campaign_id).page_id
    if payload.event_ids is None:
        events = list(reversed(parked_event_list(page_id=page_id, limit=PARKED_MAX)))
    else:
        events = [
            parked_event_get(event_id=event_id, page_id=page_id)
            for event_id in dict.fromkeys(payload.event_ids)
        ]
    replayed, still_parked = [], []
    for event in events:
        try:
            replayed.append({"event_id": event.pk, "stored": inbound_event_replay(event=event)})
        except ApplicationError as exc:
            still_parked.append({"event_id": event.pk, "code": exc.code, "message": exc.message})
    return {"replayed": replayed, "still_parked": still_parked}
