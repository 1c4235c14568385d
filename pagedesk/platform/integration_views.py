"""Admin pages for integrations and their tokens (/integrations/). Thin: parse → one service → render.

A token's raw value is shown once: the POST that creates it keeps it in the session for the one GET
its redirect makes (pagedesk.core.once), so reloading that page shows "already shown" instead of
minting a second token; the page is `Cache-Control: no-store`, so the browser keeps no copy either.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pagedesk.accounts.models import User
from pagedesk.campaigns.selectors import integration_get, integration_list, integration_token_get
from pagedesk.campaigns.services import (
    integration_create,
    integration_revoke,
    integration_token_create,
    integration_token_revoke,
    integration_update_campaigns,
)
from pagedesk.core.errors import ApplicationError
from pagedesk.core.forms import apply_error
from pagedesk.core.once import shown_once_keep, shown_once_take
from pagedesk.core.permissions import admin_required
from pagedesk.platform.integration_forms import IntegrationCampaignsForm, IntegrationForm, TokenForm
from pagedesk.platform.selectors import webhook_endpoints_disabled_count

TOKEN_ONCE = "integration_token"


def _admin(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@require_GET
@admin_required
def integration_list_view(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "platform/integration_list.html",
        {
            "nav": "integrations",
            "integrations": integration_list(),
            "token_form": TokenForm(),
            # The Integrations link leads here: an endpoint disabled after 24 h of failures shows on
            # the Webhooks tab from this page too.
            "disabled_endpoints": webhook_endpoints_disabled_count(),
        },
    )


@admin_required
def integration_create_view(request: HttpRequest) -> HttpResponse:
    form = IntegrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            integration = integration_create(
                name=form.cleaned_data["name"],
                campaign_ids=[c.pk for c in form.cleaned_data["campaigns"]],
                created_by=_admin(request),
            )
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            messages.success(
                request,
                _("Integration “%(name)s” created. Add a token to let it use the API.")
                % {"name": integration.name},
            )
            return redirect("platform:integration_list")
    return render(
        request,
        "platform/integration_form.html",
        {"nav": "integrations", "form": form},
        status=422 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@admin_required
def integration_campaigns_view(request: HttpRequest, integration_id: int) -> HttpResponse:
    """Change the campaigns an integration works in (as PUT /api/v1/integrations/{id}/campaigns)."""
    integration = integration_get(integration_id=integration_id)
    # Bound on every POST, even one with no box ticked (an empty POST is falsy).
    form = IntegrationCampaignsForm(
        request.POST if request.method == "POST" else None,
        initial={"campaigns": list(integration.campaigns.all())},
    )
    if request.method == "POST" and form.is_valid():
        try:
            integration_update_campaigns(
                integration=integration, campaign_ids=[c.pk for c in form.cleaned_data["campaigns"]]
            )
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            messages.success(
                request,
                _("“%(name)s” now works in: %(campaigns)s.")
                % {
                    "name": integration.name,
                    "campaigns": ", ".join(c.name for c in form.cleaned_data["campaigns"]),
                },
            )
            return redirect("platform:integration_list")
    return render(
        request,
        "platform/integration_campaigns.html",
        {"nav": "integrations", "form": form, "integration": integration},
        status=422 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@admin_required
def integration_token_create_view(request: HttpRequest, integration_id: int) -> HttpResponse:
    """POST adds a token and redirects here; the GET shows its raw value once (a reload: "already
    shown")."""
    integration = integration_get(integration_id=integration_id)
    if request.method == "GET":
        response = render(
            request,
            "platform/integration_token.html",
            {
                "nav": "integrations",
                "integration": integration,
                "raw": shown_once_take(request, purpose=TOKEN_ONCE, ref=integration.pk),
            },
        )
        response["Cache-Control"] = "no-store"
        return response
    form = TokenForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("platform:integration_list")
    try:
        _token, raw = integration_token_create(integration=integration, name=form.cleaned_data["name"])
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("platform:integration_list")
    shown_once_keep(request, purpose=TOKEN_ONCE, ref=integration.pk, value=raw)
    return redirect("platform:integration_token_create", integration_id=integration.pk)


@require_POST
@admin_required
def integration_token_revoke_view(request: HttpRequest, integration_id: int, token_id: int) -> HttpResponse:
    integration = integration_get(integration_id=integration_id)
    token = integration_token_get(integration=integration, token_id=token_id)
    integration_token_revoke(integration=integration, token=token)
    messages.success(request, _("Token %(prefix)s… revoked: it no longer works.") % {"prefix": token.prefix})
    return redirect("platform:integration_list")


@require_POST
@admin_required
def integration_revoke_view(request: HttpRequest, integration_id: int) -> HttpResponse:
    integration = integration_revoke(integration=integration_get(integration_id=integration_id))
    messages.success(
        request,
        _("Integration “%(name)s” revoked: none of its tokens works any more. Its messages stay.")
        % {"name": integration.name},
    )
    return redirect("platform:integration_list")
