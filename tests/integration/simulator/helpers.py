"""Shared helpers for the simulator tests: the `Sim` driver and `run_async`.

Why `run_async` instead of pytest-asyncio: pytest-playwright's sync API keeps an event loop running on the
main thread for the whole session once any browser test ran, after which pytest-asyncio cannot start its
loop ("Runner.run() cannot be called from a running event loop"). Running each async test body in
`asyncio.run` on a worker thread works whatever ran before.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from pagedesk.simulator.app import SimulatorApp
from pagedesk.simulator.store import ACME_PAGE_ID, ACME_SEED_PAGE_TOKEN

APP_ID = "555000111222333"
APP_SECRET = "test-app-secret"
SIM = "http://sim.test"
CARLA = "7000000000000001"  # seeded customer of Acme Support
PETER = "7000000000000002"
HANK = "7000000000000003"  # Globex Help
ACME = ACME_PAGE_ID
ACME_TOKEN = ACME_SEED_PAGE_TOKEN


class Sim:
    """The simulator under test: `http` is an httpx client on its ASGI app; helpers keep tests short."""

    app_id = APP_ID
    app_secret = APP_SECRET
    acme = ACME
    acme_token = ACME_TOKEN
    carla = CARLA
    peter = PETER
    hank = HANK

    def __init__(self, app: SimulatorApp, http: httpx.AsyncClient) -> None:
        self.app = app
        self.http = http

    async def wait_idle(self) -> None:
        response = await self.http.post("/_control/webhooks/wait", json={"timeout": 5})
        assert response.json()["idle"], response.text

    async def customer_says(self, psid: str, text: str, **extra: Any) -> dict[str, Any]:
        response = await self.http.post(f"/_control/customers/{psid}/message", json={"text": text, **extra})
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def send(
        self, body: dict[str, Any], token: str = ACME_TOKEN, path: str = "/v25.0/me/messages"
    ) -> httpx.Response:
        return await self.http.post(path, params={"access_token": token}, json=body)

    async def config(self, **changes: Any) -> None:
        response = await self.http.put("/_control/config", json=changes)
        assert response.status_code == 200, response.text

    async def advance(self, seconds: float) -> None:
        await self.http.post("/_control/clock", json={"advance_seconds": seconds})

    @staticmethod
    def text(psid: str, text: str, **extra: Any) -> dict[str, Any]:
        return {"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": {"text": text}, **extra}

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.app.dispatcher.close()


def run_async(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Turn an async test into a sync one that runs on a fresh loop in a worker thread."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        failure: list[BaseException] = []

        async def main() -> None:
            try:
                await test(*args, **kwargs)
            finally:
                for value in kwargs.values():
                    if isinstance(value, Sim):
                        await value.aclose()

        def target() -> None:
            try:
                asyncio.run(main())
            except BaseException as exc:  # re-raised on the test's thread
                failure.append(exc)

        thread = threading.Thread(target=target, name=f"test-{test.__name__}")
        thread.start()
        thread.join(timeout=120)
        assert not thread.is_alive(), "test timed out"
        if failure:
            raise failure[0]

    return wrapper


def sync_tests(namespace: dict[str, Any]) -> None:
    """Wrap every `async def test_*` of a module with `run_async` (call at the end of the module)."""
    for name, value in list(namespace.items()):
        if name.startswith("test_") and asyncio.iscoroutinefunction(value):
            namespace[name] = run_async(value)
