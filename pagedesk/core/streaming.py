"""Streamed downloads that stay streamed under ASGI, which is how pagedesk is served.

Under ASGI Django can only stream an *async* iterator. Given a synchronous one (a plain generator, or
FileResponse's file) it warns and first reads the whole thing into a list (django/http/response.py,
StreamingHttpResponse.__aiter__): a whole attachment, or a whole CSV export, in memory per download,
and no byte of the body sent before the last row is read. So under ASGI these helpers hand Django an
async iterator that runs each blocking step in a worker thread; under WSGI (and Django's test client)
they keep the synchronous response, which such a server iterates as it sends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import IO, Generic, TypeVar

from asgiref.sync import sync_to_async
from django.core.exceptions import SuspiciousFileOperation
from django.core.handlers.asgi import ASGIRequest
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header
from django.utils.text import get_valid_filename

T = TypeVar("T")

FILE_CHUNK_BYTES = 64 * 1024


class AsyncFileChunks:
    """An open file as an async iterable of chunks, for StreamingHttpResponse under ASGI.

    Each read runs in a worker thread of the default pool: not the event loop, which it would block, and
    not the request's thread-sensitive thread, since a file needs no thread of its own. `close` is here
    because StreamingHttpResponse.close() calls its content's `close`: the file is closed when the
    response is, whether the download ended or the client went away.
    """

    chunk_size = FILE_CHUNK_BYTES

    def __init__(self, handle: IO[bytes]):
        self.handle = handle

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        read = sync_to_async(self.handle.read, thread_sensitive=False)
        while chunk := await read(self.chunk_size):
            yield chunk

    def close(self) -> None:
        self.handle.close()


_END = object()


class AsyncFromSyncIterator(Generic[T]):
    """A synchronous iterator that touches the database (a CSV writer over a server-side cursor), as an
    async iterable for StreamingHttpResponse under ASGI. Each item should be a batch (hundreds of
    rows), so the thread hop per item is paid rarely.

    Every step runs with thread_sensitive=True, and so does `close`: Django's ASGIHandler gives each
    request its own thread-sensitive thread (asgiref's ThreadSensitiveContext), the one the view ran
    in, and calls response.close() through sync_to_async in that thread too. A database cursor opened
    by the iterator is therefore created, read and closed in one thread, on that thread's connection,
    one step at a time. When the client goes away mid-stream, Django cancels the wait for the current
    step (the step itself finishes in its thread) and then closes the response: `close` runs after that
    step, closes the generator, and so its cursor, before request_finished returns the connection.
    """

    def __init__(self, iterator: Iterator[T]):
        self.iterator = iterator

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    def _next(self) -> object:
        return next(self.iterator, _END)

    async def _items(self) -> AsyncIterator[T]:
        step = sync_to_async(self._next, thread_sensitive=True)
        while (item := await step()) is not _END:
            yield item  # type: ignore[misc]  # anything but the sentinel is a T

    def close(self) -> None:
        close = getattr(self.iterator, "close", None)
        if close is not None:
            close()


def streaming_file_response(
    request: HttpRequest,
    handle: IO[bytes],
    *,
    content_type: str,
    filename: str,
    as_attachment: bool,
    size: int,
) -> HttpResponseBase:
    """An open file as a download that streams under ASGI and WSGI alike; the response closes it."""
    if isinstance(request, ASGIRequest):
        response = StreamingHttpResponse(AsyncFileChunks(handle), content_type=content_type)
        response["Content-Length"] = str(size)
        disposition = content_disposition_header(as_attachment, filename)
        if disposition:
            response["Content-Disposition"] = disposition
        return response
    # A WSGI server iterates synchronously; FileResponse lets it use wsgi.file_wrapper (sendfile) and
    # sets the same headers.
    return FileResponse(handle, as_attachment=as_attachment, filename=filename, content_type=content_type)


def stored_file_response(
    request: HttpRequest, file: FieldFile, *, name: str, content_type: str, inline: bool
) -> HttpResponseBase:
    """An uploaded file (never served from static) under a sanitised name, streamed; nosniff and a
    sandbox CSP so a stored HTML or SVG file cannot run as the site's page. 404 when the file is gone."""
    try:
        filename = get_valid_filename(name)
    except SuspiciousFileOperation:  # a name with nothing usable left, such as ".."
        filename = "attachment"
    try:
        handle = file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    # Streamed from an async iterator under ASGI (how pagedesk is served), where a FileResponse would
    # be read whole into memory first: up to Facebook's 25 MB per attachment, per download.
    response = streaming_file_response(
        request,
        handle,
        content_type=content_type,
        filename=filename,
        as_attachment=not inline,
        size=file.size,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def streaming_iterator_response(
    request: HttpRequest, chunks: Iterator[str] | Iterator[bytes], *, content_type: str
) -> StreamingHttpResponse:
    """Chunks from a synchronous generator, streamed under ASGI and WSGI alike; the response closes the
    generator when it is done or the client goes away (see AsyncFromSyncIterator)."""
    if isinstance(request, ASGIRequest):
        return StreamingHttpResponse(AsyncFromSyncIterator(chunks), content_type=content_type)
    return StreamingHttpResponse(chunks, content_type=content_type)
