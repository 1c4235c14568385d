"""The OAuth dialog ("Log in with Facebook") as small HTML pages, in Facebook's order of screens.

GET /{version}/dialog/oauth?client_id&redirect_uri&state&scope&response_type=code
  → choose who you are → choose Pages → review permissions (each can be unticked) → "Done"
  → "<app> has been connected" → "OK" redirects to redirect_uri?code=…&state=…#_=_
Cancel at any step redirects to redirect_uri?error=access_denied&error_code=200
&error_description=Permissions+error&error_reason=user_denied&state=…#_=_ (what Facebook sends).
The `#_=_` fragment is a real Facebook quirk kept on purpose.
"""

from __future__ import annotations

import html
import secrets
from typing import Any

from pagedesk.simulator.http import Request, Response, html_response, redirect, with_query
from pagedesk.simulator.store import CODE_TTL_SECONDS, Store

PERMISSION_LABELS = {
    "pages_show_list": "Show a list of the Pages you manage",
    "pages_messaging": "Manage and access Page conversations in Messenger",
    "pages_manage_metadata": "Manage accounts, settings and webhooks for a Page",
    "pages_read_engagement": "Read content posted on the Page",
    "public_profile": "Your name and profile picture",
}

STYLE = """
body{margin:0;background:#f0f2f5;font-family:Helvetica,Arial,sans-serif;color:#1c1e21}
header{background:#1877f2;color:#fff;padding:10px 20px;font-weight:bold;font-size:22px;letter-spacing:-.5px}
main{max-width:520px;margin:32px auto;background:#fff;border-radius:8px;padding:24px;
box-shadow:0 2px 4px rgba(0,0,0,.1),0 8px 16px rgba(0,0,0,.1)}
h1{font-size:20px;margin:0 0 8px}p.sub{color:#606770;margin:0 0 16px}
label.row{display:flex;align-items:center;gap:10px;padding:10px;border-bottom:1px solid #dadde1;cursor:pointer}
label.row small{display:block;color:#606770}
.buttons{display:flex;gap:8px;justify-content:flex-end;margin-top:20px}
button{border:0;border-radius:6px;padding:8px 16px;font-size:15px;font-weight:bold;cursor:pointer}
button.primary{background:#1877f2;color:#fff}button.secondary{background:#e4e6eb;color:#050505}
button.user{display:flex;width:100%;align-items:center;gap:12px;background:#fff;border:1px solid #dadde1;
margin-bottom:8px;text-align:left}
.avatar{width:36px;height:36px;border-radius:50%;background:#1877f2;color:#fff;display:flex;
align-items:center;justify-content:center}
.ok{font-size:48px;color:#42b72a;text-align:center}.error{color:#d93025}
"""


