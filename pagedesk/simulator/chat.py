"""The customer's side: a Messenger-like chat page and the small JSON API behind it.

The page polls `/chat/api/conversation` every second (simple and reliable; no websocket to reconnect) and
keeps its DOM stable between polls so Playwright locators do not go stale. Test ids are documented in
docs/simulator.md.
"""

from __future__ import annotations

from typing import Any

from pagedesk.simulator.http import Request, Response, html_response, json_response
from pagedesk.simulator.world import NotFound, World


class Chat:
    def __init__(self, world: World) -> None:
        self.world = world
        self.store = world.store

    async def page(self, request: Request) -> Response:
        return html_response(CHAT_HTML)

    async def directory(self, request: Request) -> Response:
        with self.store.lock:
            pages = [
                {
                    "id": page["id"],
                    "name": page["name"],
                    "customers": [
                        self.world.customer_public(c, request.base_url)
                        for c in self.store.state["customers"].values()
                        if c["page_id"] == page["id"]
                    ],
                }
                for page in self.store.state["pages"].values()
            ]
        return json_response({"pages": pages})

    async def conversation(self, request: Request) -> Response:
        psid = request.query.get("psid", "")
        with self.store.lock:
            try:
                customer = self.world.customer(psid)
            except NotFound:
                return json_response({"error": "unknown customer"}, 404)
            messages = [self._public(m, customer) for m in self.world.conversation(psid=psid)]
            typing = customer["typing_until"] > self.store.now_ms()
            page = self.world.page(customer["page_id"])
        return json_response(
            {
                "customer": self.world.customer_public(customer, request.base_url),
                "page": {"id": page["id"], "name": page["name"]},
                "messages": messages,
                "typing": typing,
            }
        )

    def _public(self, message: dict[str, Any], customer: dict[str, Any]) -> dict[str, Any]:
        status = None
        if message["direction"] == "in":
            # The customer's own message: Sent → Delivered (pagedesk acked the webhook) → Seen (mark_seen).
            if customer["seen_watermark"] >= message["timestamp"]:
                status = "Seen"
            elif message.get("delivered"):
                status = "Delivered"
            else:
                status = "Sent"
        return {
            "mid": message["mid"],
            "from": "customer" if message["direction"] == "in" else "page",
            "kind": message["kind"],
            "text": message.get("text"),
            "attachments": message.get("attachments") or [],
            "timestamp": message["timestamp"],
            "status": status,
            "reaction": message.get("reaction"),
        }

    async def create_customer(self, request: Request) -> Response:
        body = request.json()
        name = str(body.get("name", "")).strip()
        if not name:
            return json_response({"error": "name is required"}, 400)
        first, _, last = name.partition(" ")
        try:
            customer = self.world.customer_create(
                page_id=str(body.get("page_id")), first_name=first, last_name=last
            )
        except NotFound as exc:
            return json_response({"error": str(exc)}, 404)
        return json_response(self.world.customer_public(customer, request.base_url), 201)

    async def send(self, request: Request) -> Response:
        fields, files = request.form()
        if request.content_type == "application/json":
            fields = {k: str(v) for k, v in request.json().items()}
        upload = files.get("file")
        # Messenger sends typed text and an attached file as two messages, text first.
        parts: list[dict[str, Any]] = []
        if fields.get("text"):
            parts.append({"text": fields["text"]})
        if upload is not None and upload.content:
            parts.append({"files": [(upload.filename, upload.content_type, upload.content)]})
        if not parts:
            return json_response({"error": "type a message or attach a file"}, 400)
        mids = []
        try:
            for part in parts:
                result = self.world.customer_message(
                    psid=fields.get("psid", ""), base_url=request.base_url, **part
                )
                mids.append(result["message"]["mid"])
        except NotFound as exc:
            return json_response({"error": str(exc)}, 404)
        return json_response({"mids": mids}, 201)

    async def postback(self, request: Request) -> Response:
        body = request.json()
        try:
            result = self.world.customer_postback(
                psid=str(body.get("psid", "")),
                title=str(body.get("title") or "Get Started"),
                payload=str(body.get("payload") or "GET_STARTED"),
            )
        except NotFound as exc:
            return json_response({"error": str(exc)}, 404)
        return json_response({"mid": result["message"]["mid"]}, 201)

    async def read(self, request: Request) -> Response:
        body = request.json()
        try:
            result = self.world.customer_read(psid=str(body.get("psid", "")))
        except NotFound as exc:
            return json_response({"error": str(exc)}, 404)
        return json_response(result)


