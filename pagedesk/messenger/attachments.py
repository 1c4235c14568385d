"""Inbound attachments: pagedesk keeps its own copy, because Facebook's CDN URLs expire.

Downloaded in a task (no HTTP inside a transaction) with a size cap and a content-type allow-list per
attachment type; the original URL stays on the row. Transient failures retry with backoff via
`run_after`; a refused file (too big, wrong type, gone) is recorded in `download_error` and left.
"""

from __future__ import annotations

import datetime as dt
import logging
import mimetypes
import posixpath
from collections.abc import Iterable
from urllib.parse import urlparse

from django.utils.text import get_valid_filename

from pagedesk.conversations import services
from pagedesk.conversations.models import Attachment
from pagedesk.core import clock
from pagedesk.messenger import client
from pagedesk.messenger.errors import GraphError, Transient

logger = logging.getLogger(__name__)

# Messenger itself caps attachments at 25 MB:
# https://developers.facebook.com/docs/messenger-platform/send-messages#file-size-limits
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
MAX_ATTEMPTS = 5

_IMAGES = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/heif", "image/bmp"}
_VIDEOS = {"video/mp4", "video/quicktime", "video/webm", "video/3gpp", "video/mpeg", "video/x-msvideo"}
# Voice clips recorded in Messenger arrive as MP4/AAC, sometimes labelled video/mp4.
_AUDIO = {
    "audio/mpeg",
    "audio/mp4",
    "audio/aac",
    "audio/ogg",
    "audio/wav",
    "audio/x-wav",
    "audio/webm",
    "audio/x-m4a",
    "audio/amr",
    "video/mp4",
}
_DOCUMENTS = {
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/rtf",
    "text/plain",
    "text/csv",
    "application/zip",
    "application/x-zip-compressed",
    "application/octet-stream",
}
# Never HTML, SVG or scripts: even served as downloads they are not worth the risk.
ALLOWED_CONTENT_TYPES: dict[str, set[str]] = {
    "image": _IMAGES,
    "sticker": _IMAGES,
    "video": _VIDEOS,
    "audio": _AUDIO,
    "file": _DOCUMENTS | _IMAGES | _VIDEOS | _AUDIO,
}


def retry_delay(attempt: int) -> dt.timedelta:
    return min(dt.timedelta(seconds=30 * 2**attempt), dt.timedelta(hours=1))


def attachments_enqueue(*, attachments: Iterable[Attachment]) -> int:
    """Enqueue a download for each attachment that has a file behind it (not locations or links)."""
    # lazy (task): messenger.tasks imports this module
    from pagedesk.messenger.tasks import attachment_download

    count = 0
    for attachment in attachments:
        if (
            attachment.type in ALLOWED_CONTENT_TYPES
            and attachment.original_url
            and not attachment.download_error
        ):
            attachment_download.enqueue(attachment_id=attachment.pk, attempt=0)
            count += 1
    return count


def _filename(url: str, content_type: str, attachment_id: int) -> str:
    name = get_valid_filename(posixpath.basename(urlparse(url).path)) if url else ""
    stem, ext = posixpath.splitext(name)
    guessed = mimetypes.guess_extension(content_type) or ""
    if not ext or (guessed and mimetypes.guess_type(name)[0] != content_type):
        ext = guessed or ".bin"
    return f"{(stem or f'attachment-{attachment_id}')[:100]}{ext}"


def attachment_fetch(*, attachment_id: int, attempt: int = 0) -> str:
    """Download one attachment into pagedesk's storage; record why when it cannot."""
    # lazy (task): messenger.tasks imports this module
    from pagedesk.messenger.tasks import attachment_download

    attachment = Attachment.objects.filter(pk=attachment_id).first()
    if attachment is None:
        return "attachment gone"
    if attachment.file:
        return "already stored"
    allowed = ALLOWED_CONTENT_TYPES.get(attachment.type)
    if not allowed or not attachment.original_url:
        return "nothing to download"
    try:
        content, content_type = client.download(attachment.original_url, max_bytes=MAX_ATTACHMENT_BYTES)
    except Transient as exc:
        services.attachment_download_failed(attachment_id=attachment_id, error=f"Download failed: {exc}")
        if attempt + 1 < MAX_ATTEMPTS:
            attachment_download.using(run_after=clock.now() + retry_delay(attempt)).enqueue(
                attachment_id=attachment_id, attempt=attempt + 1
            )
            return f"failed, retrying: {exc}"
        return f"failed, giving up: {exc}"
    except GraphError as exc:
        # Too large, or a 4xx (the URL expired or is forbidden): retrying would not help.
        services.attachment_download_failed(attachment_id=attachment_id, error=str(exc))
        return f"refused: {exc}"
    if content_type not in allowed:
        error = f"A {attachment.type} of type {content_type} is not accepted."
        services.attachment_download_failed(attachment_id=attachment_id, error=error)
        return error
    services.attachment_file_store(
        attachment_id=attachment_id,
        content=content,
        content_type=content_type,
        filename=_filename(attachment.original_url, content_type, attachment_id),
    )
    return "stored"
