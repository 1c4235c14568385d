"""REST endpoints for campaigns and everything under them (mounted at /api/v1/campaigns).

The UI's rules: writes to a campaign or anything under it are for administrators; supervisors read
the campaigns they supervise and agents the campaigns they are members of. Every endpoint resolves
the campaign through campaign_get_for_user, which answers 403 for a campaign the caller may not see
(or change) and 404 only for an id that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from pagedesk.accounts.models import User
from pagedesk.api.campaigns_schemas import (
    BlockedIn,
    BlockedOut,
    CampaignIn,
    CampaignOut,
    CampaignPatch,
    CannedIn,
    CannedOut,
    CannedPatch,
    DispositionIn,
    DispositionOut,
    DispositionRename,
    HolidaysIn,
    HolidaysOut,
    MemberIn,
    MemberOut,
    MemberPatch,
    MembersIn,
    OrderIn,
    RangeSchema,
    ScheduleIn,
    ScheduleOut,
    SupervisorOut,
    SupervisorsIn,
)
from pagedesk.api.permissions import admin_user, request_user
from pagedesk.api.schemas import DELETE_REFUSALS, READ_REFUSALS, WRITE_REFUSALS, ObjectId
from pagedesk.campaigns.models import BlockedContact, Campaign, CannedResponse, Disposition, Membership
from pagedesk.campaigns.selectors import (
    blocked_contact_get,
    blocked_contact_list,
    campaign_get_for_user,
    campaign_is_open,
    campaign_list_for_user,
    campaign_next_schedule_change,
    canned_response_get,
    canned_response_list,
    disposition_get,
    disposition_tree,
    membership_get,
    membership_list,
    supervisor_list,
)
from pagedesk.campaigns.services import (
    blocked_contact_add,
    blocked_contact_remove,
    campaign_create,
    campaign_delete,
    campaign_set_holidays,
    campaign_set_schedule,
    campaign_set_supervisors,
    campaign_update,
    canned_response_create,
    canned_response_delete,
    canned_response_reorder,
    canned_response_update,
    disposition_create,
    disposition_delete,
    disposition_rename,
    membership_add,
    membership_remove,
    membership_set,
    membership_update,
)

router = Router()


def _read(request: HttpRequest, campaign_id: ObjectId) -> Campaign:
    return campaign_get_for_user(user=request_user(request), campaign_id=campaign_id)


def _manage(request: HttpRequest, campaign_id: ObjectId) -> Campaign:
    return campaign_get_for_user(user=request_user(request), campaign_id=campaign_id, manage=True)


def _fresh(request: HttpRequest, campaign: Campaign) -> Campaign:
    """Re-read after a write: the list annotations and prefetched ranges/holidays are stale."""
    return _read(request, campaign.pk)


# --- Campaigns -------------------------------------------------------------------------------------


@router.get("", response={200: list[CampaignOut], **READ_REFUSALS}, by_alias=True, tags=["campaigns"])
def campaigns_list(request: HttpRequest) -> list[Campaign]:
    """Admins: every campaign; supervisors: those they supervise; agents: those they are members of."""
    return list(campaign_list_for_user(user=request_user(request)))


@router.post("", response={201: CampaignOut, **WRITE_REFUSALS}, by_alias=True, tags=["campaigns"])
def campaigns_create(request: HttpRequest, payload: CampaignIn) -> Status[Campaign]:
    """Create a campaign (admins). Without `schedule` it opens Mon–Fri 09:00–18:00."""
    admin_user(request)
    campaign = campaign_create(
        fields=payload.scalar_fields(),
        ranges=payload.ranges(),
        holidays=payload.holiday_specs() or (),
        canned_responses=payload.canned_specs() or (),
    )
    return Status(201, _fresh(request, campaign))


@router.get("/{campaign_id}", response={200: CampaignOut, **READ_REFUSALS}, by_alias=True, tags=["campaigns"])
def campaigns_get(request: HttpRequest, campaign_id: ObjectId) -> Campaign:
    return _read(request, campaign_id)


@router.put(
    "/{campaign_id}", response={200: CampaignOut, **WRITE_REFUSALS}, by_alias=True, tags=["campaigns"]
)
def campaigns_replace(request: HttpRequest, campaign_id: ObjectId, payload: CampaignIn) -> Campaign:
    """Replace every setting (omitted ones return to their defaults); lists given replace stored ones."""
    campaign = campaign_update(
        campaign=_manage(request, campaign_id),
        fields=payload.scalar_fields(replace=True),
        ranges=payload.ranges(),
        holidays=payload.holiday_specs(),
        canned_responses=payload.canned_specs(),
    )
    return _fresh(request, campaign)


@router.patch(
    "/{campaign_id}", response={200: CampaignOut, **WRITE_REFUSALS}, by_alias=True, tags=["campaigns"]
)
def campaigns_update(request: HttpRequest, campaign_id: ObjectId, payload: CampaignPatch) -> Campaign:
    """Change some settings; `{"enabled": false}` disables a campaign and keeps its data."""
    campaign = campaign_update(campaign=_manage(request, campaign_id), fields=payload.scalar_fields())
    return _fresh(request, campaign)


@router.delete("/{campaign_id}", response={204: None, **DELETE_REFUSALS}, tags=["campaigns"])
def campaigns_delete(request: HttpRequest, campaign_id: ObjectId) -> Status[None]:
    """Delete a campaign that never had a conversation; otherwise 409: disable it instead."""
    campaign_delete(campaign=_manage(request, campaign_id))
    return Status(204, None)


# --- Schedule and holidays -------------------------------------------------------------------------


def _schedule(campaign: Campaign) -> dict[str, Any]:
    return {
        "timezone": campaign.timezone,
        "ranges": [
            RangeSchema.dump(r.weekdays, r.start_minute, r.end_minute) for r in campaign.schedule_ranges.all()
        ],
        "is_open_now": campaign_is_open(campaign=campaign),
        "next_change": campaign_next_schedule_change(campaign=campaign),
    }


@router.get(
    "/{campaign_id}/schedule", response={200: ScheduleOut, **READ_REFUSALS}, by_alias=True, tags=["schedule"]
)
def schedule_get(request: HttpRequest, campaign_id: ObjectId) -> dict[str, Any]:
    """Weekly open hours in the campaign's time zone (a campaign setting, changed with PATCH)."""
    return _schedule(_read(request, campaign_id))


