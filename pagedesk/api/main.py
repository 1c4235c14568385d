"""The /api/v1 NinjaAPI. Each app keeps its own router in `<app>/api.py`; they are mounted here.

Every refusal has one shape, `{"error": {"code": "...", "message": "...", ["field", "fields"]}}`,
whichever layer refused: ninja's auth (401), its body parser (400), pydantic (422), a service's
ApplicationError (its own status), or Django's Http404.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from pagedesk.api.auth import api_auth
from pagedesk.core.errors import ApplicationError

api = NinjaAPI(
    title="pagedesk API",
    version="1",
    description=(
        "Campaigns, users, presence and the contact-center state of pagedesk. Authenticate with a "
        "personal token (`pagedesk apitoken --username U`) sent as `Authorization: Bearer <token>`, or "
        "with the browser session plus the CSRF token. Every refusal is "
        '`{"error": {"code", "message", "fields"?}}`: 401 without valid credentials, 403 when the role '
        "does not allow it, 404 for an unknown id the caller may see, 409 for a conflict (duplicate name, "
        "a campaign with history), 422 for a malformed or out-of-range field, 400 for a rule the request "
        "breaks as a whole (overlapping schedule ranges, weak password, non-agent member)."
    ),
    auth=api_auth,
    urls_namespace="api",
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
        _("Log in, or send a valid personal token as `Authorization: Bearer <token>`."),
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
