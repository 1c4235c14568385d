from __future__ import annotations

import asyncio

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest


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


def metrics_view(request: HttpRequest) -> HttpResponse:
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
