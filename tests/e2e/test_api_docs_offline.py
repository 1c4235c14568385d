"""Issue 12 #12e: the API docs page works without internet. Swagger UI came from a CDN, so on a machine
that cannot reach it /api/v1/docs stayed blank; its files are now served by pagedesk itself."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route, expect

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)


def test_api_docs_render_with_every_outside_request_blocked(live_app, page: Page, login, ada, artifact_path):
    outside: list[str] = []

    def only_localhost(route: Route) -> None:
        if urlsplit(route.request.url).hostname in {"127.0.0.1", "localhost"}:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_localhost)
    login(page, ada)
    page.goto(f"{live_app}/api/v1/docs")
    expect(page.get_by_role("heading", name="pagedesk API")).to_be_visible()
    users = page.locator(".opblock-summary-path", has_text="/api/v1/users/{user_id}/unlock")
    expect(users).to_be_visible()
    assert page.locator(".opblock").count() > 20
    assert outside == []
    page.screenshot(path=artifact_path("api-docs-offline.png"))
