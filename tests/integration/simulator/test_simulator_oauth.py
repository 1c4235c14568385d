"""The activation flow pagedesk runs: dialog → code → short token → long-lived → accounts → permissions."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from pagedesk.simulator.store import DEMO_ADMIN_ID, EDITOR_USER_ID, GLOBEX_PAGE_ID
from tests.integration.simulator.helpers import sync_tests

REDIRECT = "http://pagedesk.test/campaigns/activate/callback"
SCOPES = "pages_messaging,pages_show_list,pages_manage_metadata,pages_read_engagement"


async def run_dialog(
    sim: Any,
    *,
    user_id: str = DEMO_ADMIN_ID,
    pages: list[str] | None = None,
    untick: tuple[str, ...] = (),
    version: str = "/v25.0",
) -> dict[str, list[str]]:
    """Click through the dialog as a browser would; returns the redirect's query."""
    response = await sim.http.get(
        f"{version}/dialog/oauth",
        params={
            "client_id": sim.app_id,
            "redirect_uri": REDIRECT,
            "state": "csrf-123",
            "scope": SCOPES,
            "response_type": "code",
        },
    )
    assert response.status_code == 200
    assert f'data-testid="fb-login-user-{user_id}"' in response.text
    login_action = re.search(r'action="([^"]+/login)"', response.text)
    assert login_action
    response = await sim.http.post(login_action.group(1), data={"user_id": user_id})
    assert "What Pages do you want" in response.text
    offered = re.findall(r'name="page" value="(\d+)"', response.text)
    pages_action = re.search(r'action="([^"]+/pages)"', response.text)
    assert pages_action
    response = await sim.http.post(
        pages_action.group(1), data={"page": pages if pages is not None else offered, "action": "continue"}
    )
    scopes = re.findall(r'name="permission" value="([\w]+)"', response.text)
    assert scopes == SCOPES.split(",")
    permissions_action = re.search(r'action="([^"]+/permissions)"', response.text)
    assert permissions_action
    response = await sim.http.post(
        permissions_action.group(1),
        data={"permission": [s for s in scopes if s not in untick], "action": "done"},
    )
    assert 'data-testid="fb-connected"' in response.text
    finish_action = re.search(r'action="([^"]+/finish)"', response.text)
    assert finish_action
    response = await sim.http.post(finish_action.group(1), data={"action": "ok"})
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?") and location.endswith("#_=_")
    return parse_qs(urlsplit(location).query)


