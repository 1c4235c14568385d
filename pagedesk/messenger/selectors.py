"""Messenger reads: a campaign's page connection and the webhook events parked for an admin."""

from __future__ import annotations

from django.utils.translation import gettext as _

from pagedesk.campaigns.models import Campaign
from pagedesk.core.errors import NotFound
from pagedesk.messenger.models import InboundEvent, InboundEventStatus, PageConnection


def page_connection_get(*, campaign: Campaign) -> PageConnection:
    """The campaign's Facebook page (every campaign has its row from creation; 404 if it was removed)."""
    connection = PageConnection.objects.filter(campaign=campaign).first()
    if connection is None:
        raise NotFound(
            "no_page",
            _("Campaign “%(name)s” has no Facebook page: activate it with Facebook from the campaign page.")
            % {"name": campaign.name},
        )
    return connection


def parked_event_list(*, page_id: str | None = None, limit: int) -> list[InboundEvent]:
    """The newest parked webhook events (what Facebook sent that pagedesk could not read or store), of
    one page when page_id is given. A body unreadable as a whole has no page: only the unfiltered
    list (the Facebook settings page) shows it."""
    parked = InboundEvent.objects.filter(status=InboundEventStatus.PARKED)
    if page_id is not None:
        parked = parked.filter(page_id=page_id)
    return list(parked.order_by("-received_at", "-id")[:limit])


def parked_event_get(*, event_id: int, page_id: str) -> InboundEvent:
    """A parked event of the page; 404 for another page's, one replayed already or an unknown id."""
    event = InboundEvent.objects.filter(
        pk=event_id, page_id=page_id, status=InboundEventStatus.PARKED
    ).first()
    if event is None:
        raise NotFound(
            "not_found",
            _("There is no parked event with id %(id)s for this page.") % {"id": event_id},
            field="event_ids",
        )
    return event
