"""Admin pages for outbound webhooks (under /integrations/webhooks/): endpoints, their state, the
delivery log, "Send a test event", redeliver, re-enable. Each view calls one service or selector."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pagedesk.accounts.models import User
from pagedesk.core.errors import ApplicationError
from pagedesk.core.forms import apply_error
from pagedesk.core.once import shown_once_keep, shown_once_take
from pagedesk.core.permissions import admin_required
from pagedesk.platform.models import OPEN_DELIVERY_STATES, WebhookEndpoint
from pagedesk.platform.selectors import (
    webhook_delivery_get,
    webhook_delivery_list,
    webhook_endpoint_get,
    webhook_endpoint_list,
    webhook_endpoint_timezone,
)
from pagedesk.platform.services import (
    webhook_delivery_redeliver,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_disable,
    webhook_endpoint_enable,
    webhook_endpoint_secret_rotate,
    webhook_endpoint_test,
    webhook_endpoint_update,
)
from pagedesk.platform.webhook_forms import DeliveryFilter, WebhookCreateForm, WebhookForm

LOG_PAGE_SIZE = 25
NAV = "integrations"
SECRET_CREATED = "webhook_secret_created"
SECRET_ROTATED = "webhook_secret_rotated"


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@admin_required
def webhook_list_view(request: HttpRequest) -> HttpResponse:
    endpoints = list(webhook_endpoint_list())
    disabled = [e for e in endpoints if not e.enabled and e.disabled_reason]
    return render(
        request,
        "platform/webhooks/list.html",
        {"nav": NAV, "endpoints": endpoints, "disabled": disabled, "disabled_endpoints": len(disabled)},
    )


@admin_required
def webhook_create_view(request: HttpRequest) -> HttpResponse:
    form = WebhookCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = webhook_endpoint_create(
                spec=form.spec(), created_by=_user(request), secret=form.cleaned_data["secret"] or None
            )
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            # Shown by the GET the redirect makes, once: a reload registers no second endpoint.
            shown_once_keep(request, purpose=SECRET_CREATED, ref=endpoint.pk, value=secret)
            return redirect("platform:webhook_rotate", endpoint_id=endpoint.pk)
    status = 422 if request.method == "POST" else 200
    return render(
        request, "platform/webhooks/form.html", {"nav": NAV, "form": form, "creating": True}, status=status
    )


def _initial(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
        "all_campaigns": endpoint.all_campaigns,
        "campaigns": list(endpoint.campaigns.all()),
    }


@admin_required
def webhook_edit_view(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = webhook_endpoint_get(endpoint_id=endpoint_id)
    form = WebhookForm(request.POST or None, initial=_initial(endpoint))
    if request.method == "POST" and form.is_valid():
        try:
            webhook_endpoint_update(endpoint=endpoint, spec=form.spec())
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Endpoint saved."))
            return redirect("platform:webhook_detail", endpoint_id=endpoint.pk)
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "platform/webhooks/form.html",
        {"nav": NAV, "form": form, "endpoint": endpoint},
        status=status,
    )


def _log_context(request: HttpRequest, endpoint: WebhookEndpoint) -> dict[str, Any]:
    filters = DeliveryFilter(request.GET or None)
    state = event_type = ""
    if filters.is_valid():
        state, event_type = filters.cleaned_data["state"], filters.cleaned_data["event_type"]
    rows = webhook_delivery_list(endpoint=endpoint, state=state, event_type=event_type).prefetch_related(
        "attempt_rows"
    )
    page = Paginator(rows, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    return {
        "endpoint": endpoint,
        "filters": filters,
        "page": page,
        "query": request.GET.urlencode(),
        "log_timezone": webhook_endpoint_timezone(endpoint=endpoint),
        # The log refreshes itself while something on it is still on its way.
        "refresh": any(d.state in OPEN_DELIVERY_STATES for d in page.object_list),
    }


@require_GET
@admin_required
def webhook_detail_view(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = webhook_endpoint_get(endpoint_id=endpoint_id)
    return render(request, "platform/webhooks/detail.html", {"nav": NAV, **_log_context(request, endpoint)})


@require_GET
@admin_required
def webhook_log_view(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    """The delivery log alone (the detail page re-fetches it while deliveries are pending)."""
    endpoint = webhook_endpoint_get(endpoint_id=endpoint_id)
    return render(request, "platform/webhooks/_log.html", _log_context(request, endpoint))


@require_POST
@admin_required
def webhook_test_view(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = webhook_endpoint_get(endpoint_id=endpoint_id)
    webhook_endpoint_test(endpoint=endpoint, by=_user(request))
    messages.success(request, _("Test event queued; its outcome appears in the log below."))
    return redirect("platform:webhook_detail", endpoint_id=endpoint.pk)


@require_POST
@admin_required
def webhook_redeliver_view(request: HttpRequest, endpoint_id: int, delivery_id: str) -> HttpResponse:
    endpoint = webhook_endpoint_get(endpoint_id=endpoint_id)
    try:
        webhook_delivery_redeliver(delivery=webhook_delivery_get(endpoint=endpoint, delivery_id=delivery_id))
    except ApplicationError as exc:
        if exc.status == 404:
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Delivery queued again, with the same id."))
    return redirect("platform:webhook_detail", endpoint_id=endpoint.pk)


@require_POST
@admin_required
def webhook_enable_view(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = webhook_endpoint_get(endpoint_id=endpoint_id)
    if endpoint.enabled:
        webhook_endpoint_disable(endpoint=endpoint, by=_user(request))
        messages.success(request, _("Endpoint disabled: nothing more is sent to it."))
    else:
        webhook_endpoint_enable(endpoint=endpoint)
        messages.success(request, _("Endpoint enabled again; its pending deliveries go out now."))
    return redirect("platform:webhook_detail", endpoint_id=endpoint.pk)


@require_http_methods(["GET", "POST"])
@admin_required
def webhook_rotate_view(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    """POST rotates the secret and redirects here; the GET shows the new secret (or the one of a
    just-registered endpoint) once, and after that says it was already shown."""
    endpoint = webhook_endpoint_get(endpoint_id=endpoint_id)
    if request.method == "POST":
        rotated = webhook_endpoint_secret_rotate(endpoint=endpoint)
        shown_once_keep(request, purpose=SECRET_ROTATED, ref=endpoint.pk, value=rotated)
        return redirect("platform:webhook_rotate", endpoint_id=endpoint.pk)
    created = shown_once_take(request, purpose=SECRET_CREATED, ref=endpoint.pk)
    secret = created or shown_once_take(request, purpose=SECRET_ROTATED, ref=endpoint.pk)
    response = render(
        request,
        "platform/webhooks/secret.html",
        {"nav": NAV, "endpoint": endpoint, "secret": secret, "created": created is not None},
    )
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@admin_required
def webhook_delete_view(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = webhook_endpoint_get(endpoint_id=endpoint_id)
    webhook_endpoint_delete(endpoint=endpoint)
    messages.success(request, _("Endpoint deleted."))
    return redirect("platform:webhook_list")
