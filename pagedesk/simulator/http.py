"""A deliberately tiny HTTP toolkit over raw ASGI.

The simulator must not pull in a web framework (no new dependencies) nor pagedesk's Django stack, so this
module provides just enough: a parsed request, a few response helpers, a regex router and a
multipart/form-data parser for Facebook's `filedata` uploads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class UploadedFile:
    filename: str
    content_type: str
    content: bytes


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    base_url: str
    params: dict[str, str] = field(default_factory=dict)
    _form: tuple[dict[str, str], dict[str, UploadedFile]] | None = None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def json(self) -> Any:
        if not self.body:
            return {}
        return json.loads(self.body)

    def form(self) -> tuple[dict[str, str], dict[str, UploadedFile]]:
        """Fields and files of a urlencoded or multipart body (Graph accepts both, as well as JSON)."""
        if self._form is None:
            if self.content_type == "multipart/form-data":
                self._form = parse_multipart(self.body, self.headers.get("content-type", ""))
            elif self.content_type == "application/x-www-form-urlencoded":
                self._form = (dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True)), {})
            else:
                self._form = ({}, {})
        return self._form

    def params_merged(self) -> dict[str, Any]:
        """Query string + body parameters, the way the Graph API reads them (body wins).

        JSON bodies keep their nested values; form values that hold JSON (Facebook's SDKs send
        `recipient={"id": ...}` form-encoded) are left as strings for the caller to decode.
        """
        merged: dict[str, Any] = dict(self.query)
        if self.content_type == "application/json":
            body = self.json()
            if isinstance(body, dict):
                merged.update(body)
        else:
            fields, _files = self.form()
            merged.update(fields)
        return merged


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    async def send(self, send: Send) -> None:
        raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self.headers]
        raw_headers.append((b"content-length", str(len(self.body)).encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": self.body})


def json_response(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return Response(status, body, [("content-type", "application/json; charset=UTF-8")])


def html_response(html: str, status: int = 200) -> Response:
    return Response(
        status,
        html.encode("utf-8"),
        [("content-type", "text/html; charset=utf-8"), ("cache-control", "no-store")],
    )


def text_response(text: str, status: int = 200) -> Response:
    return Response(status, text.encode("utf-8"), [("content-type", "text/plain; charset=utf-8")])


def redirect(url: str, status: int = 302) -> Response:
    return Response(status, b"", [("location", url)])


def with_query(url: str, params: dict[str, str]) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{urlencode(params)}"


Handler = Callable[[Request], Awaitable[Response]]


class Router:
    """First-match routing on (method, path regex); named groups become `request.params`."""

    def __init__(self) -> None:
        self._routes: list[tuple[frozenset[str], re.Pattern[str], Handler]] = []

    def add(self, methods: str, pattern: str, handler: Handler) -> None:
        self._routes.append((frozenset(methods.split()), re.compile(f"^{pattern}$"), handler))

    def match(self, method: str, path: str) -> tuple[Handler | None, dict[str, str], bool]:
        """(handler, params, path_matched_other_method)."""
        path_seen = False
        for methods, regex, handler in self._routes:
            found = regex.match(path)
            if found is None:
                continue
            if method in methods or (method == "HEAD" and "GET" in methods):
                return handler, found.groupdict(), True
            path_seen = True
        return None, {}, path_seen


async def read_request(scope: Scope, receive: Receive, *, max_body: int = 50 * 1024 * 1024) -> Request:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_body:
            raise ValueError("request body too large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    query = dict(parse_qsl(scope.get("query_string", b"").decode("utf-8"), keep_blank_values=True))
    host = headers.get("host")
    if not host:
        server = scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    return Request(
        method=scope["method"].upper(),
        path=scope["path"],
        query=query,
        headers=headers,
        body=b"".join(chunks),
        base_url=f"{scope.get('scheme', 'http')}://{host}",
    )


_DISPOSITION_PARAM = re.compile(r';\s*([a-zA-Z0-9_*-]+)="?((?:[^";\\]|\\.)*)"?')


def parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    """Parse multipart/form-data into text fields and files (enough for browsers, httpx and curl)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        raise ValueError("multipart body without a boundary")
    delimiter = b"--" + match.group(1).encode("latin-1")
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        part = part.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, _, content = part.partition(b"\r\n\r\n")
        part_headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            header, _, value = line.partition(":")
            part_headers[header.strip().lower()] = value.strip()
        disposition = part_headers.get("content-disposition", "")
        params = {k.lower(): v for k, v in _DISPOSITION_PARAM.findall(disposition)}
        field_name = params.get("name")
        if field_name is None:
            continue
        name = field_name
        if "filename" in params:
            files[name] = UploadedFile(
                filename=params["filename"] or "file",
                content_type=part_headers.get("content-type", "application/octet-stream"),
                content=content,
            )
        else:
            fields[name] = content.decode("utf-8", "replace")
    return fields, files