CHAT_HTML = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Messenger (simulator)</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
*{box-sizing:border-box}body{margin:0;font-family:Helvetica,Arial,sans-serif;background:#fff;color:#050505;
height:100vh;display:flex;flex-direction:column}
header{display:flex;flex-wrap:wrap;gap:8px;align-items:center;padding:10px 14px;border-bottom:1px solid #e4e6eb;
background:#fff}
header h1{font-size:18px;margin:0 12px 0 0;color:#0a7cff}
label{font-size:13px;color:#65676b;display:flex;gap:4px;align-items:center}
select,input[type=text]{font-size:14px;padding:6px 8px;border:1px solid #ccd0d5;border-radius:6px}
button{border:0;border-radius:18px;padding:7px 14px;font-weight:bold;cursor:pointer;background:#e4e6eb}
button.primary{background:#0a7cff;color:#fff}
#who{padding:8px 14px;font-weight:bold;border-bottom:1px solid #e4e6eb}
#messages{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:6px;background:#fff}
.msg{max-width:70%;padding:8px 12px;border-radius:18px;white-space:pre-wrap;word-wrap:break-word}
.msg[data-from=customer]{align-self:flex-end;background:#0a7cff;color:#fff}
.msg[data-from=page]{align-self:flex-start;background:#e4e6eb}
.msg img{max-width:220px;border-radius:10px;display:block}
.msg a{color:inherit}
.status{align-self:flex-end;font-size:11px;color:#65676b;margin-top:-3px}
.postback{font-style:italic}
#typing{align-self:flex-start;color:#65676b;font-size:13px;padding:0 14px 6px}
form#composer{display:flex;gap:8px;padding:10px 14px;border-top:1px solid #e4e6eb;align-items:center}
#text{flex:1;border-radius:18px;background:#f0f2f5;border:0;padding:9px 14px;font-size:15px}
.empty{color:#65676b;text-align:center;margin-top:40px}
</style></head>
<body>
<header>
  <h1>Messenger <small style="font-size:11px;color:#65676b">simulator</small></h1>
  <label for="page-select">Page
    <select id="page-select" data-testid="chat-page-select" aria-label="Page"></select></label>
  <label for="customer-select">Customer
    <select id="customer-select" data-testid="chat-customer-select" aria-label="Customer"></select></label>
  <label for="new-name">New customer
    <input id="new-name" type="text" placeholder="First Last" data-testid="chat-new-customer-name"
      aria-label="New customer name"></label>
  <button type="button" id="create" data-testid="chat-new-customer-create">Create</button>
</header>
<div id="who" data-testid="chat-customer-name"></div>
<div id="messages" data-testid="chat-messages" aria-live="polite"></div>
<div id="typing" data-testid="chat-typing" hidden>typing…</div>
<form id="composer">
  <button type="button" id="get-started" data-testid="chat-get-started">Get Started</button>
  <input id="file" type="file" data-testid="chat-file" aria-label="Attach a file">
  <input id="text" type="text" autocomplete="off" placeholder="Aa" data-testid="chat-input" aria-label="Message">
  <button type="submit" class="primary" id="send" data-testid="chat-send">Send</button>
</form>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
let directory = [], psid = null, lastRender = "", lastPageTs = 0;

async function api(path, options) {
  const response = await fetch(path, options);
  if (!response.ok) throw new Error(await response.text());
  return response.json();
}
function option(value, label) { const o = document.createElement("option"); o.value = value; o.textContent = label; return o; }

async function loadDirectory(selectPsid) {
  directory = (await api("/chat/api/pages")).pages;
  const pageSel = $("page-select"), wanted = params.get("page") || pageSel.value;
  pageSel.replaceChildren(...directory.map(p => option(p.id, p.name)));
  if (wanted && directory.some(p => p.id === wanted)) pageSel.value = wanted;
  if (selectPsid) { const owner = directory.find(p => p.customers.some(c => c.id === selectPsid)); if (owner) pageSel.value = owner.id; }
  fillCustomers(selectPsid || params.get("psid"));
}
function fillCustomers(selectPsid) {
  const page = directory.find(p => p.id === $("page-select").value);
  const sel = $("customer-select");
  sel.replaceChildren(...(page ? page.customers : []).map(c => option(c.id, (c.first_name + " " + c.last_name).trim())));
  if (selectPsid && [...sel.options].some(o => o.value === selectPsid)) sel.value = selectPsid;
  choose(sel.value || null);
}
function choose(id) { psid = id; lastRender = ""; lastPageTs = 0; $("messages").replaceChildren(); refresh(); }

function render(data) {
  const key = JSON.stringify([data.messages, data.typing]);
  $("typing").hidden = !data.typing;
  $("who").textContent = (data.customer.first_name + " " + data.customer.last_name).trim() + " → " + data.page.name;
  if (key === lastRender) return;
  lastRender = key;
  const box = $("messages"), nodes = [];
  if (!data.messages.length) { const e = document.createElement("div"); e.className = "empty"; e.textContent = "No messages yet. Say hi!"; nodes.push(e); }
  for (const m of data.messages) {
    const div = document.createElement("div");
    div.className = "msg" + (m.kind === "postback" ? " postback" : "");
    div.dataset.testid = "chat-message"; div.setAttribute("data-testid", "chat-message");
    div.dataset.from = m.from; div.dataset.mid = m.mid; if (m.status) div.dataset.status = m.status;
    if (m.text) { const t = document.createElement("span"); t.dataset.testid = "chat-message-text"; t.textContent = m.text; div.append(t); }
    for (const a of m.attachments) {
      const url = a.payload && a.payload.url;
      if (!url) continue;
      if (a.type === "image") { const img = document.createElement("img"); img.src = url; img.alt = "image"; img.dataset.testid = "chat-attachment"; div.append(img); }
      else { const l = document.createElement("a"); l.href = url; l.target = "_blank"; l.textContent = a.type + " attachment"; l.dataset.testid = "chat-attachment"; div.append(l); }
    }
    if (m.reaction) { const r = document.createElement("span"); r.textContent = " " + m.reaction; div.append(r); }
    nodes.push(div);
    if (m.status) { const s = document.createElement("div"); s.className = "status"; s.dataset.testid = "chat-message-status"; s.dataset.mid = m.mid; s.textContent = m.status; nodes.push(s); }
  }
  box.replaceChildren(...nodes);
  box.scrollTop = box.scrollHeight;
}

async function refresh() {
  if (!psid) { $("who").textContent = "Choose or create a customer"; return; }
  const current = psid;
  try {
    const data = await api("/chat/api/conversation?psid=" + encodeURIComponent(current));
    if (current !== psid) return;
    render(data);
    const newest = Math.max(0, ...data.messages.filter(m => m.from === "page").map(m => m.timestamp));
    if (newest > lastPageTs && document.visibilityState === "visible") { lastPageTs = newest; markRead(); }
  } catch (e) { console.warn(e); }
}
function markRead() {
  if (!psid) return;
  api("/chat/api/read", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({psid})}).catch(() => {});
}

$("page-select").addEventListener("change", () => fillCustomers(null));
$("customer-select").addEventListener("change", (e) => choose(e.target.value));
$("create").addEventListener("click", async () => {
  const name = $("new-name").value.trim(); if (!name) return;
  const c = await api("/chat/api/customers", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({page_id: $("page-select").value, name})});
  $("new-name").value = ""; await loadDirectory(c.id);
});
$("composer").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!psid) return;
  const text = $("text").value, file = $("file").files[0];
  if (!text.trim() && !file) return;
  const body = new FormData(); body.append("psid", psid);
  if (text.trim()) body.append("text", text);
  if (file) body.append("file", file);
  $("text").value = ""; $("file").value = "";
  await api("/chat/api/send", {method: "POST", body});
  refresh();
});
$("get-started").addEventListener("click", async () => {
  if (!psid) return;
  await api("/chat/api/postback", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({psid, title: "Get Started", payload: "GET_STARTED"})});
  refresh();
});
// Viewing the conversation is what produces Messenger's read receipt.
document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") markRead(); });
window.addEventListener("focus", markRead);
loadDirectory(null);
setInterval(refresh, 1000);
</script>
</body></html>
"""