@router.put(
    "/{campaign_id}/schedule", response={200: ScheduleOut, **WRITE_REFUSALS}, by_alias=True, tags=["schedule"]
)
def schedule_set(request: HttpRequest, campaign_id: ObjectId, payload: ScheduleIn) -> dict[str, Any]:
    """Replace the weekly ranges; overlapping or inverted ranges are refused and nothing changes."""
    campaign = _manage(request, campaign_id)
    campaign_set_schedule(campaign=campaign, ranges=payload.to_ranges())
    return _schedule(_fresh(request, campaign))


@router.get("/{campaign_id}/holidays", response={200: HolidaysOut, **READ_REFUSALS}, tags=["schedule"])
def holidays_get(request: HttpRequest, campaign_id: ObjectId) -> dict[str, Any]:
    return {"holidays": list(_read(request, campaign_id).holidays.all())}


@router.put("/{campaign_id}/holidays", response={200: HolidaysOut, **WRITE_REFUSALS}, tags=["schedule"])
def holidays_set(request: HttpRequest, campaign_id: ObjectId, payload: HolidaysIn) -> dict[str, Any]:
    """Replace the closed dates (local dates in the campaign's time zone)."""
    campaign = _manage(request, campaign_id)
    campaign_set_holidays(campaign=campaign, holidays=payload.to_specs())
    return {"holidays": list(_fresh(request, campaign).holidays.all())}


# --- Members and supervisors -----------------------------------------------------------------------


@router.get("/{campaign_id}/members", response={200: list[MemberOut], **READ_REFUSALS}, tags=["members"])
def members_list(request: HttpRequest, campaign_id: ObjectId) -> list[Membership]:
    return list(membership_list(campaign=_read(request, campaign_id)))


@router.put("/{campaign_id}/members", response={200: list[MemberOut], **WRITE_REFUSALS}, tags=["members"])
def members_set(request: HttpRequest, campaign_id: ObjectId, payload: MembersIn) -> list[Membership]:
    """Replace the members; the list order is the member order (linear routing)."""
    campaign = _manage(request, campaign_id)
    membership_set(campaign=campaign, members=payload.to_specs())
    return list(membership_list(campaign=campaign))


