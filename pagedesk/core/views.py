from __future__ import annotations

import asyncio
import ipaddress

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.views import defaults
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

# Headers a reverse proxy adds. A request carrying one came through a proxy, so its loopback socket
# peer says nothing about who is asking; their values are never trusted (no trusted-proxy setting yet).
_FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def favicon_view(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever a page links; the file itself is a static file, served by
    ServeStatic under its hashed, long-cached name."""
    return HttpResponsePermanentRedirect(static("pagedesk/favicon.ico"))


def healthz_view(request: HttpRequest) -> HttpResponse:
    """The process is up and answering; checks nothing else, so a load balancer never flaps on the DB."""
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


async def readyz_view(request: HttpRequest) -> HttpResponse:
    checks: dict[str, str] = {}
    try:
        checks["database"] = "ok" if await sync_to_async(_database_ok)() else "failed"
    except Exception as exc:
        checks["database"] = f"failed: {exc.__class__.__name__}"
    try:
        layer = get_channel_layer()
        if layer is None:
            raise RuntimeError("no channel layer")
        channel = await layer.new_channel()
        await asyncio.wait_for(layer.send(channel, {"type": "ping"}), timeout=2)
        await asyncio.wait_for(layer.receive(channel), timeout=2)
        checks["channel_layer"] = "ok"
    except Exception as exc:
        checks["channel_layer"] = f"failed: {exc.__class__.__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )


def _refusal(code: str, message: str, *, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def _is_local_scrape(request: HttpRequest) -> bool:
    """The socket peer is a loopback address and no proxy forwarded the request."""
    if any(request.META.get(header) for header in _FORWARDING_HEADERS):
        return False
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR") or "")
    except ValueError:
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
        peer = peer.ipv4_mapped
    return peer.is_loopback


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics: with PAGEDESK_METRICS_TOKEN, for its bearer only; without, for localhost only.

    The figures (request rates, login failures, Graph errors) help an attacker time and tune an attack.
    """
    token: str = settings.METRICS_TOKEN
    if token:
        scheme, _sep, supplied = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not constant_time_compare(supplied.strip(), token):
            response = _refusal(
                "metrics_token_required",
                _("Send the metrics token (PAGEDESK_METRICS_TOKEN) as “Authorization: Bearer <token>”."),
                status=401,
            )
            response["WWW-Authenticate"] = 'Bearer realm="pagedesk metrics"'
            return response
    elif not _is_local_scrape(request):
        return _refusal(
            "metrics_local_only",
            _(
                "Metrics are only served to this machine. To scrape them from elsewhere, set "
                "PAGEDESK_METRICS_TOKEN and send it as “Authorization: Bearer <token>”."
            ),
            status=403,
        )
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)


def home_view(request: HttpRequest) -> HttpResponse:
    """Send each role to the page its day starts on."""
    user = request.user
    if not user.is_authenticated:
        return redirect("accounts:login")
    if user.is_agent:
        return redirect("inbox:inbox")
    if user.is_supervisor:
        # A supervisor's day is watching the floor; campaigns are set up once, mostly by admins.
        return redirect("monitoring:board_all")
    return redirect("campaigns:list")


def bad_request_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 400 (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, a malformed multipart…), refused before any
    view runs: the API answers it in its documented JSON shape, the pages with the usual error page."""
    if request.path.startswith("/api/"):
        if isinstance(exception, RequestDataTooBig):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
            message = _("The request body is larger than the %(mb).1f MB pagedesk accepts.") % {
                "mb": limit / 1_000_000
            }
            code = "too_large"
        else:
            message, code = _("The request could not be read."), "bad_request"
        return JsonResponse({"error": {"code": code, "message": message}}, status=400)
    return defaults.bad_request(request, exception)  # type: ignore[arg-type]
