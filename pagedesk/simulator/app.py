"""The simulator's ASGI application: Graph API, OAuth dialog, customer chat, CDN and /_control/.

`create_app()` builds one self-contained instance (its own store and webhook dispatcher), so tests can run
several side by side with httpx's ASGITransport. Nothing here imports pagedesk's product code.
"""

from __future__ import annotations

import base64
import binascii
import html
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from pagedesk.simulator.chat import Chat
from pagedesk.simulator.dialog import Dialog
from pagedesk.simulator.graph import Graph, GraphError
from pagedesk.simulator.http import (
    Receive,
    Request,
    Response,
    Router,
    Scope,
    Send,
    html_response,
    json_response,
    read_request,
    text_response,
)
from pagedesk.simulator.store import PAGE_INBOX_APP_ID, Store
from pagedesk.simulator.webhooks import WebhookDispatcher, encode_body
from pagedesk.simulator.world import NotFound, World

logger = logging.getLogger("pagedesk.simulator")

V = r"(?:/v\d+\.\d+)?"  # Graph accepts any /vNN.N/ prefix, or none (the app's default version)
NODE = r"(?P<node>me|\d+)"


class SimulatorApp:
    def __init__(self, store: Store, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.store = store
        self.dispatcher = WebhookDispatcher(store, transport=transport)
        self.world = World(store, self.dispatcher)
        self.graph = Graph(self.world)
        self.dialog = Dialog(store)
        self.chat = Chat(self.world)
        self.router = Router()
        self._routes()

    # -- routing -----------------------------------------------------------------------------------

    def _routes(self) -> None:
        add = self.router.add
        g = self._graph_endpoint
        add("GET", "/", self.index)
        add("GET", "/_control/health", self.control_health)
        # OAuth dialog (FACEBOOK_DIALOG_URL points at the simulator root).
        add("GET", rf"{V}/dialog/oauth", self.dialog.start)
        add("POST", r"/dialog/oauth/(?P<sid>[\w-]+)/(?P<step>\w+)", self.dialog.step)
        # Graph API (FACEBOOK_GRAPH_URL points at the simulator root).
        add("GET POST", rf"{V}/oauth/access_token", g("oauth_access_token", self.graph.oauth_access_token))
        add("GET", rf"{V}/debug_token", g("debug_token", self.graph.debug_token))
        add("GET", rf"{V}/me", g("me", self.graph.me))
        add("GET", rf"{V}/me/accounts", g("accounts", self.graph.accounts))
        add("GET DELETE", rf"{V}/me/permissions", g("permissions", self.graph.permissions))
        add("POST", rf"{V}/{NODE}/messages", g("messages", self.graph.messages))
        add(
            "POST",
            rf"{V}/{NODE}/message_attachments",
            g("message_attachments", self.graph.message_attachments),
        )
        add(
            "GET POST DELETE",
            rf"{V}/{NODE}/subscribed_apps",
            g("subscribed_apps", self.graph.subscribed_apps),
        )
        for edge in (
            "pass_thread_control",
            "take_thread_control",
            "release_thread_control",
            "request_thread_control",
        ):
            add("POST", rf"{V}/{NODE}/{edge}", g(edge, getattr(self.graph, edge)))
        add("GET", rf"{V}/{NODE}/thread_owner", g("thread_owner", self.graph.thread_owner))
        add("GET", rf"{V}/(?P<node>\d+)", g("node", self.graph.node))
        # Customer chat.
        add("GET", "/chat", self.chat.page)
        add("GET", "/chat/api/pages", self.chat.directory)
        add("GET", "/chat/api/conversation", self.chat.conversation)
        add("POST", "/chat/api/customers", self.chat.create_customer)
        add("POST", "/chat/api/send", self.chat.send)
        add("POST", "/chat/api/postback", self.chat.postback)
        add("POST", "/chat/api/read", self.chat.read)
        # CDN.
        add("GET", r"/cdn/profile/(?P<psid>\d+)\.svg", self.cdn_profile)
        add("GET", r"/cdn/sticker/(?P<sticker>\d+)\.svg", self.cdn_sticker)
        add("GET", r"/cdn/(?P<file_id>[0-9a-f]+)/(?P<name>[^/]+)", self.cdn_file)
        # Control.
        c = self._control_endpoint
        add("POST", "/_control/reset", c(self.control_reset))
        add("GET", "/_control/state", c(self.control_state))
        add("GET PUT PATCH", "/_control/config", c(self.control_config))
        add("GET POST", "/_control/clock", c(self.control_clock))
        add("POST", r"/_control/pages/(?P<page_id>\d+)/revoke", c(self.control_revoke_page))
        add("POST", r"/_control/pages/(?P<page_id>\d+)/inbox_reply", c(self.control_inbox_reply))
        add(
            "GET POST",
            r"/_control/pages/(?P<page_id>\d+)/threads/(?P<psid>\d+)",
            c(self.control_thread),
        )
        add("POST", "/_control/tokens/revoke", c(self.control_revoke_token))
        add("GET POST DELETE", "/_control/errors", c(self.control_errors))
        add("GET", "/_control/sent", c(self.control_sent))
        add("GET", "/_control/messages", c(self.control_messages))
        add("GET POST", "/_control/customers", c(self.control_customers))
        add("POST", r"/_control/customers/(?P<psid>\d+)/(?P<action>\w+)", c(self.control_customer_action))
        add("GET", "/_control/webhooks", c(self.control_webhooks))
        add("POST", "/_control/webhooks/wait", c(self.control_webhooks_wait))
        add("POST", "/_control/webhooks/verify", c(self.control_webhooks_verify))
        add("POST", "/_control/webhooks/raw", c(self.control_webhooks_raw))

    def _graph_endpoint(
        self, name: str, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                await self.graph.apply_injected(name, request.method)
                return await handler(request)
            except GraphError as error:
                return error.response()
            except (ValueError, KeyError) as exc:
                return GraphError(f"(#100) Invalid parameter: {exc}", code=100).response()

        return endpoint

    def _control_endpoint(
        self, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except NotFound as exc:
                return json_response({"error": {"code": "not_found", "message": str(exc)}}, 404)
            except (ValueError, KeyError, TypeError, binascii.Error) as exc:
                return json_response({"error": {"code": "bad_request", "message": str(exc)}}, 400)

        return endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.dispatcher.close()
                    self.store.flush()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return  # no websockets: the chat page polls
        try:
            request = await read_request(scope, receive)
        except ValueError as exc:
            await text_response(str(exc), 413).send(send)
            return
        handler, params, path_known = self.router.match(request.method, request.path)
        if handler is None:
            response = self._not_found(request, path_known)
        else:
            request.params = params
            try:
                response = await handler(request)
            except Exception:
                logger.exception("simulator error on %s %s", request.method, request.path)
                response = GraphError(
                    "An unexpected error has occurred. Please retry your request later.",
                    code=2,
                    type="OAuthException",
                    status=500,
                    is_transient=True,
                ).response()
        if request.method == "HEAD":
            response.body = b""
        await response.send(send)

    def _not_found(self, request: Request, path_known: bool) -> Response:
        if request.path.startswith(("/chat", "/_control", "/cdn", "/dialog")):
            return json_response({"error": "not found"}, 405 if path_known else 404)
        if path_known:
            node = request.path.strip("/").split("/")[-1]
            return GraphError(
                f"Unsupported {request.method.lower()} request. Object with ID '{node}' does not exist, cannot be "
                "loaded due to missing permissions, or does not support this operation.",
                code=100,
                subcode=33,
                type="GraphMethodException",
            ).response()
        return GraphError(f"Unknown path components: {request.path}", code=2500).response()

    # -- misc pages --------------------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        config = self.store.config
        return html_response(
            f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Facebook simulator</title></head>
<body style="font-family:Helvetica,Arial,sans-serif;max-width:640px;margin:40px auto">
<h1>pagedesk's Facebook simulator</h1>
<ul><li><a href="/chat">Customer chat (Messenger)</a></li>
<li>Webhook target: <code>{html.escape(config["webhook_url"])}</code></li>
<li>App id: <code>{html.escape(config["app_id"])}</code></li>
<li>Control API: <a href="/_control/state">/_control/state</a> (see docs/simulator.md)</li></ul></body></html>"""
        )

    async def cdn_profile(self, request: Request) -> Response:
        with self.store.lock:
            customer = self.store.state["customers"].get(request.params["psid"])
        if customer is None:
            return text_response("Not found", 404)
        initials = html.escape((customer["first_name"][:1] + customer["last_name"][:1]).upper() or "?")
        hue = int(customer["id"]) % 360
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100" viewBox="0 0 100 100">'
            f'<rect width="100" height="100" fill="hsl({hue},55%,50%)"/>'
            '<text x="50" y="50" dy=".35em" text-anchor="middle" font-family="Helvetica,Arial" font-size="40" '
            f'fill="#fff">{initials}</text></svg>'
        )
        return Response(200, svg.encode(), [("content-type", "image/svg+xml")])

    async def cdn_sticker(self, request: Request) -> Response:
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><text x="32" y="32" dy=".35em" '
            'text-anchor="middle" font-size="48">\U0001f44d</text></svg>'
        )
        return Response(200, svg.encode(), [("content-type", "image/svg+xml")])

    async def cdn_file(self, request: Request) -> Response:
        file_id = request.params["file_id"]
        with self.store.lock:
            record = self.store.state["files"].get(file_id)
        if record is None:
            return text_response("Not found", 404)
        problem = self.world.check_file_url(file_id, request.query.get("oe", ""), request.query.get("oh", ""))
        if problem is not None:
            return text_response(problem, 403)
        content = self.store.read_file(file_id)
        if content is None:
            return text_response("Not found", 404)
        return Response(200, content, [("content-type", record["content_type"])])

    # -- control -----------------------------------------------------------------------------------

    async def control_health(self, request: Request) -> Response:
        return json_response({"ok": True})

    async def control_reset(self, request: Request) -> Response:
        self.store.reset()
        self.dispatcher.log.clear()
        return json_response({"ok": True})

    async def control_state(self, request: Request) -> Response:
        with self.store.lock:
            state = self.store.state
            body = {
                "config": dict(state["config"]),
                "users": list(state["users"].values()),
                "pages": list(state["pages"].values()),
                "customers": [
                    self.world.customer_public(c, request.base_url) for c in state["customers"].values()
                ],
                "subscriptions": dict(state["subscriptions"]),
                "grants": dict(state["grants"]),
                "tokens": [{"token": token, **record} for token, record in state["tokens"].items()],
                "error_rules": list(state["error_rules"]),
                "threads": dict(state["threads"]),
                "now_ms": self.store.now_ms(),
            }
        return json_response(body)

    async def control_config(self, request: Request) -> Response:
        if request.method in ("PUT", "PATCH"):
            changes = request.json()
            if not isinstance(changes, dict):
                raise ValueError("send a JSON object of config keys")
            try:
                return json_response(self.store.update_config(changes))
            except KeyError as exc:
                raise ValueError(f"unknown config keys: {exc.args[0]}") from None
        with self.store.lock:
            return json_response(dict(self.store.config))

    async def control_clock(self, request: Request) -> Response:
        if request.method == "POST":
            body = request.json()
            with self.store.lock:
                offset = float(self.store.config["clock_offset_seconds"])
                if "offset_seconds" in body:
                    offset = float(body["offset_seconds"])
                offset += float(body.get("advance_seconds", 0))
                self.store.update_config({"clock_offset_seconds": offset})
        return json_response(
            {"offset_seconds": self.store.config["clock_offset_seconds"], "now_ms": self.store.now_ms()}
        )

    async def control_revoke_page(self, request: Request) -> Response:
        page_id = request.params["page_id"]
        self.world.page(page_id)
        return json_response({"revoked": self.store.revoke_page_tokens(page_id)})

    async def control_revoke_token(self, request: Request) -> Response:
        token = str(request.json().get("token", ""))
        if not self.store.revoke_token(token):
            raise NotFound("unknown token")
        return json_response({"revoked": 1})

    async def control_inbox_reply(self, request: Request) -> Response:
        body = request.json()
        page_id = request.params["page_id"]
        customer = self.world.customer(str(body["psid"]))
        if customer["page_id"] != page_id:
            raise ValueError("that customer belongs to another page")
        result = self.world.page_inbox_reply(page_id=page_id, psid=customer["id"], text=str(body["text"]))
        return json_response(result, 201)

    async def control_thread(self, request: Request) -> Response:
        """Who owns a thread; POST `{"owner": "page_inbox" | app id, "how": "pass"|"take", "metadata"}`
        hands it over as that app would (e.g. a Page admin moving the conversation to the Page inbox),
        with the `messaging_handovers` webhook; `{"request": true}` makes the Page inbox ask for it."""
        page_id, psid = request.params["page_id"], request.params["psid"]
        customer = self.world.customer(psid)
        if customer["page_id"] != page_id:
            raise ValueError("that customer belongs to another page")
        if request.method == "POST":
            body = request.json() or {}
            if body.get("request"):
                result = self.world.thread_request(
                    page_id=page_id,
                    psid=psid,
                    app_id=str(PAGE_INBOX_APP_ID),
                    metadata=None if body.get("metadata") is None else str(body["metadata"]),
                )
            else:
                owner = str(body.get("owner", "page_inbox"))
                result = self.world.thread_change(
                    page_id=page_id,
                    psid=psid,
                    new_owner=str(PAGE_INBOX_APP_ID) if owner == "page_inbox" else owner,
                    how=str(body.get("how", "pass")),
                    metadata=None if body.get("metadata") is None else str(body["metadata"]),
                )
            if body.get("wait"):
                result["idle"] = await self.dispatcher.wait_idle(float(body.get("timeout", 10)))
            return json_response(result, 201)
        return json_response(
            {
                "page_id": page_id,
                "psid": psid,
                "owner_app_id": self.world.thread_owner(page_id, psid),
                "channel": self.world.channel_for(page_id, psid),
            }
        )

    async def control_errors(self, request: Request) -> Response:
        with self.store.lock:
            rules = self.store.state["error_rules"]
            if request.method == "DELETE":
                rules.clear()
                self.store.save()
                return json_response({"ok": True})
            if request.method == "POST":
                body = request.json()
                if body.get("code") is None and not body.get("latency_ms"):
                    raise ValueError("give an error `code` and/or `latency_ms`")
                rule = {
                    "id": self.store.next_counter("rule"),
                    "endpoint": str(body.get("endpoint", "*")),
                    "method": body.get("method"),
                    "remaining": None if body.get("count", 1) is None else int(body.get("count", 1)),
                    "status": int(body.get("status", 400)),
                    "code": None if body.get("code") is None else int(body["code"]),
                    "error_subcode": None
                    if body.get("error_subcode") is None
                    else int(body["error_subcode"]),
                    "type": body.get("type", "OAuthException"),
                    "message": body.get("message"),
                    "is_transient": body.get("is_transient"),
                    "latency_ms": float(body.get("latency_ms", 0)),
                }
                rules.append(rule)
                self.store.save()
                return json_response(rule, 201)
            return json_response({"data": list(rules)})

    async def control_sent(self, request: Request) -> Response:
        page_id, psid = request.query.get("page_id"), request.query.get("psid")
        with self.store.lock:
            messages = [
                m for m in self.world.conversation(page_id=page_id, psid=psid) if m["direction"] == "out"
            ]
            actions = [
                dict(a)
                for a in self.store.state["sender_actions"]
                if (page_id is None or a["page_id"] == page_id) and (psid is None or a["psid"] == psid)
            ]
        return json_response({"messages": messages, "sender_actions": actions})

    async def control_messages(self, request: Request) -> Response:
        messages = self.world.conversation(
            page_id=request.query.get("page_id"), psid=request.query.get("psid")
        )
        return json_response({"messages": messages})

    async def control_customers(self, request: Request) -> Response:
        if request.method == "POST":
            body = request.json()
            customer = self.world.customer_create(
                page_id=str(body["page_id"]),
                first_name=str(body["first_name"]),
                last_name=str(body.get("last_name", "")),
                psid=None if body.get("psid") is None else str(body["psid"]),
            )
            return json_response(self.world.customer_public(customer, request.base_url), 201)
        page_id = request.query.get("page_id")
        with self.store.lock:
            rows = [
                self.world.customer_public(c, request.base_url)
                for c in self.store.state["customers"].values()
                if page_id is None or c["page_id"] == page_id
            ]
        return json_response({"data": rows})

    async def control_customer_action(self, request: Request) -> Response:
        psid, action = request.params["psid"], request.params["action"]
        body: dict[str, Any] = request.json() or {}
        result: dict[str, Any]
        if action == "message":
            files = [
                (
                    str(f["filename"]),
                    str(f.get("content_type", "application/octet-stream")),
                    base64.b64decode(f["content_base64"]),
                )
                for f in body.get("files", [])
            ]
            result = self.world.customer_message(
                psid=psid,
                base_url=request.base_url,
                text=body.get("text"),
                files=files,
                attachments=body.get("attachments"),
                quick_reply_payload=body.get("quick_reply_payload"),
                reply_to=body.get("reply_to"),
                sticker_id=body.get("sticker_id"),
            )
        elif action == "postback":
            result = self.world.customer_postback(
                psid=psid,
                title=str(body.get("title", "Get Started")),
                payload=str(body.get("payload", "GET_STARTED")),
            )
        elif action == "reaction":
            result = self.world.customer_reaction(
                psid=psid,
                mid=str(body["mid"]),
                reaction=str(body.get("reaction", "love")),
                action=str(body.get("action", "react")),
                emoji=body.get("emoji"),
            )
        elif action == "edit":
            result = self.world.customer_edit(psid=psid, mid=str(body["mid"]), text=str(body["text"]))
        elif action == "read":
            result = self.world.customer_read(psid=psid, watermark=body.get("watermark"))
        elif action == "delivery":
            result = self.world.customer_delivery(psid=psid, mids=body.get("mids"))
        else:
            raise NotFound(f"unknown customer action {action!r}")
        if body.get("wait"):
            # Handy for tests: answer once the webhooks were delivered (or given up).
            result["idle"] = await self.dispatcher.wait_idle(float(body.get("timeout", 10)))
        return json_response(result, 201)

    async def control_webhooks(self, request: Request) -> Response:
        return json_response({"data": list(self.dispatcher.log), "in_flight": self.dispatcher.in_flight})

    async def control_webhooks_wait(self, request: Request) -> Response:
        body = request.json() or {}
        idle = await self.dispatcher.wait_idle(float(body.get("timeout", 10)))
        return json_response({"idle": idle, "in_flight": self.dispatcher.in_flight}, 200 if idle else 504)

    async def control_webhooks_verify(self, request: Request) -> Response:
        return json_response(await self.dispatcher.verify())

    async def control_webhooks_raw(self, request: Request) -> Response:
        body = request.json()
        payload = body.get("body") or {
            "object": "page",
            "entry": [
                {"id": str(body["page_id"]), "time": self.store.now_ms(), "messaging": body["messaging"]}
            ],
        }
        return json_response(
            await self.dispatcher.post_raw(encode_body(payload), signed=body.get("signed", True))
        )


def create_app(
    *,
    data_dir: Path | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    **config: Any,
) -> SimulatorApp:
    """Build a simulator. `config` overrides persisted settings (app_id, app_secret, webhook_url, …)."""
    store = Store(data_dir)
    overrides = {k: v for k, v in config.items() if v is not None}
    if overrides:
        store.update_config(overrides)
    return SimulatorApp(store, transport=transport)
