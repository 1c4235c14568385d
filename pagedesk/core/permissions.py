"""Role checks for views. The API applies the same rules through the same predicates."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from pagedesk.core.errors import ApplicationError


def can_manage(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_admin)


def can_supervise(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and (user.is_admin or user.is_supervisor))


def forbidden(request: HttpRequest, message: str | None = None) -> HttpResponse:
    return render(
        request,
        "403.html",
        {"message": message or _("Your role does not allow this page.")},
        status=403,
    )


def role_required(
    predicate: Callable[[Any], bool],
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not predicate(request.user):
                return forbidden(request)
            try:
                return view(request, *args, **kwargs)
            except ApplicationError as exc:
                if exc.status in (403, 404):
                    return render(request, f"{exc.status}.html", {"message": exc.message}, status=exc.status)
                raise

        return wrapper

    return decorator


admin_required = role_required(can_manage)
supervisor_required = role_required(can_supervise)
any_role_required = role_required(lambda user: user.is_authenticated and user.is_active)
