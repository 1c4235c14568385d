"""A wrong method or an unknown path gets the API's JSON error shape, not ninja's or Django's HTML."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import iscoroutinefunction
from django.http import HttpResponse, HttpResponseNotAllowed
from django.test import Client, RequestFactory
from django.urls import path

from pagedesk.accounts.models import BreakReason
from pagedesk.api.main import with_json_refusals
from tests.integration.api.conftest import BASE, error_of

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("DELETE", "/users", "GET, POST"),
        ("POST", "/me", "GET"),
        ("DELETE", "/me/presence", "GET, PUT"),
        ("PUT", "/break-reasons", "GET, POST"),
        ("POST", "/campaigns/1/schedule", "GET, PUT"),
        ("GET", "/campaigns/1/canned-responses/order", "PUT"),
    ],
)
def test_a_method_the_path_does_not_take_is_a_json_405_with_allow(admin_api, method, url, allowed):
    response = admin_api.call(method, url, {"name": "x"})
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    assert response["Allow"] == allowed
    error = error_of(response)
    assert error["code"] == "method_not_allowed"
    assert error["message"] == f"{method} is not allowed on {BASE}{url}; use {allowed}."


def test_405_comes_before_authentication_and_csrf_and_changes_nothing(ada):
    # Anonymous, or a logged-in browser without the CSRF token: the method is wrong whoever asks.
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(ada)
    for client in (Client(), browser):
        response = client.put(f"{BASE}/break-reasons", {"name": "Nap"}, content_type="application/json")
        assert response.status_code == 405
        assert response["Allow"] == "GET, POST"
        assert error_of(response)["code"] == "method_not_allowed"
    assert not BreakReason.objects.exists()


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("/nope", "The endpoints are listed at /api/v1/docs."),
        ("/campaigns/1/nope", "The endpoints are listed at /api/v1/docs."),
        ("/users/", "API paths have no trailing slash"),
        ("/campaigns/1/members/", "API paths have no trailing slash"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_an_unknown_path_is_a_json_404_naming_it(admin_api, url, hint, method):
    response = admin_api.call(method, url, {"name": "x"})
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    error = error_of(response)
    assert error["code"] == "not_found"
    assert f"No API endpoint at {BASE}{url}." in error["message"]
    assert hint in error["message"]


def test_unknown_path_posted_by_a_browser_without_csrf_is_still_the_json_404(ada):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ada)
    response = client.post(f"{BASE}/nope", {}, content_type="application/json")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_known_paths_and_the_docs_still_answer(admin_api):
    assert admin_api.get("/me").status_code == 200
    assert admin_api.get("/openapi.json").status_code == 200
    assert Client().get(f"{BASE}/docs").status_code == 200
    # An unknown id on a real path stays the endpoint's own 404, not the unknown-path one.
    assert error_of(admin_api.get("/users/4242"))["message"] != ""
    assert "No API endpoint" not in error_of(admin_api.get("/users/4242"))["message"]


async def test_async_path_views_get_the_json_405_too():
    # ninja builds an async path view when an operation is async; none is yet, so check the wrapper
    # directly on one, as it would wrap it.
    async def view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        return HttpResponse("ok")

    view.csrf_exempt = True  # type: ignore[attr-defined]
    wrapped = with_json_refusals([path("thing", view)])[0].callback  # type: ignore[union-attr]
    assert iscoroutinefunction(wrapped)
    assert wrapped.csrf_exempt is True
    ok = await wrapped(RequestFactory().get("/api/v1/thing"))
    assert ok.content == b"ok"
    refused = await wrapped(RequestFactory().post("/api/v1/thing"))
    assert (refused.status_code, refused["Allow"]) == (405, "GET")
    assert json.loads(refused.content)["error"]["code"] == "method_not_allowed"
