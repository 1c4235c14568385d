from __future__ import annotations

import math

from axes.helpers import get_cool_off
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from pagedesk.accounts.forms import ApiTokenForm, BreakReasonForm, LoginForm, UserCreateForm, UserEditForm
from pagedesk.accounts.models import PERSON_ROLES, BreakReason, Role, User
from pagedesk.accounts.selectors import (
    api_token_get_for_user,
    api_token_list_for_user,
    break_reason_list,
    locked_usernames,
    user_get,
    user_list,
)
from pagedesk.accounts.services import (
    api_token_create,
    api_token_revoke,
    break_reason_create,
    break_reason_update,
    user_create,
    user_unlock,
    user_update,
)
from pagedesk.core.errors import ApplicationError
from pagedesk.core.forms import apply_error
from pagedesk.core.once import shown_once_keep, shown_once_take
from pagedesk.core.permissions import admin_required, any_role_required

TOKEN_ONCE = "api_token"


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True
    authentication_form = LoginForm


def locked_out_view(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """django-axes' lock-out response (AXES_LOCKOUT_CALLABLE): the page says how long the cool-off
    lasts and who can lift it sooner, in whole minutes rather than axes' ISO 8601 duration."""
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    return render(request, "accounts/locked_out.html", {"cooloff_minutes": minutes}, status=429)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("You are logged out."))
    return redirect("accounts:login")


@admin_required
def user_list_view(request: HttpRequest) -> HttpResponse:
    role = request.GET.get("role", "")
    users = user_list(role=role if role in dict(PERSON_ROLES) else None)
    return render(
        request,
        "accounts/user_list.html",
        {
            "nav": "users",
            "users": users,
            "roles": PERSON_ROLES,
            "role": role,
            "locked": locked_usernames(),
        },
    )


@require_POST
@admin_required
def user_unlock_view(request: HttpRequest, user_id: int) -> HttpResponse:
    target = user_get(user_id=user_id)
    if user_unlock(user=target):
        messages.success(
            request, _("“%(name)s” is unlocked and can log in again.") % {"name": target.username}
        )
    else:
        messages.info(request, _("“%(name)s” was not locked.") % {"name": target.username})
    return redirect("accounts:user_list")


@admin_required
def user_create_view(request: HttpRequest) -> HttpResponse:
    # ?role=agent preselects the role, for links such as a campaign's "Create an agent".
    role = request.GET.get("role")
    form = UserCreateForm(
        request.POST or None, initial={"role": role} if role in dict(PERSON_ROLES) else None
    )
    if request.method == "POST" and form.is_valid():
        try:
            user = user_create(**form.cleaned_data)
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("User “%(name)s” created.") % {"name": user.username})
            return redirect("accounts:user_list")
    status = 422 if request.method == "POST" else 200
    return render(
        request, "accounts/user_form.html", {"nav": "users", "form": form, "creating": True}, status=status
    )


@admin_required
def user_edit_view(request: HttpRequest, user_id: int) -> HttpResponse:
    target = user_get(user_id=user_id)
    initial = {
        "role": target.role,
        "first_name": target.first_name,
        "last_name": target.last_name,
        "email": target.email,
        "is_active": target.is_active,
    }
    form = UserEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if target.pk == request.user.pk and (data["role"] != Role.ADMIN or not data["is_active"]):
            form.add_error(None, _("You cannot remove your own administrator role or deactivate yourself."))
        else:
            try:
                user_update(user=target, **data)
            except ApplicationError as exc:
                apply_error(form, exc)
            else:
                messages.success(request, _("User “%(name)s” saved.") % {"name": target.username})
                return redirect("accounts:user_list")
    status = 422 if request.method == "POST" else 200
    return render(
        request, "accounts/user_form.html", {"nav": "users", "form": form, "target": target}, status=status
    )


@admin_required
def break_reasons_view(request: HttpRequest) -> HttpResponse:
    form = BreakReasonForm(request.POST or None)
    if request.method == "POST":
        if "toggle" in request.POST:
            reason = get_object_or_404(BreakReason, pk=request.POST["toggle"])
            break_reason_update(reason=reason, active=not reason.active)
            return redirect("accounts:break_reasons")
        if form.is_valid():
            try:
                break_reason_create(name=form.cleaned_data["name"])
            except ApplicationError as exc:
                apply_error(form, exc)
            else:
                messages.success(request, _("Break reason added."))
                return redirect("accounts:break_reasons")
    return render(
        request,
        "accounts/break_reasons.html",
        {"nav": "breaks", "form": form, "reasons": break_reason_list(active_only=False)},
        status=422 if request.method == "POST" else 200,
    )


@any_role_required
def api_tokens_view(request: HttpRequest) -> HttpResponse:
    """The user's own API tokens: last use, revoke, and a new one shown once (never stored raw).

    POST creates and redirects here; the GET shows the raw value once (pagedesk.core.once), so a reload
    neither shows it again nor mints another token."""
    user = request.user
    assert isinstance(user, User)
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            token, raw = api_token_create(user=user, name=form.cleaned_data["name"] or "web")
            shown_once_keep(request, purpose=TOKEN_ONCE, ref=token.pk, value=raw)
            return redirect("accounts:api_tokens")
        status = 422
    else:
        status = 200
    context = {
        "nav": "tokens",
        "form": form,
        "raw": shown_once_take(request, purpose=TOKEN_ONCE) if request.method == "GET" else None,
        "tokens": api_token_list_for_user(user=user),
    }
    response = render(request, "accounts/api_tokens.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@any_role_required
def api_token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    token = api_token_get_for_user(user=user, token_id=token_id)
    api_token_revoke(token=token)
    messages.success(request, _("Token %(prefix)s… revoked: it no longer works.") % {"prefix": token.prefix})
    return redirect("accounts:api_tokens")
