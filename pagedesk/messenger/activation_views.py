"""The "Activate with Facebook" pop-up and the token check button. Thin: parse, one service, render.

Every page here renders inside the pop-up the campaign form opens (messenger/_activate_button.html).
The last one posts a message to the opener (same origin only) and closes itself.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from pagedesk.campaigns.models import Campaign
from pagedesk.campaigns.selectors import campaign_get_for_user
from pagedesk.core.errors import ApplicationError
from pagedesk.core.permissions import admin_required, supervisor_required
from pagedesk.messenger import oauth
from pagedesk.messenger.errors import GraphError
from pagedesk.messenger.models import PageConnection
from pagedesk.messenger.tokens import page_token_check


def _popup(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Pages shown in the pop-up keep their link to the opener after the trip through facebook.com.

    With COOP "same-origin" the browser would put the returning pop-up in a new browsing context group
    and window.opener would be null, so the success page could not tell the campaign page.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Cross-Origin-Opener-Policy"] = "unsafe-none"
        return response

    return wrapper


def oauth_redirect_uri(request: HttpRequest) -> str:
    """The callback URL; the same string must be used in the dialog and the code exchange."""
    path = reverse("facebook:callback")
    if settings.PUBLIC_URL:
        return f"{settings.PUBLIC_URL}{path}"
    return request.build_absolute_uri(path)


def _problem(
    request: HttpRequest,
    *,
    campaign: Campaign | None,
    title: str,
    message: str,
    status: int,
    missing: list[str] | None = None,
) -> HttpResponse:
    return render(
        request,
        "messenger/activation_problem.html",
        {
            "campaign": campaign,
            "title": title,
            "message": message,
            "missing": missing or [],
            "retry": campaign is not None,
        },
        status=status,
    )


def _graph_problem(request: HttpRequest, campaign: Campaign, exc: GraphError) -> HttpResponse:
    return _problem(
        request,
        campaign=campaign,
        title=_("Facebook did not complete the activation"),
        message=_("Facebook answered: %(error)s") % {"error": exc.message},
        status=502,
    )


@_popup
@require_GET
@admin_required
def facebook_start_view(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    state = oauth.oauth_state_create(session=request.session, campaign_id=campaign.pk)
    return redirect(oauth.oauth_dialog_url(state=state, redirect_uri=oauth_redirect_uri(request)))


@_popup
@require_GET
@admin_required
def facebook_callback_view(request: HttpRequest) -> HttpResponse:
    campaign_id = oauth.oauth_state_consume(session=request.session, state=request.GET.get("state", ""))
    if campaign_id is None:
        return _problem(
            request,
            campaign=None,
            title=_("This activation link is not valid"),
            message=_(
                "The link has expired, was already used, or was started by another session. "
                "Close this window and click 'Activate with Facebook' again."
            ),
            status=403,
        )
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    if request.GET.get("error"):
        cancelled = request.GET.get("error") == "access_denied"
        return _problem(
            request,
            campaign=campaign,
            title=_("Activation cancelled") if cancelled else _("Facebook did not complete the activation"),
            message=_("You cancelled the Facebook dialog, so the page was not connected.")
            if cancelled
            else request.GET.get("error_description", request.GET["error"]),
            status=200 if cancelled else 502,
        )
    code = request.GET.get("code", "")
    if not code:
        return _problem(
            request,
            campaign=campaign,
            title=_("Facebook did not complete the activation"),
            message=_("Facebook returned without an authorization code."),
            status=400,
        )
    try:
        short_token = oauth.user_token_from_code(code=code, redirect_uri=oauth_redirect_uri(request))
        user_token = oauth.user_token_long_lived(user_token=short_token)
        granted = oauth.permissions_granted(user_token=user_token)
        missing = oauth.permissions_missing(granted=granted)
        if missing:
            return _problem(
                request,
                campaign=campaign,
                title=_("Some permissions were declined"),
                message=_(
                    "pagedesk needs every permission below to answer your page's customers. "
                    "Click 'Try again' and leave them all ticked in the Facebook dialog."
                ),
                missing=missing,
                status=403,
            )
        pages = oauth.pages_list(user_token=user_token)
    except GraphError as exc:
        return _graph_problem(request, campaign, exc)
    oauth.activation_store(session=request.session, campaign_id=campaign.pk, permissions=granted, pages=pages)
    return _picker(request, campaign=campaign, pages=pages)


def _picker(
    request: HttpRequest,
    *,
    campaign: Campaign,
    pages: list[oauth.PageInfo],
    selected: str = "",
    error: ApplicationError | None = None,
    status: int = 200,
) -> HttpResponse:
    connection = PageConnection.objects.filter(campaign=campaign).first()
    if not selected:
        current = connection.page_id if connection else ""
        by_name = [p.id for p in pages if p.name.strip().casefold() == campaign.page_name.strip().casefold()]
        selected = current if any(p.id == current for p in pages) else (by_name[0] if by_name else "")
    return render(
        request,
        "messenger/page_picker.html",
        {
            "campaign": campaign,
            # Only ids, names and roles reach the template; page tokens never do.
            "pages": [{"id": p.id, "name": p.name, "is_admin": p.is_admin} for p in pages],
            "selected": selected,
            "connection": connection,
            "error": error,
            "ask_switch": error is not None and error.code == "page_switch",
        },
        status=status,
    )


@_popup
@require_POST
@admin_required
def facebook_page_choose_view(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    page_id = request.POST.get("page_id", "")
    try:
        permissions, pages = oauth.activation_load(session=request.session, campaign_id=campaign.pk)
    except ApplicationError as exc:
        return _problem(
            request, campaign=campaign, title=_("Activation expired"), message=exc.message, status=exc.status
        )
    page = next((p for p in pages if p.id == page_id), None)
    if page is None:
        error = ApplicationError("no_page", _("Choose one of your pages."), status=422, field="page_id")
        return _picker(request, campaign=campaign, pages=pages, error=error, status=422)
    try:
        connection = oauth.page_connection_activate(
            campaign=campaign,
            page=page,
            permissions=permissions,
            confirm_switch=bool(request.POST.get("confirm_switch")),
        )
    except ApplicationError as exc:
        return _picker(
            request, campaign=campaign, pages=pages, selected=page.id, error=exc, status=exc.status
        )
    except GraphError as exc:
        return _graph_problem(request, campaign, exc)
    oauth.activation_clear(session=request.session)
    return render(request, "messenger/activation_done.html", {"campaign": campaign, "connection": connection})


@require_POST
@supervisor_required
def facebook_check_view(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """Check the page token now (the campaign table's refresh button).

    htmx requests are redirected to the campaign's table row, which htmx follows and swaps in;
    others go back to the campaign list.
    """
    # Only campaigns this user may see (supervisors: the ones they supervise).
    campaign = campaign_get_for_user(user=request.user, campaign_id=campaign_id)  # type: ignore[arg-type]
    connection = get_object_or_404(PageConnection, campaign=campaign)
    if connection.token_encrypted:
        page_token_check(page_connection=connection)
    if getattr(request, "htmx", False):
        try:
            return redirect(reverse("campaigns:row", args=[campaign_id]))
        except NoReverseMatch:
            connection.refresh_from_db()
            return render(request, "_token_badge.html", {"connection": connection})
    return redirect("campaigns:list")
