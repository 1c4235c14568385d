"""Helpers for API tests: a JSON client per caller (token, session or anonymous) and a role matrix."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.http import HttpResponse
from django.test import Client

from pagedesk.accounts.models import ApiToken, User
from pagedesk.accounts.services import api_token_create, api_token_revoke

BASE = "/api/v1"


class ApiClient:
    def __init__(self, client: Client, headers: dict[str, str]):
        self.client = client
        self.headers = headers

    def call(self, method: str, path: str, body: Any = None, **query: Any) -> HttpResponse:
        url = BASE + path + (f"?{urlencode(query)}" if query else "")
        if body is None:
            return self.client.generic(method, url, **self.headers)
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return self.client.generic(method, url, data=data, content_type="application/json", **self.headers)

    def get(self, path: str, **query: Any) -> HttpResponse:
        return self.call("GET", path, **query)

    def post(self, path: str, body: Any = None) -> HttpResponse:
        return self.call("POST", path, body if body is not None else {})

    def put(self, path: str, body: Any = None) -> HttpResponse:
        return self.call("PUT", path, body if body is not None else {})

    def patch(self, path: str, body: Any = None) -> HttpResponse:
        return self.call("PATCH", path, body if body is not None else {})

    def delete(self, path: str) -> HttpResponse:
        return self.call("DELETE", path)


def bearer(user: User) -> dict[str, str]:
    _token, raw = api_token_create(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def api_as(db):
    """api_as(user) → token client; api_as(user, via="session") → logged-in browser; api_as(None) → anonymous."""

    def make(user: User | None, *, via: str = "token") -> ApiClient:
        if user is None:
            return ApiClient(Client(), {})
        if via == "session":
            client = Client()
            client.force_login(user)
            return ApiClient(client, {})
        return ApiClient(Client(), bearer(user))

    return make


@pytest.fixture
def admin_api(api_as, ada) -> ApiClient:
    return api_as(ada)


@pytest.fixture
def revoked_api(ada) -> ApiClient:
    headers = bearer(ada)
    api_token_revoke(token=ApiToken.objects.filter(user=ada).latest("id"))
    return ApiClient(Client(), headers)


# Callers of the role matrix. "admin_session" checks that the browser session gets the same answers.
CALLERS = ("admin", "admin_session", "supervisor", "agent", "anonymous", "revoked")


@pytest.fixture
def caller(api_as, ada, sam, alice, revoked_api):
    def make(name: str) -> ApiClient:
        return {
            "admin": lambda: api_as(ada),
            "admin_session": lambda: api_as(ada, via="session"),
            "supervisor": lambda: api_as(sam),
            "agent": lambda: api_as(alice),
            "anonymous": lambda: api_as(None),
            "revoked": lambda: revoked_api,
        }[name]()

    return make


def error_of(response: HttpResponse) -> dict[str, Any]:
    """The {"error": {...}} body every refusal carries; fails the test if the shape is different."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] and body["error"]["message"], body
    return body["error"]


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """The personas are created in every test; PBKDF2's deliberate slowness would dominate the run."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
