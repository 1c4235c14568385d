"""Reads for campaigns."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Prefetch, QuerySet

from pagedesk.accounts.models import User
from pagedesk.campaigns import schedule
from pagedesk.campaigns.models import Campaign, Holiday, ScheduleRange
from pagedesk.core import clock
from pagedesk.core.errors import NotFound, PermissionDenied


def campaign_list_for_user(*, user: User) -> QuerySet[Campaign]:
    """Admins see every campaign, supervisors those they supervise, agents those they are members of."""
    campaigns = (
        Campaign.objects.select_related("page_connection")
        .annotate(members_count=Count("memberships", distinct=True))
        .prefetch_related(
            Prefetch("schedule_ranges", queryset=ScheduleRange.objects.order_by("position", "id")),
            Prefetch("holidays", queryset=Holiday.objects.order_by("date")),
        )
        .order_by("name")
    )
    if user.is_admin:
        return campaigns
    if user.is_supervisor:
        return campaigns.filter(supervisors=user)
    return campaigns.filter(memberships__agent=user)


def campaign_get_for_user(*, user: User, campaign_id: int, manage: bool = False) -> Campaign:
    """A campaign the user may see (or, with manage=True, change: admins only)."""
    if manage and not user.is_admin:
        raise PermissionDenied("forbidden", "Only administrators can change campaigns.")
    campaign = campaign_list_for_user(user=user).filter(pk=campaign_id).first()
    if campaign is None:
        if Campaign.objects.filter(pk=campaign_id).exists():
            raise PermissionDenied("forbidden", "You do not have access to this campaign.")
        raise NotFound("not_found", "There is no campaign with that id.")
    return campaign


def campaign_ranges(*, campaign: Campaign) -> list[schedule.Range]:
    return [schedule.Range(r.weekdays, r.start_minute, r.end_minute) for r in campaign.schedule_ranges.all()]


def campaign_is_open(*, campaign: Campaign, at: dt.datetime | None = None) -> bool:
    """Within the weekly schedule and not a holiday, in the campaign's time zone."""
    return schedule.is_open(
        ranges=campaign_ranges(campaign=campaign),
        holidays=[h.date for h in campaign.holidays.all()],
        timezone=campaign.timezone,
        at=at or clock.now(),
    )


def campaign_next_schedule_change(*, campaign: Campaign, at: dt.datetime | None = None) -> dt.datetime | None:
    return schedule.next_change(
        ranges=campaign_ranges(campaign=campaign),
        holidays=[h.date for h in campaign.holidays.all()],
        timezone=campaign.timezone,
        at=at or clock.now(),
    )
