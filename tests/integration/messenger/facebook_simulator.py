"""The Facebook simulator served over real HTTP for pagedesk's activation, token and Send API tests.

pagedesk's Graph client speaks plain HTTP to settings.FACEBOOK_GRAPH_URL from worker threads, so the
simulator runs under uvicorn in a daemon thread on a free port (not through an in-process transport).
`dialog_code` clicks through the OAuth dialog the way a browser would and returns the redirect query.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from pagedesk.simulator.store import (
    ACME_PAGE_ID,
    ACME_SEED_PAGE_TOKEN,
    DEMO_ADMIN_ID,
    EDITOR_USER_ID,
    GLOBEX_PAGE_ID,
)

APP_ID = "4242000011112222"
APP_SECRET = "pagedesk-test-secret"
CARLA = "7000000000000001"

__all__ = [
    "ACME_PAGE_ID",
    "ACME_SEED_PAGE_TOKEN",
    "APP_ID",
    "APP_SECRET",
    "CARLA",
    "DEMO_ADMIN_ID",
    "EDITOR_USER_ID",
    "GLOBEX_PAGE_ID",
    "Simulator",
    "running_simulator",
]


class Simulator:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=10)

    def reset(self) -> None:
        assert self.http.post("/_control/reset").status_code == 200
        self.http.put(
            "/_control/config", json={"app_id": APP_ID, "app_secret": APP_SECRET, "public_url": self.url}
        ).raise_for_status()

    def point_settings(self, settings: Any) -> None:
        settings.FACEBOOK_GRAPH_URL = self.url
        settings.FACEBOOK_DIALOG_URL = self.url
        settings.FACEBOOK_APP_ID = APP_ID
        settings.FACEBOOK_APP_SECRET = APP_SECRET

    def revoke_page(self, page_id: str) -> None:
        self.http.post(f"/_control/pages/{page_id}/revoke").raise_for_status()

    def inject_error(self, **rule: Any) -> None:
        response = self.http.post("/_control/errors", json=rule)
        assert response.status_code == 201, response.text

    def customer_says(self, psid: str, text: str) -> None:
        response = self.http.post(f"/_control/customers/{psid}/message", json={"text": text})
        assert response.status_code == 201, response.text

    def sent(self, page_id: str, psid: str) -> list[dict[str, Any]]:
        body = self.http.get("/_control/sent", params={"page_id": page_id, "psid": psid}).json()
        return list(body["messages"])

    def subscriptions(self, page_id: str) -> list[str]:
        state = self.http.get("/_control/state").json()
        return list((state.get("subscriptions") or {}).get(page_id) or [])

    def dialog_code(
        self,
        dialog_url: str,
        *,
        user_id: str = DEMO_ADMIN_ID,
        pages: list[str] | None = None,
        untick: tuple[str, ...] = (),
        cancel: bool = False,
    ) -> dict[str, str]:
        """Walk the OAuth dialog at `dialog_url` (what /facebook/start redirected to); returns the
        redirect's query parameters (code and state, or error)."""
        page = self.http.get(dialog_url)
        assert page.status_code == 200, page.text
        action = re.search(r'action="([^"]+/login)"', page.text)
        assert action
        if cancel:
            response = self.http.post(action.group(1), data={"action": "cancel"})
            return _redirect_query(response)
        page = self.http.post(action.group(1), data={"user_id": user_id})
        offered = re.findall(r'name="page" value="(\d+)"', page.text)
        action = re.search(r'action="([^"]+/pages)"', page.text)
        assert action
        page = self.http.post(
            action.group(1), data={"page": pages if pages is not None else offered, "action": "continue"}
        )
        scopes = re.findall(r'name="permission" value="(\w+)"', page.text)
        action = re.search(r'action="([^"]+/permissions)"', page.text)
        assert action
        page = self.http.post(
            action.group(1), data={"permission": [s for s in scopes if s not in untick], "action": "done"}
        )
        action = re.search(r'action="([^"]+/finish)"', page.text)
        assert action
        return _redirect_query(self.http.post(action.group(1), data={"action": "ok"}))


def _redirect_query(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


@contextmanager
def running_simulator() -> Iterator[Simulator]:
    import uvicorn

    from pagedesk.simulator.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = create_app(
        app_id=APP_ID,
        app_secret=APP_SECRET,
        public_url=url,
        # Nobody listens here: these tests are about Graph calls, not webhook delivery.
        webhook_url="http://127.0.0.1:9/webhooks/messenger",
        retry_delays=[0.05],
    )
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="fb-simulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the Facebook simulator did not start")
        time.sleep(0.02)
    simulator = Simulator(url)
    try:
        yield simulator
    finally:
        simulator.http.close()
        server.should_exit = True
        thread.join(10)
        sock.close()
