"""REST search of the recordings (mounted at /api/v1/): the recordings page's list, filters and rules.

The filters go through the page's own form (pagedesk.recordings.forms.RecordingFilterForm), so a
campaign, agent or disposition the page would not offer is refused here the same way (422), and the
list and its capped count are the page's (recording_list, recording_page). A malformed value is a
422; a well-formed one the page would refuse (a campaign not yours, an inverted range) is a 400.
"""

# No `from __future__ import annotations`: ninja resolves the annotations of the query schemas.
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router

from pagedesk.api.conversations_schemas import (
    CONVERSATION_EXAMPLE,
    RecordingPageOut,
    RecordingsQuery,
    example,
    local_day,
    page_example,
)
from pagedesk.api.pagination import page_out_of_range, page_url
from pagedesk.api.permissions import request_user
from pagedesk.api.schemas import READ_REFUSALS, refusals
from pagedesk.core.errors import ApplicationError
from pagedesk.platform.shapes import conversation_shape
from pagedesk.recordings.forms import RecordingFilterForm
from pagedesk.recordings.selectors import recording_list, recording_page

router = Router(tags=["recordings"])

# The form's field names, by the API's parameter names.
FORM_FIELDS = {
    "date_from": "from",
    "date_to": "to",
    "campaign": "campaign",
    "agent": "agent",
    "customer": "customer",
    "state": "state",
    "disposition": "disposition",
    "q": "q",
}


@router.get(
    "/recordings",
    # 400: a campaign, agent or disposition the page would not offer you; `to` before `from`.
    response={200: RecordingPageOut, **READ_REFUSALS, **refusals(400)},
    openapi_extra=example(page_example(CONVERSATION_EXAMPLE, count_capped=False)),
)
def recordings_list(request: HttpRequest, query: Query[RecordingsQuery]) -> dict[str, object]:
    """Search the recordings as on the recordings page: newest first, a page at a time; past 10,000
    matches the count stops (`count_capped`)."""
    user = request_user(request)
    # Malformed dates are a 422 like everywhere in the API; what the form refuses after that is a
    # well-formed value the rules do not allow (a campaign you may not pick, an inverted range): 400.
    local_day(query.date_from, "from")
    local_day(query.date_to, "to")
    values = query.dict()
    data = {name: values[name] for name in FORM_FIELDS if values.get(name) is not None}
    if user.is_agent and "agent" in data:
        # The page offers an agent no agent filter (theirs is implied); say so rather than ignore it.
        raise ApplicationError(
            "invalid",
            _("agent: the agent filter is for supervisors and administrators; yours are implied."),
            status=400,
            field="agent",
        )
    form = RecordingFilterForm(data, user=user)
    if not form.is_valid():
        fields = {
            FORM_FIELDS.get(name, name): [str(m) for m in errors] for name, errors in form.errors.items()
        }
        message = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in fields.items())
        raise ApplicationError("not_allowed", message, status=400, fields=fields)
    conversations = recording_list(user=user, filters=form.filters())
    page = recording_page(conversations=conversations, number=query.page, per_page=query.page_size)
    if page.number != query.page:  # the page clamps a number past the end; an address must not
        raise page_out_of_range(
            number=query.page, count=page.total, pages=page.num_pages, size=query.page_size
        )
    return {
        "items": [conversation_shape(c) for c in page.items],
        "count": page.total,
        "count_capped": page.total_capped,
        "page": page.number,
        "page_size": page.per_page,
        "pages": page.num_pages,
        "next": page_url(request, page.number + 1) if page.has_next else None,
        "previous": page_url(request, page.number - 1) if page.has_previous else None,
    }