def _page(title: str, body: str, status: int = 200) -> Response:
    return html_response(
        f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>
<body><header>facebook <small style="font-weight:normal;font-size:12px">(simulator)</small></header>
<main>{body}</main></body></html>""",
        status,
    )


def _cancel_button() -> str:
    return (
        '<button type="submit" name="action" value="cancel" class="secondary" '
        'data-testid="fb-cancel">Cancel</button>'
    )


class Dialog:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def start(self, request: Request) -> Response:
        q = request.query
        config = self.store.config
        if q.get("client_id") != config["app_id"]:
            return _page(
                "Error",
                '<h1 class="error" data-testid="fb-error">Invalid App ID</h1>'
                "<p>The provided app ID does not look like a valid app ID.</p>",
                400,
            )
        redirect_uri = q.get("redirect_uri")
        if not redirect_uri:
            return _page(
                "Error",
                '<h1 class="error" data-testid="fb-error">URL blocked</h1>'
                "<p>This redirect failed because the redirect URI is missing.</p>",
                400,
            )
        if q.get("response_type", "code") != "code":
            return _page(
                "Error", '<h1 class="error" data-testid="fb-error">Unsupported response_type</h1>', 400
            )
        scopes = [s.strip() for s in q.get("scope", "").replace(" ", ",").split(",") if s.strip()]
        sid = secrets.token_urlsafe(16)
        with self.store.lock:
            self.store.state["dialogs"][sid] = {
                "redirect_uri": redirect_uri,
                "state": q.get("state"),
                "scopes": scopes,
                "user_id": None,
                "pages": [],
                "created": self.store.now(),
            }
            self.store.save()
        return self._login(sid)

    def _login(self, sid: str) -> Response:
        users = self.store.state["users"].values()
        buttons = "".join(
            f'<button type="submit" name="user_id" value="{u["id"]}" class="user" data-testid="fb-login-user-{u["id"]}">'
            f'<span class="avatar">{html.escape(u["name"][:1])}</span>'
            f"<span>Continue as {html.escape(u['name'])}</span></button>"
            for u in users
        )
        app = html.escape(self.store.config["app_name"])
        return _page(
            "Log in to Facebook",
            f"""<h1>Log in to Facebook</h1><p class="sub">to continue to {app}. Choose a simulated account.</p>
<form method="post" action="/dialog/oauth/{sid}/login">{buttons}
<div class="buttons">{_cancel_button()}</div></form>""",
        )

    async def step(self, request: Request) -> Response:
        sid = request.params["sid"]
        step = request.params["step"]
        fields, _files = request.form()
        with self.store.lock:
            session = self.store.state["dialogs"].get(sid)
        if session is None:
            return _page(
                "Error", '<h1 class="error" data-testid="fb-error">This dialog has expired.</h1>', 400
            )
        if fields.get("action") == "cancel":
            return self._finish(sid, session, cancelled=True)
        if step == "login":
            return self._after_login(sid, session, fields)
        if step == "pages":
            return self._after_pages(sid, session, request)
        if step == "permissions":
            return self._after_permissions(sid, session, request)
        if step == "finish":
            return self._finish(sid, session, cancelled=False)
        return _page("Error", '<h1 class="error">Unknown step</h1>', 404)

    def _after_login(self, sid: str, session: dict[str, Any], fields: dict[str, str]) -> Response:
        with self.store.lock:
            user = self.store.state["users"].get(fields.get("user_id", ""))
            if user is None:
                return self._login(sid)
            session["user_id"] = user["id"]
            self.store.save()
            previous = self.store.state["grants"].get(user["id"], {}).get("pages", [])
            rows = "".join(
                f'<label class="row"><input type="checkbox" name="page" value="{pid}" '
                f'data-testid="fb-page-{pid}" {"checked" if not previous or pid in previous else ""}>'
                f"<span>{html.escape(self.store.state['pages'][pid]['name'])}"
                f"<small>{'Admin' if 'MANAGE' in tasks else 'Editor'} · Page ID {pid}</small></span></label>"
                for pid, tasks in user["roles"].items()
            )
        app = html.escape(self.store.config["app_name"])
        return _page(
            "Choose Pages",
            f"""<h1>What Pages do you want {app} to access?</h1>
<p class="sub">Logged in as <b data-testid="fb-current-user">{html.escape(user["name"])}</b>.</p>
<form method="post" action="/dialog/oauth/{sid}/pages">{rows}
<div class="buttons">{_cancel_button()}
<button type="submit" name="action" value="continue" class="primary" data-testid="fb-continue">Continue</button>
</div></form>""",
        )

    def _after_pages(self, sid: str, session: dict[str, Any], request: Request) -> Response:
        picked = _multi(request, "page")
        with self.store.lock:
            user = self.store.state["users"][session["user_id"]]
            session["pages"] = [p for p in picked if p in user["roles"]]
            self.store.save()
        rows = "".join(
            f'<label class="row"><input type="checkbox" name="permission" value="{html.escape(s)}" checked '
            f'data-testid="fb-permission-{html.escape(s)}"><span>{html.escape(PERMISSION_LABELS.get(s, s))}'
            f"<small>{html.escape(s)}</small></span></label>"
            for s in session["scopes"]
        )
        app = html.escape(self.store.config["app_name"])
        return _page(
            "Review permissions",
            f"""<h1>What is {app} allowed to do?</h1>
<p class="sub">{app} is requesting the following. Untick anything you do not want to allow.</p>
<form method="post" action="/dialog/oauth/{sid}/permissions">{rows}
<div class="buttons">{_cancel_button()}
<button type="submit" name="action" value="done" class="primary" data-testid="fb-done">Done</button>
</div></form>""",
        )

    def _after_permissions(self, sid: str, session: dict[str, Any], request: Request) -> Response:
        ticked = [s for s in _multi(request, "permission") if s in session["scopes"]]
        declined = [s for s in session["scopes"] if s not in ticked]
        with self.store.lock:
            grants = self.store.state["grants"]
            previous = grants.get(session["user_id"], {"granted": [], "declined": [], "pages": []})
            # Facebook keeps earlier grants for scopes not asked this time.
            granted = [s for s in previous["granted"] if s not in session["scopes"]] + ticked
            grants[session["user_id"]] = {"granted": granted, "declined": declined, "pages": session["pages"]}
            self.store.save()
        app = html.escape(self.store.config["app_name"])
        return _page(
            "Connected",
            f"""<div class="ok">✔</div><h1 data-testid="fb-connected">You've now connected {app} to Facebook</h1>
<p class="sub">{app} can now access the Pages and permissions you chose. You can change this at any time
in your Business Integrations settings.</p>
<form method="post" action="/dialog/oauth/{sid}/finish"><div class="buttons">
<button type="submit" name="action" value="ok" class="primary" data-testid="fb-ok">OK</button></div></form>""",
        )

    def _finish(self, sid: str, session: dict[str, Any], *, cancelled: bool) -> Response:
        with self.store.lock:
            self.store.state["dialogs"].pop(sid, None)
            params: dict[str, str]
            if cancelled or session["user_id"] is None:
                params = {
                    "error": "access_denied",
                    "error_code": "200",
                    "error_description": "Permissions error",
                    "error_reason": "user_denied",
                }
            else:
                code = secrets.token_urlsafe(48)
                self.store.state["codes"][code] = {
                    "user_id": session["user_id"],
                    "redirect_uri": session["redirect_uri"],
                    "used": False,
                    "expires_at": self.store.now() + CODE_TTL_SECONDS,
                }
                params = {"code": code}
            self.store.save()
        if session["state"] is not None:
            params["state"] = session["state"]
        return redirect(with_query(session["redirect_uri"], params) + "#_=_")


def _multi(request: Request, name: str) -> list[str]:
    """Every value of a repeated urlencoded form field (checkbox groups)."""
    from urllib.parse import parse_qs

    if request.content_type != "application/x-www-form-urlencoded":
        return []
    return parse_qs(request.body.decode("utf-8")).get(name, [])
