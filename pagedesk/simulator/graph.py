"""The Graph API surface pagedesk uses, with Facebook's request rules, shapes and error bodies.

References (Meta's docs): Send API https://developers.facebook.com/docs/messenger-platform/reference/send-api/,
attachment upload https://developers.facebook.com/docs/messenger-platform/reference/attachment-upload-api/,
user profile https://developers.facebook.com/docs/messenger-platform/identity/user-profile,
Graph errors https://developers.facebook.com/docs/graph-api/guides/error-handling,
Messenger error codes https://developers.facebook.com/docs/messenger-platform/error-codes,
login flow https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow,
long-lived tokens https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from pagedesk.simulator.http import Request, Response, UploadedFile, json_response, with_query
from pagedesk.simulator.store import (
    LONG_LIVED_SECONDS,
    SHORT_LIVED_SECONDS,
)
from pagedesk.simulator.world import World

MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG")
MESSAGE_TAGS = (
    "CONFIRMED_EVENT_UPDATE",
    "POST_PURCHASE_UPDATE",
    "ACCOUNT_UPDATE",
    "HUMAN_AGENT",
    "CUSTOMER_FEEDBACK",
)
SENDER_ACTIONS = ("typing_on", "typing_off", "mark_seen")
ATTACHMENT_TYPES = ("image", "video", "audio", "file", "template")
SUBSCRIBABLE_FIELDS = (
    "messages",
    "messaging_postbacks",
    "messaging_optins",
    "message_deliveries",
    "message_reads",
    "message_echoes",
    "message_reactions",
    "message_edits",
    "messaging_handovers",
    "standby",
    "messaging_referrals",
    "messaging_account_linking",
    "feed",
)
DAY_MS = 24 * 3600 * 1000
MAX_TEXT = 2000
MAX_UPLOAD = 25 * 1024 * 1024
SESSION_INVALIDATED = (
    "Error validating access token: The session has been invalidated because the user changed their password "
    "or Facebook has changed the session for security reasons."
)


class GraphError(Exception):
    """An error Graph answers with `{"error": {message, type, code, error_subcode, fbtrace_id}}`."""

    def __init__(
        self,
        message: str,
        *,
        code: int,
        subcode: int | None = None,
        type: str = "OAuthException",
        status: int = 400,
        is_transient: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.subcode = subcode
        self.type = type
        self.status = status
        self.is_transient = is_transient

    def response(self) -> Response:
        error: dict[str, Any] = {"message": self.message, "type": self.type, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.is_transient is not None:
            error["is_transient"] = self.is_transient
        error["fbtrace_id"] = secrets.token_urlsafe(20)[:27]
        response = json_response({"error": error}, status=self.status)
        if self.code == 190:
            # Graph adds this header on token errors; some clients key on it.
            response.headers.append(
                ("www-authenticate", f'OAuth "Facebook Platform" "invalid_token" "{self.message}"')
            )
        return response


def _param_error(message: str, subcode: int | None = None) -> GraphError:
    return GraphError(f"(#100) {message}", code=100, subcode=subcode)


def _unsupported(method: str, node: str) -> GraphError:
    return GraphError(
        f"Unsupported {method.lower()} request. Object with ID '{node}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation. Please read the Graph API documentation at "
        "https://developers.facebook.com/docs/graph-api",
        code=100,
        subcode=33,
        type="GraphMethodException",
    )


def _json_param(value: Any, name: str) -> Any:
    """Graph accepts nested params as JSON text in form/query bodies, or as JSON objects."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise _param_error(f"param {name} must be a JSON object") from None
    return value