@router.post("/{campaign_id}/members", response={201: MemberOut, **WRITE_REFUSALS}, tags=["members"])
def members_add(request: HttpRequest, campaign_id: ObjectId, payload: MemberIn) -> Status[Membership]:
    """Add an agent at the end of the member order."""
    return Status(
        201,
        membership_add(
            campaign=_manage(request, campaign_id), agent_id=payload.agent_id, penalty=payload.penalty
        ),
    )


@router.patch(
    "/{campaign_id}/members/{agent_id}", response={200: MemberOut, **WRITE_REFUSALS}, tags=["members"]
)
def members_update(
    request: HttpRequest, campaign_id: ObjectId, agent_id: ObjectId, payload: MemberPatch
) -> Membership:
    """Change a member's penalty or move them to another place in the order."""
    membership = membership_get(campaign=_manage(request, campaign_id), agent_id=agent_id)
    return membership_update(membership=membership, **payload.dict(exclude_unset=True))


@router.delete("/{campaign_id}/members/{agent_id}", response={204: None, **DELETE_REFUSALS}, tags=["members"])
def members_remove(request: HttpRequest, campaign_id: ObjectId, agent_id: ObjectId) -> Status[None]:
    membership_remove(membership=membership_get(campaign=_manage(request, campaign_id), agent_id=agent_id))
    return Status(204, None)


@router.get(
    "/{campaign_id}/supervisors", response={200: list[SupervisorOut], **READ_REFUSALS}, tags=["members"]
)
def supervisors_list(request: HttpRequest, campaign_id: ObjectId) -> list[User]:
    return list(supervisor_list(campaign=_read(request, campaign_id)))


@router.put(
    "/{campaign_id}/supervisors", response={200: list[SupervisorOut], **WRITE_REFUSALS}, tags=["members"]
)
def supervisors_set(request: HttpRequest, campaign_id: ObjectId, payload: SupervisorsIn) -> list[User]:
    """Replace who supervises the campaign (users with the supervisor role)."""
    campaign = _manage(request, campaign_id)
    campaign_set_supervisors(campaign=campaign, supervisor_ids=payload.supervisor_ids)
    return list(supervisor_list(campaign=campaign))


# --- Canned responses ------------------------------------------------------------------------------


@router.get(
    "/{campaign_id}/canned-responses",
    response={200: list[CannedOut], **READ_REFUSALS},
    tags=["canned responses"],
)
def canned_list(request: HttpRequest, campaign_id: ObjectId) -> list[CannedResponse]:
    return list(canned_response_list(campaign=_read(request, campaign_id)))


@router.post(
    "/{campaign_id}/canned-responses", response={201: CannedOut, **WRITE_REFUSALS}, tags=["canned responses"]
)
def canned_create(request: HttpRequest, campaign_id: ObjectId, payload: CannedIn) -> Status[CannedResponse]:
    """Add a canned response at the end of the list."""
    return Status(
        201,
        canned_response_create(
            campaign=_manage(request, campaign_id), title=payload.title, text=payload.text
        ),
    )


# Registered before /{canned_id} so that "order" is never read as an id.
@router.put(
    "/{campaign_id}/canned-responses/order",
    response={200: list[CannedOut], **WRITE_REFUSALS},
    tags=["canned responses"],
)
def canned_reorder(request: HttpRequest, campaign_id: ObjectId, payload: OrderIn) -> list[CannedResponse]:
    """Reorder: list every canned response id of the campaign exactly once."""
    campaign = _manage(request, campaign_id)
    canned_response_reorder(campaign=campaign, ordered_ids=payload.ids)
    return list(canned_response_list(campaign=campaign))


@router.patch(
    "/{campaign_id}/canned-responses/{canned_id}",
    response={200: CannedOut, **WRITE_REFUSALS},
    tags=["canned responses"],
)
def canned_update(
    request: HttpRequest, campaign_id: ObjectId, canned_id: ObjectId, payload: CannedPatch
) -> CannedResponse:
    canned = canned_response_get(campaign=_manage(request, campaign_id), canned_id=canned_id)
    return canned_response_update(canned=canned, **payload.dict(exclude_unset=True))


