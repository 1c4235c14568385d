from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse, QueryDict

from pagedesk.core import metrics
from pagedesk.core.text import clean_text


class _BothWays:
    """A middleware that runs sync or async as its neighbours do, so it adds no thread hop under uvicorn."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]]):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)  # type: ignore[type-var]  # the instance is the callable Django awaits


class MetricsMiddleware(_BothWays):
    """Counts and times every request."""

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self._acall(request)
        started = time.perf_counter()
        response = self.get_response(request)
        self._record(request, response, started)  # type: ignore[arg-type]
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = await self.get_response(request)  # type: ignore[misc]
        self._record(request, response, started)
        return response

    @staticmethod
    def _record(request: HttpRequest, response: HttpResponse, started: float) -> None:
        metrics.http_latency.observe(time.perf_counter() - started)
        metrics.http_requests.labels(method=request.method or "", status=str(response.status_code)).inc()


class CleanQueryStringMiddleware(_BothWays):
    """Removes NUL from query parameters (`?q=abc%00def` answered a 500 on PostgreSQL): no page means
    one, and every view and form downstream then sees text the database can store (core/text.py).
    Django already decodes a query string's invalid UTF-8 to U+FFFD, so no surrogate comes through."""

    def __call__(self, request: HttpRequest):
        # The same call either way: an async get_response returns the coroutine the server awaits.
        _clean_query(request)
        return self.get_response(request)


def _clean_query(request: HttpRequest) -> None:
    if "%00" not in request.META.get("QUERY_STRING", ""):
        return
    cleaned = QueryDict(mutable=True)
    for key, values in request.GET.lists():
        cleaned.setlist(clean_text(key), [clean_text(value) for value in values])
    cleaned._mutable = False
    request.GET = cleaned  # type: ignore[assignment]  # made immutable just above, as Django does
