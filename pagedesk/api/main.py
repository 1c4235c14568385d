"""The /api/v1 NinjaAPI. Each resource has its router in this package (`accounts.py`, `campaigns.py`,
`monitoring.py`, their shapes in `*_schemas.py`); routers.py mounts them.

Every refusal has one shape, `{"error": {"code": "...", "message": "...", ["field", "fields"]}}`,
whichever layer refused: ninja's auth (401), its body parser (400), pydantic (422), a service's
ApplicationError (its own status), Django's Http404, a method the path does not take (405) or a
path no endpoint serves (404); the last two never reach ninja's exception handlers, so
`with_json_refusals` wraps the URL patterns for them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver, re_path, reverse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from pagedesk.api.auth import api_auth
from pagedesk.api.docs import ApiDocs
from pagedesk.api.parser import BodyRefused, TextParser
from pagedesk.core.errors import ApplicationError


class PagedeskApi(NinjaAPI):
    def get_openapi_operation_id(self, operation: Any) -> str:
        """`pagedesk_<resource>_api_<function>`: the ids generated clients name their methods by. They
        were ninja's default (the view's module path) while the routers lived in `<app>/api.py`, and
        stayed the same when the routers moved into this package."""
        resource = operation.view_func.__module__.rsplit(".", 1)[-1]
        return f"pagedesk_{resource}_api_{operation.view_func.__name__}"


api = PagedeskApi(
    title="pagedesk API",
    version="1",
    description=(
        "Campaigns, users, presence and the contact-center state of pagedesk. Authenticate with a "
        "personal token (`pagedesk apitoken --username U`) or an integration's token (`pagedesk apitoken "
        "--integration NAME --campaign ID`, or the Integrations page; it acts only in its campaigns), sent "
        "as `Authorization: Bearer <token>`, or "
        "with the browser session plus the CSRF token. Every refusal is "
        '`{"error": {"code", "message", "fields"?}}`: 401 without valid credentials, 403 when the role '
        "does not allow it, 404 for an unknown id the caller may see or a path no endpoint serves, 405 "
        "(with an `Allow` header) for a method the path does not take, 409 for a conflict (duplicate name, "
        "a campaign with history), 422 for a malformed or out-of-range field, 400 for a rule the request "
        "breaks as a whole (overlapping schedule ranges, weak password, non-agent member). "
        "Paged lists (users, break reasons, conversations, contacts, recordings) take "
        "`?page=N&page_size=M` and answer `{items, count, page, page_size, pages, next, previous}`; a page "
        "past the last is a 404. "
        "The work itself: `GET /conversations` (filters campaign, state, agent, contact, q, from, to, "
        "updated_since; `order=oldest`), `GET /conversations/{id}` (with the messaging window and the "
        "transfer in progress), `GET /conversations/{id}/messages` (cursor pages: `?before=<message id>` "
        "for older, `?after=<message id>` for newer; the answer's `before`/`after` are the next cursors), "
        "`GET /conversations/{id}/transcript` (JSON, or the CSV download with `Accept: text/csv`), "
        "`GET /attachments/{id}` (the file), `GET /contacts`, `GET /contacts/{id}`, `GET /recordings` "
        "(the recordings page's search) and `GET /pages` (each connected page's token and webhook "
        "health). They follow the pages' rules: admins see everything, supervisors their campaigns, "
        "agents the conversations they took part in, and an integration's token its campaigns only; a "
        "conversation, contact or attachment outside them is a 403 for a person and a 404 for an "
        "integration."
    ),
    auth=api_auth,
    urls_namespace="api",
    parser=TextParser(),
    docs=ApiDocs(),
)


def _error(request: HttpRequest, status: int, code: str, message: str, **extra: object) -> HttpResponse:
    return api.create_response(request, {"error": {"code": code, "message": message, **extra}}, status=status)


@api.exception_handler(ApplicationError)
def application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", []) if part not in {"body", "payload", "query", "path"}]
        msg = str(error.get("msg", "invalid"))
        # pydantic prefixes messages raised by our validators with "Value error, ".
        fields.setdefault(".".join(loc) or "__all__", []).append(msg.removeprefix("Value error, "))
    message = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in fields.items())
    return _error(request, 422, "invalid", message or _("The request is not valid."), fields=fields)


@api.exception_handler(AuthenticationError)
def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(
        request,
        401,
        "unauthenticated",
        _(
            "Log in, or send a valid API token (yours, or an integration's) as `Authorization: Bearer <token>`."
        ),
    )


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 403 and "CSRF" in exc.message:
        return _error(
            request,
            403,
            "csrf_failed",
            _("The CSRF check failed: send the X-CSRFToken header with session auth."),
        )
    if isinstance(exc.__cause__, BodyRefused):
        # ninja turns every parser exception into a 400; a body of the wrong shape is invalid, like a
        # field of the wrong type.
        fields = exc.__cause__.fields
        message = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in fields.items())
        return _error(request, 422, "invalid", message, fields=fields)
    if exc.status_code == 400 and "parse" in exc.message:
        return _error(request, 400, "bad_request", _("The request body is not valid JSON."))
    return _error(request, exc.status_code, "http_error", str(exc))


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", _("Not found."))


@api.exception_handler(OverflowError)
def number_out_of_range(request: HttpRequest, exc: OverflowError) -> HttpResponse:
    # Safety net for a router that takes an unbounded int: SQLite refuses integers past 64 bits
    # (our own routers bound ids with pagedesk.api.schemas.ObjectId).
    return _error(request, 422, "invalid", _("A number in the request is out of range."))


# --- Refusals outside ninja's operations ---------------------------------------------------------
# ninja answers a method its path does not take with a bare text/html "Method not allowed" from
# inside its path view (no exception, so no handler above sees it), and a path matching no endpoint
# falls through to the site's HTML 404 page. Both are rewritten here so a script gets the same JSON
# shape as for every other refusal.


def _method_not_allowed(request: HttpRequest, refused: HttpResponseBase) -> HttpResponse:
    allowed = sorted(method.strip() for method in refused["Allow"].split(",") if method.strip())
    response = _error(
        request,
        405,
        "method_not_allowed",
        _("%(method)s is not allowed on %(path)s; use %(allowed)s.")
        % {"method": request.method, "path": request.path, "allowed": ", ".join(allowed)},
    )
    response["Allow"] = ", ".join(allowed)
    return response


def _json_405(view: Callable[..., Any]) -> Callable[..., Any]:
    if iscoroutinefunction(view):

        async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            response = await view(request, *args, **kwargs)
            if isinstance(response, HttpResponseNotAllowed):
                return _method_not_allowed(request, response)
            return response

        # functools.wraps also carries ninja's csrf_exempt flag over.
        return markcoroutinefunction(functools.wraps(view)(async_wrapper))

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            return _method_not_allowed(request, response)
        return response

    return wrapper


def unknown_path(request: HttpRequest) -> HttpResponse:
    """The catch-all after every endpoint: a JSON 404 naming the path (and the likely slip)."""
    values = {"path": request.path, "docs": reverse(f"{api.urls_namespace}:openapi-view")}
    if request.path.endswith("/"):
        message = _(
            "No API endpoint at %(path)s. API paths have no trailing slash; the endpoints are "
            "listed at %(docs)s."
        )
    else:
        message = _("No API endpoint at %(path)s. The endpoints are listed at %(docs)s.")
    return _error(request, 404, "not_found", message % values)


# Also csrf-exempt like ninja's views: CsrfViewMiddleware would otherwise answer an unknown path
# posted by a logged-in browser with Django's HTML 403 instead of this 404.
unknown_path.csrf_exempt = True  # type: ignore[attr-defined]


def with_json_refusals(
    patterns: list[URLPattern | URLResolver],
) -> list[URLPattern | URLResolver]:
    """ninja's URL patterns with JSON 405s, followed by a JSON 404 for every other path."""
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = _json_405(pattern.callback)
    return [*patterns, re_path(r"^.*$", unknown_path, name="api-unknown-path")]