@router.delete(
    "/{campaign_id}/canned-responses/{canned_id}",
    response={204: None, **DELETE_REFUSALS},
    tags=["canned responses"],
)
def canned_delete(request: HttpRequest, campaign_id: ObjectId, canned_id: ObjectId) -> Status[None]:
    canned_response_delete(
        canned=canned_response_get(campaign=_manage(request, campaign_id), canned_id=canned_id)
    )
    return Status(204, None)


# --- Dispositions ----------------------------------------------------------------------------------


@router.get(
    "/{campaign_id}/dispositions",
    response={200: list[DispositionOut], **READ_REFUSALS},
    tags=["dispositions"],
)
def dispositions_tree(request: HttpRequest, campaign_id: ObjectId) -> list[Disposition]:
    """Top-level dispositions, each with its sub-dispositions (two levels)."""
    return disposition_tree(campaign=_read(request, campaign_id))


@router.post(
    "/{campaign_id}/dispositions", response={201: DispositionOut, **WRITE_REFUSALS}, tags=["dispositions"]
)
def dispositions_create(
    request: HttpRequest, campaign_id: ObjectId, payload: DispositionIn
) -> Status[Disposition]:
    """Add a top-level disposition, or a sub-disposition with `parent_id`."""
    campaign = _manage(request, campaign_id)
    parent = (
        disposition_get(campaign=campaign, disposition_id=payload.parent_id, field="parent_id")
        if payload.parent_id is not None
        else None
    )
    return Status(201, disposition_create(campaign=campaign, name=payload.name, parent=parent))


@router.patch(
    "/{campaign_id}/dispositions/{disposition_id}",
    response={200: DispositionOut, **WRITE_REFUSALS},
    tags=["dispositions"],
)
def dispositions_rename(
    request: HttpRequest, campaign_id: ObjectId, disposition_id: ObjectId, payload: DispositionRename
) -> Disposition:
    disposition = disposition_get(campaign=_manage(request, campaign_id), disposition_id=disposition_id)
    return disposition_rename(disposition=disposition, name=payload.name)


@router.delete(
    "/{campaign_id}/dispositions/{disposition_id}",
    response={204: None, **DELETE_REFUSALS},
    tags=["dispositions"],
)
def dispositions_delete(
    request: HttpRequest, campaign_id: ObjectId, disposition_id: ObjectId
) -> Status[None]:
    """Delete a disposition and its sub-dispositions. Refused (409) while a conversation was closed with
    it or one of its sub-dispositions: rename it instead, so the history keeps how they ended."""
    disposition_delete(
        disposition=disposition_get(campaign=_manage(request, campaign_id), disposition_id=disposition_id)
    )
    return Status(204, None)


# --- Blocked contacts ------------------------------------------------------------------------------


@router.get(
    "/{campaign_id}/blocked-contacts",
    response={200: list[BlockedOut], **READ_REFUSALS},
    tags=["blocked contacts"],
)
def blocked_list(request: HttpRequest, campaign_id: ObjectId) -> list[BlockedContact]:
    return list(blocked_contact_list(campaign=_read(request, campaign_id)))


@router.post(
    "/{campaign_id}/blocked-contacts", response={201: BlockedOut, **WRITE_REFUSALS}, tags=["blocked contacts"]
)
def blocked_add(request: HttpRequest, campaign_id: ObjectId, payload: BlockedIn) -> Status[BlockedContact]:
    """Block a customer (their PSID) in this campaign; their messages are no longer queued."""
    campaign = _manage(request, campaign_id)
    return Status(
        201,
        blocked_contact_add(
            campaign=campaign, psid=payload.psid, note=payload.note, by=request_user(request)
        ),
    )


@router.delete(
    "/{campaign_id}/blocked-contacts/{blocked_id}",
    response={204: None, **DELETE_REFUSALS},
    tags=["blocked contacts"],
)
def blocked_remove(request: HttpRequest, campaign_id: ObjectId, blocked_id: ObjectId) -> Status[None]:
    blocked_contact_remove(
        blocked=blocked_contact_get(campaign=_manage(request, campaign_id), blocked_id=blocked_id)
    )
    return Status(204, None)
