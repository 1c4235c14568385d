"""Attachments for the download tests: a stored file, and what a streamed download of it must look like.

Shared by the inbox and recordings ASGI download tests, which serve the same files through two views.
"""

from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile

from pagedesk.conversations.models import Attachment, Message
from tests.asgi_client import Download, iterator_warnings


def attach(message: Message, name: str, content_type: str, kind: str, data: bytes) -> Attachment:
    """An attachment of `message` called `name`, with `data` saved as its file."""
    attachment = Attachment(message=message, type=kind, filename=name, content_type=content_type)
    attachment.file.save("upload.bin", ContentFile(data), save=True)
    return attachment


def assert_streamed_attachment(download: Download, data: bytes, *, content_type: str, filename: str) -> None:
    """A download of an attachment holding `data`: sent as a file with the safe headers, whole, and
    streamed (many bounded chunks, without the warning Django gives when it buffers a sync iterator)."""
    assert download.status == 200 and iterator_warnings(download) == []
    assert download.headers["content-type"] == content_type
    assert download.headers["content-disposition"] == f'attachment; filename="{filename}"'
    assert download.headers["content-length"] == str(len(data))
    assert download.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in download.headers["content-security-policy"]
    assert (download.size, download.sha.digest()) == (len(data), hashlib.sha256(data).digest())
    assert len(download.chunks) > 1 and max(download.chunks) <= 64 * 1024
