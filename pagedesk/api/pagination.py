"""Page-number pagination for the API's list endpoints (`@paginate(PagePagination)` under the route).

`?page=N&page_size=M` (default NINJA_PAGINATION_PER_PAGE, at most MAX_PAGE_SIZE); the body is
`{"items": [...], "count", "page", "page_size", "pages", "next", "previous"}`, where next/previous are
the same request's path and query with another page number, or null. Page numbers rather than
cursors: the lists are small admin lists ordered by a unique name, and clients want "page 3 of 7".
A page past the last is a 404 (there is nothing at that address), a page or size out of range a 422;
both carry the API's error shape.
"""

from __future__ import annotations

from typing import Any, get_args

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Schema
from ninja.conf import settings as ninja_settings
from ninja.pagination import PaginationBase
from pydantic import ConfigDict

from pagedesk.api.schemas import examples_of
from pagedesk.core.errors import ApplicationError

PAGE_SIZE: int = ninja_settings.PAGINATION_PER_PAGE
MAX_PAGE_SIZE = 100


def _page_example(schema: dict[str, Any], model: type[Any]) -> None:
    """A one-page example built from the item shape's examples.

    ninja makes a `Paged<Item>` subclass of Output per list, with `items: list[<Item>]`; one page
    keeps the example true of every list, whose next/previous links would name its own path.
    """
    (item,) = get_args(model.model_fields["items"].annotation) or (None,)
    items = examples_of(item) if isinstance(item, type) else []
    if items:
        schema["examples"] = [
            {
                "items": items,
                "count": len(items),
                "page": 1,
                "page_size": PAGE_SIZE,
                "pages": 1,
                "next": None,
                "previous": None,
            }
        ]


class PagePagination(PaginationBase):
    class Input(Schema):
        page: int = Field(1, ge=1, description="Page number, from 1.")
        page_size: int = Field(
            PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description=f"Items per page, 1–{MAX_PAGE_SIZE}."
        )

    class Output(Schema):
        items: list[Any]
        count: int = Field(description="Items on every page together.")
        page: int
        page_size: int
        pages: int = Field(description="Number of pages (at least 1, even when there are no items).")
        next: str | None = Field(description="Path and query of the next page, or null on the last.")
        previous: str | None = Field(description="Path and query of the previous page, or null.")

        model_config = ConfigDict(json_schema_extra=_page_example)

    def paginate_queryset(
        self, queryset: QuerySet[Any], pagination: Any, request: HttpRequest, **params: Any
    ) -> dict[str, Any]:
        return page_of(queryset, request=request, number=pagination.page, size=pagination.page_size)


class PageQuery(Schema):
    """PagePagination's query parameters, for a list that shapes its rows itself (`page_of`)."""

    page: int = Field(1, ge=1, le=2**31, description="Page number, from 1.")
    page_size: int = Field(
        PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description=f"Items per page, 1–{MAX_PAGE_SIZE}."
    )


class PageEnvelope(Schema):
    """PagePagination's body without `items`: a list's Out schema adds `items` with its own type."""

    count: int = Field(description="Items on every page together.")
    page: int
    page_size: int
    pages: int = Field(description="Number of pages (at least 1, even when there are no items).")
    next: str | None = Field(description="Path and query of the next page, or null on the last.")
    previous: str | None = Field(description="Path and query of the previous page, or null.")


def page_of(queryset: QuerySet[Any], *, request: HttpRequest, number: int, size: int) -> dict[str, Any]:
    """Page `number` of `queryset` (two queries: the count and the page's rows) in PagePagination's body."""
    # Without a total order rows can repeat or vanish between pages; the selectors order by a
    # unique column, and this catches one that forgets.
    assert queryset.ordered, "paginate an ordered queryset"
    count = queryset.count()
    pages = max(1, -(-count // size))
    if number > pages:
        raise page_out_of_range(number=number, count=count, pages=pages, size=size)
    start = (number - 1) * size
    return {
        "items": list(queryset[start : start + size]),
        "count": count,
        "page": number,
        "page_size": size,
        "pages": pages,
        "next": page_url(request, number + 1) if number < pages else None,
        "previous": page_url(request, number - 1) if number > 1 else None,
    }


def page_out_of_range(*, number: int, count: int, pages: int, size: int) -> ApplicationError:
    return ApplicationError(
        "page_out_of_range",
        _("There is no page %(page)s: %(count)s items make %(pages)s page(s) of %(size)s.")
        % {"page": number, "count": count, "pages": pages, "size": size},
        status=404,
        field="page",
    )


def page_url(request: HttpRequest, number: int) -> str:
    # A path, not an absolute URL: behind a proxy the scheme and host this process sees may not be
    # the ones the client used.
    query = request.GET.copy()
    query["page"] = str(number)
    return f"{request.path}?{query.urlencode()}"
