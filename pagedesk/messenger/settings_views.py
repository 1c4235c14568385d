"""The admin's Facebook settings page: what to paste into the Meta app, and whether Facebook can reach us.

Facebook delivers webhooks from the internet, so PAGEDESK_PUBLIC_URL must be a public address; the page
warns when it is unset, a loopback name/address or a private (RFC 1918) address.
https://developers.facebook.com/docs/messenger-platform/webhooks#configure-webhooks-product
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlparse

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from pagedesk.core.errors import ApplicationError
from pagedesk.core.permissions import admin_required
from pagedesk.messenger.ingest import inbound_event_replay
from pagedesk.messenger.models import InboundEvent, InboundEventStatus
from pagedesk.messenger.selectors import parked_event_list

WEBHOOK_PATH_FALLBACK = "/webhooks/messenger"


def public_url_problem(public_url: str) -> str:
    """Why Facebook could not reach this URL, or "" when it looks public."""
    if not public_url:
        return _(
            "PAGEDESK_PUBLIC_URL is not set. Facebook must reach pagedesk's webhook from the internet: set it "
            "to the public https address of this server (for example https://desk.example.com)."
        )
    parsed = urlparse(public_url)
    host = (parsed.hostname or "").lower()
    if parsed.scheme not in {"http", "https"} or not host:
        return _("PAGEDESK_PUBLIC_URL “%(url)s” is not a full http(s) URL.") % {"url": public_url}
    if host == "localhost" or host.endswith(".localhost") or host.endswith(".local"):
        return _(
            "PAGEDESK_PUBLIC_URL points at “%(host)s”, which only this machine can reach. Facebook must reach the "
            "webhook from the internet."
        ) % {"host": host}
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None and (address.is_loopback or address.is_private or address.is_link_local):
        return _(
            "PAGEDESK_PUBLIC_URL uses the private address %(host)s. Facebook must reach the webhook from the "
            "internet: use a public address or a tunnel."
        ) % {"host": host}
    if parsed.scheme != "https":
        return _("Facebook only delivers webhooks to https URLs; PAGEDESK_PUBLIC_URL uses http.")
    return ""


def _path(name: str, fallback: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return fallback


@require_GET
@admin_required
def facebook_settings_view(request: HttpRequest) -> HttpResponse:
    public_url = settings.PUBLIC_URL
    base = public_url or request.build_absolute_uri("/").rstrip("/")
    return render(
        request,
        "messenger/settings.html",
        {
            "nav": "facebook",
            "public_url": public_url,
            "problem": public_url_problem(public_url),
            "callback_url": f"{base}{reverse('facebook:callback')}",
            "webhook_url": f"{base}{_path('messenger:webhook', WEBHOOK_PATH_FALLBACK)}",
            "verify_token": settings.FACEBOOK_VERIFY_TOKEN,
            "app_id": settings.FACEBOOK_APP_ID,
            "app_secret_set": bool(settings.FACEBOOK_APP_SECRET),
            "graph_url": settings.FACEBOOK_GRAPH_URL,
            "graph_version": settings.FACEBOOK_GRAPH_VERSION,
            "parked": parked_event_list(limit=PARKED_SHOWN),
            "parked_count": InboundEvent.objects.filter(status=InboundEventStatus.PARKED).count(),
        },
    )


PARKED_SHOWN = 50


@require_POST
@admin_required
def parked_event_replay_view(request: HttpRequest, event_id: int) -> HttpResponse:
    event = get_object_or_404(InboundEvent, pk=event_id, status=InboundEventStatus.PARKED)
    try:
        stored = inbound_event_replay(event=event)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            ngettext(
                "Replayed: %(n)d event stored for processing.",
                "Replayed: %(n)d events stored for processing.",
                stored,
            )
            % {"n": stored},
        )
    return redirect(f"{reverse('facebook:settings')}#parked")