class Graph:
    def __init__(self, world: World) -> None:
        self.world = world
        self.store = world.store

    # -- plumbing ----------------------------------------------------------------------------------

    async def apply_injected(self, endpoint: str, method: str) -> None:
        """Consume the first matching injected-error rule: add latency and/or raise its error."""
        rule = None
        with self.store.lock:
            for candidate in self.store.state["error_rules"]:
                if candidate["endpoint"] not in ("*", endpoint):
                    continue
                if candidate.get("method") and candidate["method"].upper() != method:
                    continue
                rule = dict(candidate)
                if candidate["remaining"] is not None:
                    candidate["remaining"] -= 1
                    if candidate["remaining"] <= 0:
                        self.store.state["error_rules"].remove(candidate)
                self.store.save()
                break
        if rule is None:
            return
        if rule.get("latency_ms"):
            await asyncio.sleep(float(rule["latency_ms"]) / 1000)
        if rule.get("code") is not None:
            raise GraphError(
                rule.get("message") or f"(#{rule['code']}) Simulated error",
                code=int(rule["code"]),
                subcode=rule.get("error_subcode"),
                type=rule.get("type") or "OAuthException",
                status=int(rule.get("status") or 400),
                is_transient=rule.get("is_transient"),
            )

    def token_of(self, request: Request, params: dict[str, Any]) -> str | None:
        token = params.get("access_token")
        if token:
            return str(token)
        auth = request.headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() in ("bearer", "oauth") and value.strip():
            return value.strip()
        return None

    def authenticate(
        self, request: Request, params: dict[str, Any], *, allow_app: bool = False
    ) -> dict[str, Any]:
        """Resolve the access token to its record or raise the 104/190 error Graph would."""
        token = self.token_of(request, params)
        if token is None:
            raise GraphError("An access token is required to request this resource.", code=104)
        self._check_proof(token, params.get("appsecret_proof"))
        return self.check_token(token, allow_app=allow_app)

    def _check_proof(self, token: str, proof: Any) -> None:
        """appsecret_proof = HMAC-SHA256(app secret, token): a wrong one is refused even with a valid token.

        https://developers.facebook.com/docs/graph-api/securing-requests#appsecret_proof
        """
        config = self.store.config
        if proof is None:
            if config["require_appsecret_proof"]:
                raise GraphError(
                    "API calls from the server require an appsecret_proof argument",
                    code=100,
                    type="GraphMethodException",
                )
            return
        expected = hmac.new(config["app_secret"].encode(), token.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, str(proof)):
            raise GraphError(
                "Invalid appsecret_proof provided in the API argument", code=100, type="GraphMethodException"
            )

    def check_token(self, token: str, *, allow_app: bool = False) -> dict[str, Any]:
        with self.store.lock:
            config = self.store.config
            if "|" in token:
                app_id, _, secret = token.partition("|")
                if app_id == config["app_id"] and secret == config["app_secret"]:
                    if not allow_app:
                        raise GraphError(
                            "An active access token must be used to query information.", code=2500
                        )
                    return {"type": "APP", "token": token}
                raise GraphError("Invalid OAuth access token signature.", code=190)
            record = self.store.state["tokens"].get(token)
            if record is None:
                raise GraphError("Invalid OAuth access token - Cannot parse access token", code=190)
            if record["revoked"]:
                raise GraphError(SESSION_INVALIDATED, code=190, subcode=460)
            now = self.store.now()
            if record["expires_at"] and record["expires_at"] < now:
                expired = datetime.fromtimestamp(record["expires_at"], UTC).strftime(
                    "%A, %d-%b-%y %H:%M:%S UTC"
                )
                current = datetime.fromtimestamp(now, UTC).strftime("%A, %d-%b-%y %H:%M:%S UTC")
                raise GraphError(
                    f"Error validating access token: Session has expired on {expired}. The current time is {current}.",
                    code=190,
                    subcode=463,
                )
            return {**record, "token": token}

    def page_auth(self, request: Request, params: dict[str, Any], node: str, method: str) -> dict[str, Any]:
        """A page token whose page is `node` (or `me`)."""
        record = self.authenticate(request, params)
        if record["type"] != "PAGE":
            raise GraphError(
                "(#210) A page access token is required to request this resource.",
                code=210,
                type="OAuthException",
            )
        if node not in ("me", record["page_id"]):
            raise _unsupported(method, node)
        return record

    def grant_of(self, user_id: str) -> dict[str, Any]:
        grant = self.store.state["grants"].get(user_id)
        return grant or {"granted": [], "declined": [], "pages": []}

    # -- OAuth -------------------------------------------------------------------------------------

    async def oauth_access_token(self, request: Request) -> Response:
        params = request.params_merged()
        config = self.store.config
        grant_type = params.get("grant_type")
        if grant_type == "client_credentials":
            self._check_client(params)
            return json_response(
                {"access_token": f"{config['app_id']}|{config['app_secret']}", "token_type": "bearer"}
            )
        if grant_type == "fb_exchange_token":
            self._check_client(params)
            short = params.get("fb_exchange_token")
            if not short:
                raise _param_error("Missing fb_exchange_token parameter")
            record = self.check_token(str(short))
            if record["type"] != "USER":
                raise GraphError("(#100) Cannot exchange a non-user access token", code=100)
            token = self.store.issue_token(
                kind="USER", user_id=record["user_id"], ttl=LONG_LIVED_SECONDS, parent=str(short)
            )
            with self.store.lock:
                self.store.state["tokens"][token]["long_lived"] = True
                self.store.save()
            return json_response(
                {"access_token": token, "token_type": "bearer", "expires_in": LONG_LIVED_SECONDS}
            )
        # Authorization code exchange.
        self._check_client(params)
        code = params.get("code")
        if not code:
            raise GraphError("Missing authorization code", code=100, type="OAuthException")
        if "redirect_uri" not in params:
            raise GraphError("Missing redirect_uri parameter.", code=191)
        with self.store.lock:
            record = self.store.state["codes"].get(code)
            if record is None:
                raise GraphError("Invalid verification code format.", code=100, subcode=36009)
            if record["used"]:
                raise GraphError("This authorization code has been used.", code=100, subcode=36009)
            if record["expires_at"] < self.store.now():
                raise GraphError("This authorization code has expired.", code=100, subcode=36007)
            if record["redirect_uri"] != params["redirect_uri"]:
                raise GraphError(
                    "Error validating verification code. Please make sure your redirect_uri is identical to the "
                    "one you used in the OAuth dialog request",
                    code=100,
                    subcode=36008,
                )
            record["used"] = True
            self.store.save()
        token = self.store.issue_token(
            kind="USER", user_id=record["user_id"], ttl=SHORT_LIVED_SECONDS, parent=None
        )
        return json_response(
            {"access_token": token, "token_type": "bearer", "expires_in": SHORT_LIVED_SECONDS}
        )

    def _check_client(self, params: dict[str, Any]) -> None:
        config = self.store.config
        if params.get("client_id") != config["app_id"]:
            raise GraphError("Error validating application. Invalid application ID.", code=101)
        if params.get("client_secret") != config["app_secret"]:
            raise GraphError("Error validating client secret.", code=1)

    async def debug_token(self, request: Request) -> Response:
        params = request.params_merged()
        self.authenticate(request, params, allow_app=True)
        input_token = params.get("input_token")
        if not input_token:
            raise _param_error("The parameter input_token is required")
        config = self.store.config
        with self.store.lock:
            record = self.store.state["tokens"].get(input_token)
            if record is None:
                return json_response(
                    {
                        "data": {
                            "error": {"code": 190, "message": "Invalid OAuth access token."},
                            "is_valid": False,
                            "scopes": [],
                        }
                    }
                )
            grant = self.grant_of(record["user_id"])
            data: dict[str, Any] = {
                "app_id": config["app_id"],
                "type": record["type"],
                "application": config["app_name"],
                "data_access_expires_at": record["issued_at"] + 90 * 24 * 3600,
                "expires_at": record["expires_at"],
                "is_valid": True,
                "issued_at": record["issued_at"],
                "scopes": list(grant["granted"]),
                "granular_scopes": [
                    {"scope": scope, "target_ids": list(grant["pages"])}
                    if scope.startswith("pages_") and scope != "pages_show_list"
                    else {"scope": scope}
                    for scope in grant["granted"]
                ],
                "user_id": record["user_id"],
            }
            if record["type"] == "PAGE":
                data["profile_id"] = record["page_id"]
        try:
            self.check_token(str(input_token))
        except GraphError as error:
            data["is_valid"] = False
            data["error"] = {"code": error.code, "message": error.message}
            if error.subcode is not None:
                data["error"]["subcode"] = error.subcode
        return json_response({"data": data})

    # -- /me and nodes -------------------------------------------------------------------------------

    async def me(self, request: Request) -> Response:
        params = request.params_merged()
        record = self.authenticate(request, params)
        with self.store.lock:
            if record["type"] == "PAGE":
                page = self.world.page(record["page_id"])
                return json_response({"name": page["name"], "id": page["id"]})
            user = self.store.state["users"][record["user_id"]]
            return json_response({"name": user["name"], "id": user["id"]})

    async def accounts(self, request: Request) -> Response:
        params = request.params_merged()
        record = self.authenticate(request, params)
        if record["type"] != "USER":
            raise GraphError(
                "(#100) Tried accessing nonexisting field (accounts) on node type (Page)", code=100
            )
        with self.store.lock:
            user = self.store.state["users"][record["user_id"]]
            grant = self.grant_of(user["id"])
            if "pages_show_list" not in grant["granted"]:
                # Without pages_show_list Facebook answers an empty list, not an error.
                page_ids: list[str] = []
            else:
                page_ids = [p for p in user["roles"] if p in grant["pages"]]
            rows = []
            for page_id in page_ids:
                page = self.store.state["pages"][page_id]
                row = {
                    "access_token": self.store.page_token_for(user_token=record["token"], page_id=page_id),
                    "category": page["category"],
                    "category_list": [{"id": "2201", "name": page["category"]}],
                    "name": page["name"],
                    "id": page_id,
                    "tasks": list(user["roles"][page_id]),
                }
                if params.get("fields"):
                    row = self._fields(
                        row, [f.strip() for f in str(params["fields"]).split(",") if f.strip()]
                    )
                rows.append(row)
        return json_response(self._paginate(request, params, rows))

    def _paginate(
        self, request: Request, params: dict[str, Any], rows: list[dict[str, Any]]
    ) -> dict[str, Any]:
        limit = max(1, min(100, int(params.get("limit") or 25)))
        start = 0
        after = params.get("after")
        if after:
            start = int(base64.urlsafe_b64decode(after.encode()).decode()) + 1
        page = rows[start : start + limit]
        body: dict[str, Any] = {"data": page}
        if page:

            def cursor(index: int) -> str:
                return base64.urlsafe_b64encode(str(index).encode()).decode()

            body["paging"] = {"cursors": {"before": cursor(start), "after": cursor(start + len(page) - 1)}}
            if start + len(page) < len(rows):
                query = {k: str(v) for k, v in request.query.items() if k not in ("after", "before")}
                query.update({"limit": str(limit), "after": cursor(start + len(page) - 1)})
                body["paging"]["next"] = with_query(
                    f"{self.world.public_url(request.base_url)}{request.path}", query
                )
        return body

    async def permissions(self, request: Request) -> Response:
        params = request.params_merged()
        record = self.authenticate(request, params)
        with self.store.lock:
            grant = self.grant_of(record["user_id"])
            data = [{"permission": p, "status": "granted"} for p in grant["granted"]]
            data += [{"permission": p, "status": "declined"} for p in grant["declined"]]
        if request.method == "DELETE":
            # De-authorising the app invalidates every token the user gave it.
            with self.store.lock:
                for other in self.store.state["tokens"].values():
                    if other["user_id"] == record["user_id"]:
                        other["revoked"] = True
                self.store.state["grants"].pop(record["user_id"], None)
                self.store.save()
            return json_response({"success": True})
        return json_response({"data": data})

    async def node(self, request: Request) -> Response:
        """GET /{id}: a customer's profile (page token), a page, or a user."""
        params = request.params_merged()
        node = request.params["node"]
        record = self.authenticate(request, params)
        fields = [f.strip() for f in str(params.get("fields") or "").split(",") if f.strip()]
        with self.store.lock:
            customer = self.store.state["customers"].get(node)
            if customer is not None:
                if record["type"] != "PAGE" or record["page_id"] != customer["page_id"]:
                    raise _unsupported("get", node)
                available = {
                    "id": node,
                    "first_name": customer["first_name"],
                    "last_name": customer["last_name"],
                    "name": f"{customer['first_name']} {customer['last_name']}".strip(),
                    "profile_pic": self.world.profile_pic_url(node, request.base_url),
                    "locale": "en_US",
                    "timezone": 0,
                    "gender": "",
                }
                return json_response(
                    self._fields(available, fields or ["first_name", "last_name", "profile_pic"])
                )
            page = self.store.state["pages"].get(node)
            if page is not None:
                available = {"id": node, "name": page["name"], "category": page["category"]}
                return json_response(self._fields(available, fields or ["name"]))
            user = self.store.state["users"].get(node)
            if user is not None:
                return json_response({"name": user["name"], "id": node})
        raise _unsupported("get", node)

    def _fields(self, available: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        unknown = [f for f in fields if f not in available]
        if unknown:
            raise GraphError(f"(#100) Tried accessing nonexisting field ({unknown[0]})", code=100)
        result = {f: available[f] for f in fields}
        result["id"] = available["id"]
        return result

    # -- subscribed_apps -----------------------------------------------------------------------------

    async def subscribed_apps(self, request: Request) -> Response:
        params = request.params_merged()
        node = request.params["node"]
        record = self.page_auth(request, params, node, request.method)
        page_id = record["page_id"]
        config = self.store.config
        with self.store.lock:
            if request.method == "GET":
                fields = self.store.state["subscriptions"].get(page_id)
                data = (
                    []
                    if fields is None
                    else [
                        {
                            "category": "Business",
                            "link": f"{self.world.public_url(request.base_url)}/apps/{config['app_id']}",
                            "name": config["app_name"],
                            "id": config["app_id"],
                            "subscribed_fields": list(fields),
                        }
                    ]
                )
                return json_response({"data": data})
            if request.method == "DELETE":
                self.store.state["subscriptions"].pop(page_id, None)
                self.store.save()
                return json_response({"success": True})
            raw = params.get("subscribed_fields")
            if not raw:
                raise _param_error("The parameter subscribed_fields is required")
            fields = (
                raw
                if isinstance(raw, list)
                else [f.strip() for f in str(raw).strip("[]").replace('"', "").split(",")]
            )
            for index, field_name in enumerate(fields):
                if field_name not in SUBSCRIBABLE_FIELDS:
                    raise _param_error(
                        f"Param subscribed_fields[{index}] must be one of {{{', '.join(SUBSCRIBABLE_FIELDS)}}} - got "
                        f'"{field_name}".'
                    )
            grant = self.grant_of(record["user_id"])
            if "pages_manage_metadata" not in grant["granted"]:
                raise GraphError(
                    "(#200) The user must be an administrator, editor, or moderator of the page and have granted "
                    "the pages_manage_metadata permission",
                    code=200,
                )
            self.store.state["subscriptions"][page_id] = fields
            self.store.save()
        return json_response({"success": True})

    # -- attachments ---------------------------------------------------------------------------------

    async def message_attachments(self, request: Request) -> Response:
        params = request.params_merged()
        record = self.page_auth(request, params, request.params["node"], "POST")
        if "message" not in params:
            raise _param_error("The parameter message is required")
        message = _json_param(params["message"], "message")
        attachment = (message or {}).get("attachment") or {}
        kind = str(attachment.get("type", "")).lower()
        payload = attachment.get("payload") or {}
        if kind not in ("image", "video", "audio", "file"):
            raise _param_error(
                f'Param message[attachment][type] must be one of {{image, video, audio, file}} - got "{kind}".'
            )
        _fields, files = request.form()
        upload = files.get("filedata") or await self._fetch(payload)
        with self.store.lock:
            if upload is not None:
                if len(upload.content) > MAX_UPLOAD:
                    raise GraphError(
                        "(#100) Attachment size exceeds allowable limit", code=100, subcode=2018294
                    )
                file_id = self.store.store_file(
                    content=upload.content, filename=upload.filename, content_type=upload.content_type
                )
                stored = {"type": kind, "file_id": file_id, "url": None}
            elif payload.get("url"):
                stored = {"type": kind, "file_id": None, "url": str(payload["url"])}
            else:
                raise _param_error(
                    "Upload attachment failure: provide filedata or message[attachment][payload][url]"
                )
            attachment_id = self.world.new_attachment_id()
            self.store.state["attachments"][attachment_id] = {**stored, "page_id": record["page_id"]}
            self.store.save()
        return json_response({"attachment_id": attachment_id})

    # -- Send API ------------------------------------------------------------------------------------

    async def messages(self, request: Request) -> Response:
        params = request.params_merged()
        record = self.page_auth(request, params, request.params["node"], "POST")
        page_id = record["page_id"]
        if "recipient" not in params:
            raise _param_error("The parameter recipient is required")
        recipient = _json_param(params["recipient"], "recipient") or {}
        psid = str(recipient.get("id", ""))
        with self.store.lock:
            customer = self.store.state["customers"].get(psid)
        if not psid or customer is None or customer["page_id"] != page_id:
            raise GraphError("(#100) No matching user found", code=100, subcode=2018001)

        sender_action = params.get("sender_action")
        has_message = "message" in params
        if sender_action is not None:
            if has_message:
                raise _param_error("sender_action cannot be sent with message")
            if sender_action not in SENDER_ACTIONS:
                raise _param_error(
                    f'Param sender_action must be one of {{{", ".join(SENDER_ACTIONS)}}} - got "{sender_action}".'
                )
            self._check_window(customer, messaging_type="RESPONSE", tag=None)
            self._check_thread_owner(page_id, psid)
            self.world.sender_action(page_id=page_id, psid=psid, action=str(sender_action))
            return json_response({"recipient_id": psid})
        if not has_message:
            raise _param_error("Must send either message or sender_action")

        messaging_type = params.get("messaging_type")
        if messaging_type is None:
            raise _param_error("The parameter messaging_type is required")
        if messaging_type not in MESSAGING_TYPES:
            raise _param_error(
                f'Param messaging_type must be one of {{{", ".join(MESSAGING_TYPES)}}} - got "{messaging_type}".'
            )
        tag = params.get("tag")
        if messaging_type == "MESSAGE_TAG":
            if not tag:
                raise _param_error("Tag is required for MESSAGE_TAG messaging type")
            if tag not in MESSAGE_TAGS:
                raise _param_error(f'Param tag must be one of {{{", ".join(MESSAGE_TAGS)}}} - got "{tag}".')
        elif tag:
            raise _param_error("tag can only be used with messaging_type MESSAGE_TAG")

        message = _json_param(params["message"], "message") or {}
        text = message.get("text")
        metadata = message.get("metadata")
        if text is not None and len(str(text)) > MAX_TEXT:
            raise _param_error(f"Length of param message[text] must be less than or equal to {MAX_TEXT}")
        if metadata is not None and len(str(metadata)) > 1000:
            raise _param_error("Length of param message[metadata] must be less than or equal to 1000")
        fetched = await self._fetch((message.get("attachment") or {}).get("payload") or {})
        attachments, attachment_id = self._send_attachments(request, message, page_id, fetched)
        if text is None and not attachments:
            raise _param_error("param message must be non-empty")
        if text is not None and attachments:
            raise _param_error("Only one of message[text] or message[attachment] can be set")

        self._check_window(customer, messaging_type=str(messaging_type), tag=tag)
        self._check_thread_owner(page_id, psid)
        result = self.world.page_message(
            page_id=page_id,
            psid=psid,
            text=None if text is None else str(text),
            attachments=attachments,
            metadata=None if metadata is None else str(metadata),
            messaging_type=str(messaging_type),
            tag=None if tag is None else str(tag),
            app_id=int(self.store.config["app_id"]),
            source="api",
        )
        body = {"recipient_id": psid, "message_id": result["message"]["mid"]}
        if attachment_id:
            body["attachment_id"] = attachment_id
        return json_response(body)

    async def _fetch(self, payload: dict[str, Any]) -> UploadedFile | None:
        """Download `payload.url` like Facebook does at send/upload time (a URL it cannot reach is an error).

        Switch off with config `fetch_attachment_urls: false` to keep URLs as given without fetching.
        """
        url = payload.get("url") if isinstance(payload, dict) else None
        if not url or not self.store.config["fetch_attachment_urls"]:
            return None
        try:
            async with httpx.AsyncClient(timeout=10, follow_redirects=True) as client:
                response = await client.get(str(url))
            response.raise_for_status()
        except httpx.HTTPError:
            raise GraphError(
                "(#100) Failed to fetch the file from the url", code=100, subcode=2018008
            ) from None
        filename = unquote(urlsplit(str(url)).path.rsplit("/", 1)[-1]) or "file"
        content_type = response.headers.get("content-type", "application/octet-stream").split(";")[0]
        return UploadedFile(filename=filename, content_type=content_type, content=response.content)

    def _send_attachments(
        self, request: Request, message: dict[str, Any], page_id: str, fetched: UploadedFile | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Attachments as they appear in the echo, plus a new attachment_id when is_reusable asked for one."""
        attachment = message.get("attachment")
        _fields, files = request.form()
        upload = files.get("filedata") or fetched
        if attachment is None:
            if upload is not None:
                raise _param_error("message[attachment] is required with filedata")
            return [], None
        kind = str(attachment.get("type", "")).lower()
        if kind not in ATTACHMENT_TYPES:
            raise _param_error(
                f'Param message[attachment][type] must be one of {{{", ".join(ATTACHMENT_TYPES)}}} - got "{kind}".'
            )
        payload = attachment.get("payload") or {}
        if kind == "template":
            return [{"type": "template", "payload": payload}], None
        new_id: str | None = None
        with self.store.lock:
            if upload is not None:
                file_id = self.store.store_file(
                    content=upload.content, filename=upload.filename, content_type=upload.content_type
                )
                url = self.world.file_url(file_id, request.base_url)
                source: dict[str, Any] = {"type": kind, "file_id": file_id, "url": None}
            elif payload.get("attachment_id"):
                stored = self.store.state["attachments"].get(str(payload["attachment_id"]))
                if stored is None or stored["page_id"] != page_id:
                    raise GraphError(
                        "(#100) Attachment ID is invalid or does not belong to this page", code=100
                    )
                url = (
                    self.world.file_url(stored["file_id"], request.base_url)
                    if stored["file_id"]
                    else stored["url"]
                )
                source = stored
            elif payload.get("url"):
                url = str(payload["url"])
                source = {"type": kind, "file_id": None, "url": url}
            else:
                raise _param_error("message[attachment][payload] must have url or attachment_id")
            if payload.get("is_reusable") and not payload.get("attachment_id"):
                new_id = self.world.new_attachment_id()
                self.store.state["attachments"][new_id] = {**source, "page_id": page_id}
                self.store.save()
        return [{"type": kind, "payload": {"url": url}}], new_id

    def _check_window(self, customer: dict[str, Any], *, messaging_type: str, tag: str | None) -> None:
        """Messenger's standard messaging window: 24 h after the customer's last message; HUMAN_AGENT: 7 days.

        https://developers.facebook.com/docs/messenger-platform/policy/policy-overview#standard_messaging
        """
        if messaging_type == "MESSAGE_TAG" and tag != "HUMAN_AGENT":
            return  # the other tags are allowed outside the window for their own use cases
        limit = 7 * DAY_MS if tag == "HUMAN_AGENT" else DAY_MS
        last = customer["last_message_at"]
        if last is None or self.store.now_ms() - last > limit:
            raise GraphError(
                "(#10) This message is sent outside of allowed window. Learn more about the new policy here: "
                "https://developers.facebook.com/docs/messenger-platform/policy-overview",
                code=10,
                subcode=2018278,
            )

    # -- thread control --------------------------------------------------------------------------------
    # Conversation Routing replaced the Handover Protocol for Messenger and keeps its thread-control
    # calls (https://developers.facebook.com/documentation/business-messaging/messenger-platform/conversation-routing);
    # shapes from https://developers.facebook.com/docs/messenger-platform/reference/handover-protocol and
    # https://developers.facebook.com/docs/graph-api/reference/page/take_thread_control/. Error codes are
    # the documented ones (100 invalid parameter, 200 permissions); the message texts are the simulator's.

    def _check_thread_owner(self, page_id: str, psid: str) -> None:
        owner = self.world.thread_owner(page_id, psid)
        if owner is not None and owner != str(self.store.config["app_id"]):
            raise GraphError(
                f"(#200) This app does not have thread control for this person: app {owner} owns the thread. "
                "Take thread control first.",
                code=200,
            )

    def _thread_customer(self, params: dict[str, Any], page_id: str) -> str:
        if "recipient" not in params:
            raise _param_error("The parameter recipient is required")
        recipient = _json_param(params["recipient"], "recipient")
        psid = str(recipient.get("id", "")) if isinstance(recipient, dict) else str(recipient)
        with self.store.lock:
            customer = self.store.state["customers"].get(psid)
        if not psid or customer is None or customer["page_id"] != page_id:
            raise GraphError("(#100) No matching user found", code=100, subcode=2018001)
        return psid

    def _metadata(self, params: dict[str, Any]) -> str | None:
        metadata = params.get("metadata")
        if metadata is not None and len(str(metadata)) > 1000:
            raise _param_error("Length of param metadata must be less than or equal to 1000")
        return None if metadata is None else str(metadata)

    async def pass_thread_control(self, request: Request) -> Response:
        params = request.params_merged()
        record = self.page_auth(request, params, request.params["node"], "POST")
        page_id = record["page_id"]
        psid = self._thread_customer(params, page_id)
        ours = str(self.store.config["app_id"])
        target = str(params.get("target_app_id") or "").strip()
        if not target:
            raise _param_error("The parameter target_app_id is required")
        if target not in self.world.known_app_ids() or target == ours:
            raise _param_error(
                f'Param target_app_id must be the id of another app connected to this page - got "{target}".'
            )
        owner = self.world.thread_owner(page_id, psid)
        if owner not in (None, ours):
            raise GraphError(
                f"(#200) Only the thread owner can pass thread control: app {owner} owns the thread.",
                code=200,
            )
        self.world.thread_change(
            page_id=page_id, psid=psid, new_owner=target, how="pass", metadata=self._metadata(params)
        )
        return json_response({"success": True})

    async def take_thread_control(self, request: Request) -> Response:
        params = request.params_merged()
        record = self.page_auth(request, params, request.params["node"], "POST")
        page_id = record["page_id"]
        psid = self._thread_customer(params, page_id)
        ours = str(self.store.config["app_id"])
        owner = self.world.thread_owner(page_id, psid)
        if owner == ours:
            return json_response({"success": True})
        if owner is not None and not self.store.config["take_thread_control_allowed"]:
            raise GraphError(
                "(#200) Permissions error: this app may not take thread control from the app that owns the "
                "thread (it is not the page's default app).",
                code=200,
            )
        self.world.thread_change(
            page_id=page_id, psid=psid, new_owner=ours, how="take", metadata=self._metadata(params)
        )
        return json_response({"success": True})

    async def release_thread_control(self, request: Request) -> Response:
        params = request.params_merged()
        record = self.page_auth(request, params, request.params["node"], "POST")
        page_id = record["page_id"]
        psid = self._thread_customer(params, page_id)
        owner = self.world.thread_owner(page_id, psid)
        if owner != str(self.store.config["app_id"]):
            raise GraphError("(#200) Only the thread owner can release thread control.", code=200)
        self.world.thread_release(page_id=page_id, psid=psid)
        return json_response({"success": True})

    async def request_thread_control(self, request: Request) -> Response:
        params = request.params_merged()
        record = self.page_auth(request, params, request.params["node"], "POST")
        page_id = record["page_id"]
        psid = self._thread_customer(params, page_id)
        self.world.thread_request(
            page_id=page_id,
            psid=psid,
            app_id=str(self.store.config["app_id"]),
            metadata=self._metadata(params),
        )
        return json_response({"success": True})

    async def thread_owner(self, request: Request) -> Response:
        params = request.params_merged()
        record = self.page_auth(request, params, request.params["node"], "GET")
        page_id = record["page_id"]
        if not params.get("recipient"):
            raise _param_error("The parameter recipient is required")
        psid = self._thread_customer({"recipient": {"id": str(params["recipient"])}}, page_id)
        owner = self.world.thread_owner(page_id, psid)
        data = [] if owner is None else [{"thread_owner": {"app_id": owner}}]
        return json_response({"data": data})