async def exchange(sim: Any, code: str) -> dict[str, Any]:
    response = await sim.http.get(
        "/v25.0/oauth/access_token",
        params={
            "client_id": sim.app_id,
            "client_secret": sim.app_secret,
            "redirect_uri": REDIRECT,
            "code": code,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def long_lived(sim: Any, token: str) -> dict[str, Any]:
    response = await sim.http.get(
        "/v25.0/oauth/access_token",
        params={
            "grant_type": "fb_exchange_token",
            "client_id": sim.app_id,
            "client_secret": sim.app_secret,
            "fb_exchange_token": token,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_full_activation_flow_with_a_declined_permission(sim):
    query = await run_dialog(sim, untick=("pages_read_engagement",))
    assert query["state"] == ["csrf-123"]
    short = await exchange(sim, query["code"][0])
    assert short["token_type"] == "bearer" and short["expires_in"] <= 2 * 3600
    long = await long_lived(sim, short["access_token"])
    assert long["expires_in"] == 60 * 24 * 3600 and long["access_token"] != short["access_token"]

    accounts = (
        await sim.http.get("/v25.0/me/accounts", params={"access_token": long["access_token"]})
    ).json()
    by_name = {row["name"]: row for row in accounts["data"]}
    assert set(by_name) == {"Acme Support", "Globex Help"}
    acme = by_name["Acme Support"]
    assert acme["id"] == sim.acme and acme["access_token"].startswith("EAA")
    assert "MANAGE" in acme["tasks"] and "MESSAGING" in acme["tasks"]
    assert set(acme) >= {"access_token", "category", "category_list", "name", "id", "tasks"}
    assert "cursors" in accounts["paging"]

    permissions = (
        await sim.http.get("/me/permissions", params={"access_token": long["access_token"]})
    ).json()
    assert {"permission": "pages_read_engagement", "status": "declined"} in permissions["data"]
    assert {"permission": "pages_messaging", "status": "granted"} in permissions["data"]

    # The page token works for the Send API's sibling endpoints right away.
    page_token = acme["access_token"]
    response = await sim.http.post(
        f"/v25.0/{sim.acme}/subscribed_apps",
        params={
            "access_token": page_token,
            "subscribed_fields": "messages,messaging_postbacks,message_echoes",
        },
    )
    assert response.json() == {"success": True}
    subscribed = (
        await sim.http.get(f"/{sim.acme}/subscribed_apps", params={"access_token": page_token})
    ).json()
    assert subscribed["data"][0]["id"] == sim.app_id
    assert subscribed["data"][0]["subscribed_fields"] == ["messages", "messaging_postbacks", "message_echoes"]
    debug = (
        await sim.http.get(
            "/v25.0/debug_token",
            params={"input_token": page_token, "access_token": f"{sim.app_id}|{sim.app_secret}"},
        )
    ).json()["data"]
    assert debug["is_valid"] is True and debug["type"] == "PAGE" and debug["expires_at"] == 0
    assert debug["profile_id"] == sim.acme and debug["app_id"] == sim.app_id
    assert "pages_read_engagement" not in debug["scopes"]


async def test_code_is_single_use_and_bound_to_redirect_uri(sim):
    code = (await run_dialog(sim))["code"][0]
    wrong = await sim.http.get(
        "/oauth/access_token",
        params={
            "client_id": sim.app_id,
            "client_secret": sim.app_secret,
            "redirect_uri": REDIRECT + "x",
            "code": code,
        },
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"]["error_subcode"] == 36008
    await exchange(sim, code)
    reused = await sim.http.get(
        "/oauth/access_token",
        params={
            "client_id": sim.app_id,
            "client_secret": sim.app_secret,
            "redirect_uri": REDIRECT,
            "code": code,
        },
    )
    error = reused.json()["error"]
    assert error["code"] == 100 and error["error_subcode"] == 36009 and error["type"] == "OAuthException"
    assert "fbtrace_id" in error


async def test_bad_client_secret(sim):
    response = await sim.http.get(
        "/v19.0/oauth/access_token",
        params={"client_id": sim.app_id, "client_secret": "nope", "redirect_uri": REDIRECT, "code": "x"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Error validating client secret."


async def test_cancel_redirects_with_user_denied(sim):
    response = await sim.http.get(
        "/dialog/oauth",
        params={"client_id": sim.app_id, "redirect_uri": REDIRECT, "state": "s1", "scope": SCOPES},
    )
    action = re.search(r'action="([^"]+/login)"', response.text)
    assert action
    response = await sim.http.post(action.group(1), data={"action": "cancel"})
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["error"] == ["access_denied"] and query["error_reason"] == ["user_denied"]
    assert query["state"] == ["s1"] and "code" not in query


async def test_invalid_app_id_shows_an_error_page(sim):
    response = await sim.http.get("/v25.0/dialog/oauth", params={"client_id": "1", "redirect_uri": REDIRECT})
    assert response.status_code == 400 and "Invalid App ID" in response.text


async def test_editor_is_not_admin_of_acme(sim):
    query = await run_dialog(sim, user_id=EDITOR_USER_ID)
    token = (await exchange(sim, query["code"][0]))["access_token"]
    accounts = (await sim.http.get("/me/accounts", params={"access_token": token})).json()["data"]
    acme = next(row for row in accounts if row["id"] == sim.acme)
    assert "MANAGE" not in acme["tasks"]
    assert any("MANAGE" in row["tasks"] for row in accounts if row["id"] != sim.acme)


async def test_only_pages_picked_in_the_dialog_are_listed_and_paging_works(sim):
    query = await run_dialog(sim, pages=[GLOBEX_PAGE_ID])
    token = (await exchange(sim, query["code"][0]))["access_token"]
    accounts = (await sim.http.get("/me/accounts", params={"access_token": token})).json()["data"]
    assert [row["id"] for row in accounts] == [GLOBEX_PAGE_ID]

    query = await run_dialog(sim)
    token = (await exchange(sim, query["code"][0]))["access_token"]
    first = (await sim.http.get("/me/accounts", params={"access_token": token, "limit": 1})).json()
    assert len(first["data"]) == 1 and "next" in first["paging"]
    second = (
        await sim.http.get(
            "/me/accounts",
            params={"access_token": token, "limit": 1, "after": first["paging"]["cursors"]["after"]},
        )
    ).json()
    assert second["data"][0]["id"] != first["data"][0]["id"] and "next" not in second["paging"]


@pytest.mark.parametrize("prefix", ["", "/v25.0", "/v18.0"])
async def test_any_graph_version_prefix(sim, prefix):
    response = await sim.http.get(f"{prefix}/me", params={"access_token": sim.acme_token})
    assert response.json() == {"name": "Acme Support", "id": sim.acme}


async def test_unknown_graph_path(sim):
    response = await sim.http.get("/v25.0/me/nothing", params={"access_token": sim.acme_token})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 2500


async def test_accounts_returns_only_requested_fields(sim):
    query = await run_dialog(sim)
    token = (await exchange(sim, query["code"][0]))["access_token"]
    rows = (
        await sim.http.get("/me/accounts", params={"access_token": token, "fields": "name,tasks"})
    ).json()["data"]
    assert all(set(row) == {"id", "name", "tasks"} for row in rows)


sync_tests(globals())
