"""The inbox in Chromium with hashed static names (pagedesk.core.staticfiles), served as a production that
chose them would: collected, from the static root only, no finders. Every module the page loads is a
hashed file that answers 200, and the page works. tests/integration/inbox/test_inbox_modules.py checks
the same graph without a browser, in every storage.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Response, expect

from tests.e2e.conftest import serving, session_context
from tests.e2e.test_agent_inbox import wait_live
from tests.es_modules import INBOX_MODULES, collect_static
from tests.integration.inbox.conftest import make_conversation

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)

HASHED_MODULE = re.compile(r"/static/inbox/(?P<name>\w+)\.[0-9a-f]{12}\.js$")


@pytest.fixture
def hashed_app(transactional_db: None, settings, tmp_path) -> Iterator[str]:
    from django.core.handlers.asgi import ASGIHandler

    from pagedesk.config import asgi
    from pagedesk.core.db import default_executor_install

    collect_static(tmp_path / "static", settings, "pagedesk.core.staticfiles.HashedStaticFilesStorage")
    settings.SERVESTATIC_USE_FINDERS = False
    # Django's handler reads the middleware settings when built: its ServeStatic serves the root above.
    http = ASGIHandler()

    async def application(scope, receive, send):
        if scope["type"] != "http":
            await asgi.application(scope, receive, send)  # the websocket
            return
        default_executor_install()
        await http(scope, receive, send)

    with serving(settings, application) as url:
        yield url


def test_the_inbox_loads_its_hashed_modules_and_works(
    hashed_app, new_context, settings, alice, campaign, artifact_path
):
    make_conversation(campaign, agent=alice, messages=2)
    page = session_context(new_context, alice, hashed_app).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    statics: list[Response] = []
    page.on("response", lambda response: statics.append(response) if "/static/" in response.url else None)

    page.goto(f"{hashed_app}/inbox/")
    wait_live(page)
    page.get_by_test_id("active-list").get_by_text("Carla Customer").click()
    expect(page.get_by_test_id("pane-title")).to_have_text("Acme Support — Carla Customer")
    # Seen, and the lists re-fetched (htmx, from its hashed file too): no unread count left.
    expect(page.get_by_test_id("active-list").locator(".conv.is-open [data-testid=unread]")).to_have_count(0)
    page.get_by_label("Message to Carla Customer").fill("x" * 1900)
    expect(page.get_by_test_id("composer-count")).to_have_text("1,900 / 2,000")
    page.screenshot(path=artifact_path("inbox_hashed_static.png"))

    modules = [response for response in statics if "/static/inbox/" in response.url]
    assert [(r.url, r.status) for r in modules if r.status != 200 or not HASHED_MODULE.search(r.url)] == []
    assert sorted(HASHED_MODULE.search(r.url)["name"] + ".js" for r in modules) == INBOX_MODULES
    assert errors == []
