"""The Graph API client: the only place pagedesk speaks HTTP to Facebook (or the simulator).

FACEBOOK_GRAPH_URL decides which one answers; everything else is identical, which is what lets the
demo and the tests run the production code path. Errors come back as the typed exceptions in
messenger.errors. This module does not retry: callers (tasks) decide, because only they know
whether a retry is safe (a send that timed out must be reconciled first, never blindly re-sent).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import threading
from typing import Any
from urllib.parse import quote

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

from pagedesk.core import metrics
from pagedesk.messenger.errors import Ambiguous, GraphError, InvalidId, PolicyError, Transient, classify

logger = logging.getLogger(__name__)

_local = threading.local()
TIMEOUT = httpx.Timeout(connect=5.0, read=20.0, write=20.0, pool=5.0)

# Graph node ids (pages, PSIDs, apps, attachments) are decimal; Messenger message ids are "m_" and
# URL-safe base64. Anything else in an id came from input we do not control (a webhook's PSID), and
# must never shape a Graph URL or request.
_NUMERIC_ID = re.compile(r"[0-9]{1,40}")
_MESSAGE_ID = re.compile(r"m_[A-Za-z0-9_-]{1,600}")
# The nodes pagedesk addresses by name rather than by id.
_NAMED_NODES = frozenset({"me", "debug_token", "oauth"})


def _http() -> httpx.Client:
    """One pooled client per thread (httpx.Client is not documented as thread-safe for all uses)."""
    client = getattr(_local, "client", None)
    if client is None or client.is_closed:
        client = httpx.Client(timeout=TIMEOUT, headers={"User-Agent": "pagedesk"})
        _local.client = client
    return client


def _refuse(value: object, kind: str) -> InvalidId:
    # repr and a cap: the value is hostile input, and must not forge log lines.
    logger.warning("refused to call Facebook with an invalid %s: %.80r", kind, value)
    metrics.graph_errors.labels(kind="InvalidId").inc()
    return InvalidId(
        _("The %(kind)s is not a valid Facebook id; nothing was sent to Facebook.") % {"kind": kind}
    )


def graph_id(value: str, *, kind: str) -> str:
    """`value` if it is a Graph node id (all ASCII digits), else InvalidId; for ids sent in a body."""
    if not (isinstance(value, str) and _NUMERIC_ID.fullmatch(value)):
        raise _refuse(value, kind)
    return value


def graph_path(path: str) -> str:
    """The checked, URL-quoted path: the node is a Graph id, a message id or a named node; every
    segment is percent-encoded, so no id or edge can add a query, a fragment or another segment."""
    segments = path.lstrip("/").split("/")
    node = segments[0]
    if not (node in _NAMED_NODES or _NUMERIC_ID.fullmatch(node) or _MESSAGE_ID.fullmatch(node)):
        raise _refuse(node, _("Graph node id"))
    if any(segment in {"", ".", ".."} for segment in segments[1:]):
        raise _refuse(path, _("Graph path"))
    return "/".join(quote(segment, safe="") for segment in segments)


def graph_url(path: str) -> str:
    return f"{settings.FACEBOOK_GRAPH_URL}/{settings.FACEBOOK_GRAPH_VERSION}/{graph_path(path)}"


def appsecret_proof(access_token: str) -> str:
    """HMAC of the token with the app secret; Meta recommends sending it with every server call."""
    return hmac.new(settings.FACEBOOK_APP_SECRET.encode(), access_token.encode(), hashlib.sha256).hexdigest()


def _auth_params(token: str | None) -> dict[str, str]:
    if not token:
        return {}
    params = {"access_token": token}
    if settings.FACEBOOK_APP_SECRET:
        params["appsecret_proof"] = appsecret_proof(token)
    return params


def request(
    method: str,
    path: str,
    *,
    token: str | None = None,
    params: dict[str, Any] | None = None,
    json: Any = None,
    data: dict[str, Any] | None = None,
    files: dict[str, Any] | None = None,
    absolute_url: str | None = None,
) -> dict[str, Any]:
    """Call the Graph API and return its JSON body, or raise a typed GraphError.

    `path` is checked before anything is sent (InvalidId for a node that is not a Graph id);
    `absolute_url` is only for URLs Facebook itself returned (paging cursors).
    """
    url = absolute_url or graph_url(path)
    all_params = {**(params or {}), **_auth_params(token)}
    try:
        response = _http().request(method, url, params=all_params, json=json, data=data, files=files)
    except httpx.ConnectError as exc:
        # Nothing reached Facebook: safe to retry.
        metrics.graph_errors.labels(kind="transient").inc()
        raise Transient(f"Could not connect to Facebook: {exc}") from exc
    except (httpx.ReadTimeout, httpx.RemoteProtocolError) as exc:
        # The request may have been processed: a send must be reconciled before any retry.
        metrics.graph_errors.labels(kind="ambiguous").inc()
        raise Ambiguous(f"Facebook did not answer in time: {exc.__class__.__name__}") from exc
    except httpx.HTTPError as exc:
        metrics.graph_errors.labels(kind="transient").inc()
        raise Transient(f"Network error talking to Facebook: {exc.__class__.__name__}") from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 400 or (isinstance(body, dict) and "error" in body):
        error = classify(body, http_status=response.status_code)
        metrics.graph_errors.labels(kind=type(error).__name__).inc()
        raise error
    if not isinstance(body, dict):
        if response.status_code >= 500:
            raise Transient(f"Facebook answered HTTP {response.status_code}")
        raise GraphError(
            f"Facebook answered with a body that is not a JSON object (HTTP {response.status_code})"
        )
    return body


def get(path: str, *, token: str | None = None, params: dict[str, Any] | None = None) -> dict[str, Any]:
    return request("GET", path, token=token, params=params)


def post(
    path: str,
    *,
    token: str | None = None,
    params: dict[str, Any] | None = None,
    json: Any = None,
    data: dict[str, Any] | None = None,
    files: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return request("POST", path, token=token, params=params, json=json, data=data, files=files)


def delete(path: str, *, token: str | None = None, params: dict[str, Any] | None = None) -> dict[str, Any]:
    return request("DELETE", path, token=token, params=params)


# Facebook's CDN answers with a redirect or two at most; a longer chain is not a download.
MAX_REDIRECTS = 5


def _download_url_check(url: httpx.URL) -> None:
    """https anywhere; plain http only to the configured Graph host, i.e. the bundled simulator (whose
    CDN is http). PAGEDESK_SIMULATOR_URL is not consulted: it has a default even in production."""
    if url.scheme == "https" and url.host:
        return
    graph = httpx.URL(settings.FACEBOOK_GRAPH_URL)
    if url.scheme == "http" and graph.scheme == "http" and (url.host, url.port) == (graph.host, graph.port):
        return
    logger.warning("refused to download an attachment from %.200r", str(url))
    raise PolicyError(
        _("The attachment's address is not an https:// address, so it was not downloaded.")
        if url.scheme != "https"
        else _("The attachment's address has no host, so it was not downloaded.")
    )


def download(url: str, *, max_bytes: int) -> tuple[bytes, str]:
    """Fetch a (Facebook CDN) attachment URL with a size cap; returns (content, content type).

    The URL comes from a webhook, so it and every redirect is checked before it is requested
    (`_download_url_check`); a refusal is a PolicyError, never retried. Raises GraphError subclasses
    like the Graph calls so callers have one error vocabulary.
    """
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL:
        raise PolicyError(
            _("The attachment's address is not a valid URL, so it was not downloaded.")
        ) from None
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            _download_url_check(target)
            with _http().stream("GET", target, follow_redirects=False) as response:
                if response.next_request is not None:
                    target = response.next_request.url
                    continue
                return _download_body(response, max_bytes=max_bytes)
    except httpx.HTTPError as exc:
        raise Transient(f"Network error downloading the attachment: {exc.__class__.__name__}") from exc
    raise PolicyError(
        _("The attachment's address redirected more than %(n)s times, so it was not downloaded.")
        % {"n": MAX_REDIRECTS}
    )


def _download_body(response: httpx.Response, *, max_bytes: int) -> tuple[bytes, str]:
    if response.status_code >= 400:
        cls = Transient if response.status_code >= 500 else GraphError
        raise cls(
            f"Downloading the attachment failed with HTTP {response.status_code}",
            http_status=response.status_code,
        )
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise GraphError(f"The attachment is larger than the {max_bytes // (1024 * 1024)} MB limit")
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > max_bytes:
            raise GraphError(f"The attachment is larger than the {max_bytes // (1024 * 1024)} MB limit")
        chunks.append(chunk)
    content_type = response.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
    return b"".join(chunks), content_type


# --- thread control (Conversation Routing; formerly the Handover Protocol) ----------------------------
# https://developers.facebook.com/documentation/business-messaging/messenger-platform/conversation-routing
# https://developers.facebook.com/docs/messenger-platform/reference/handover-protocol


def thread_control_take(*, page_id: str, psid: str, token: str, metadata: str = "") -> None:
    """POST /{page-id}/take_thread_control: pagedesk's app becomes the thread's owner."""
    body: dict[str, Any] = {"recipient": {"id": graph_id(psid, kind=_("customer's Messenger id (PSID)"))}}
    if metadata:
        body["metadata"] = metadata[:1000]
    post(f"{page_id}/take_thread_control", token=token, json=body)


def thread_control_pass(
    *, page_id: str, psid: str, token: str, target_app_id: str, metadata: str = ""
) -> None:
    """POST /{page-id}/pass_thread_control to `target_app_id` (263902037430900 is the Page inbox)."""
    body: dict[str, Any] = {
        "recipient": {"id": graph_id(psid, kind=_("customer's Messenger id (PSID)"))},
        "target_app_id": graph_id(target_app_id, kind=_("Facebook app id")),
    }
    if metadata:
        body["metadata"] = metadata[:1000]
    post(f"{page_id}/pass_thread_control", token=token, json=body)


def thread_owner_get(*, page_id: str, psid: str, token: str) -> str | None:
    """GET /{page-id}/thread_owner?recipient=PSID: the owning app id, or None when the thread is idle."""
    body = get(
        f"{page_id}/thread_owner",
        token=token,
        params={"recipient": graph_id(psid, kind=_("customer's Messenger id (PSID)"))},
    )
    for row in body.get("data") or []:
        owner = (row or {}).get("thread_owner") or {}
        if owner.get("app_id") is not None:
            return str(owner["app_id"])
    return None
