"""GET /api/v1/attachments/{id}: a stored attachment, for whoever may read its conversation.

The public message shape (pagedesk.platform.shapes) links each stored file here; the rule is the
transcript's (recordings.selectors.attachment_get_for_user), so an integration gets its campaigns'
files and nothing else.
"""

import mimetypes

from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from ninja import Router

from pagedesk.api.permissions import request_user
from pagedesk.api.schemas import READ_REFUSALS, ObjectId
from pagedesk.core.streaming import stored_file_response
from pagedesk.recordings.selectors import attachment_get_for_user

router = Router(tags=["conversations"])


@router.get(
    "/attachments/{attachment_id}",
    response={200: None, **READ_REFUSALS},
    url_name="attachment_download",
)
def attachment_download(request: HttpRequest, attachment_id: ObjectId) -> HttpResponseBase:
    """The file itself (its own content type), as a download with nosniff and a sandbox CSP; 404 when
    no copy is stored. (Its 200 is left undescribed on purpose: Swagger UI stopped drawing the whole
    page when it was documented as an application/octet-stream body.)"""
    attachment = attachment_get_for_user(user=request_user(request), attachment_id=attachment_id)
    if not attachment.file:
        raise Http404
    name = attachment.filename or attachment.file.name.rsplit("/", 1)[-1]
    content_type = attachment.content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return stored_file_response(request, attachment.file, name=name, content_type=content_type, inline=False)
