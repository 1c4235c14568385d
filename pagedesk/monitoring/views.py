"""The supervisor board: a page per campaign and one for all the user's campaigns, each with a live
fragment that re-fetches on events (throttled in board.js) and on every websocket (re)connect."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from pagedesk.accounts.models import Presence, User
from pagedesk.campaigns.models import Campaign
from pagedesk.campaigns.selectors import agent_get_for_user
from pagedesk.core import clock
from pagedesk.core.errors import ApplicationError
from pagedesk.core.permissions import supervisor_required
from pagedesk.monitoring.selectors import (
    BoardSnapshot,
    board_campaign_get_for_user,
    board_campaigns_for_user,
    board_snapshot,
    board_snapshot_for_campaigns,
)
from pagedesk.routing import services
from pagedesk.routing.selectors import conversation_get_for_user
from pagedesk.routing.services import presence_set

# Everything that can change a board: presence, conversation lifecycle, queue length, new messages.
BOARD_EVENTS = " ".join(
    [
        "agent.status_changed",
        "conversation.queued",
        "conversation.assigned",
        "conversation.closed",
        "conversation.abandoned",
        "conversation.transferred",
        "queue.changed",
        "message.created",
        "campaign.changed",
    ]
)


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _context(
    request: HttpRequest, snapshot: BoardSnapshot, *, campaign: Campaign | None
) -> dict[str, object]:
    return {
        "nav": "board",
        "snapshot": snapshot,
        "campaign": campaign,
        "campaigns": board_campaigns_for_user(user=_user(request)),
        "board_events": BOARD_EVENTS,
        # The board's forms come back here after an action. Not request.path: once a live refresh has
        # swapped the fragment in, that is the fragment's URL, and the action landed on a bare fragment.
        "board_url": (
            reverse("monitoring:board", args=[campaign.pk]) if campaign else reverse("monitoring:board_all")
        ),
        "fragment_url": (
            reverse("monitoring:board_fragment", args=[campaign.pk])
            if campaign
            else reverse("monitoring:board_all_fragment")
        ),
    }


@require_GET
@supervisor_required
def board_all_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    snapshot = board_snapshot_for_campaigns(campaigns=board_campaigns_for_user(user=user), now=clock.now())
    return render(request, "monitoring/board.html", _context(request, snapshot, campaign=None))


@require_GET
@supervisor_required
def board_all_fragment_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    snapshot = board_snapshot_for_campaigns(campaigns=board_campaigns_for_user(user=user), now=clock.now())
    return render(request, "monitoring/_board.html", _context(request, snapshot, campaign=None))


@require_GET
@supervisor_required
def board_view(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = board_campaign_get_for_user(user=_user(request), campaign_id=campaign_id)
    snapshot = board_snapshot(campaign=campaign, now=clock.now())
    return render(request, "monitoring/board.html", _context(request, snapshot, campaign=campaign))


@require_GET
@supervisor_required
def board_fragment_view(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = board_campaign_get_for_user(user=_user(request), campaign_id=campaign_id)
    snapshot = board_snapshot(campaign=campaign, now=clock.now())
    return render(request, "monitoring/_board.html", _context(request, snapshot, campaign=campaign))


def _back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("monitoring:board_all")


@require_POST
@supervisor_required
def agent_force_offline_view(request: HttpRequest, agent_id: int) -> HttpResponse:
    """Force an agent Offline; the PresenceChange row (changed_by, note) is the audit trail."""
    user = _user(request)
    agent = agent_get_for_user(user=user, agent_id=agent_id)
    try:
        presence_set(
            agent=agent,
            presence=Presence.OFFLINE,
            changed_by=user,
            note=_("Set Offline by %(name)s from the board") % {"name": user.name},
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(name)s is now Offline.") % {"name": agent.name})
    return _back(request)


@require_POST
@supervisor_required
def conversation_return_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Put an assigned conversation back in its queue (routing records the event with the actor)."""
    user = _user(request)
    conversation = conversation_get_for_user(user=user, conversation_id=conversation_id)
    try:
        services.conversation_return_to_queue(conversation=conversation, by=user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The conversation is back in the queue."))
    return _back(request)
