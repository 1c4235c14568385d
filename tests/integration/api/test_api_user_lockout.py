"""Issue 12 #8 over the API: a user's `locked` flag and POST /users/{id}/unlock."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import PASSWORD
from tests.integration.api.conftest import error_of

pytestmark = pytest.mark.django_db


def log_in(username: str, password: str, ip: str = "127.0.0.1") -> int:
    response = Client(REMOTE_ADDR=ip).post("/accounts/login/", {"username": username, "password": password})
    return response.status_code


def lock_out(username: str, ip: str = "127.0.0.1") -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(username, "wrong-password", ip)
    assert log_in(username, PASSWORD, ip) == 429


def test_admin_sees_a_locked_user_and_unlocks_them(admin_api, bob, alice):
    lock_out("bob")
    assert admin_api.get(f"/users/{bob.pk}").json()["locked"] is True
    listed = {u["username"]: u["locked"] for u in admin_api.get("/users").json()["items"]}
    assert listed == {"ada": False, "alice": False, "bob": True}

    response = admin_api.post(f"/users/{bob.pk}/unlock")
    assert response.status_code == 200
    assert response.json()["locked"] is False
    assert log_in("bob", PASSWORD) == 302
    # Unlocking someone who is not locked is harmless.
    assert admin_api.post(f"/users/{alice.pk}/unlock").status_code == 200


def test_only_admins_unlock(api_as, sam, alice, bob):
    lock_out("bob")
    for user in (sam, alice):
        response = api_as(user).post(f"/users/{bob.pk}/unlock")
        assert response.status_code == 403, error_of(response)
    assert log_in("bob", PASSWORD) == 429


def test_unlocking_an_unknown_user_is_a_404(admin_api):
    response = admin_api.post("/users/999999/unlock")
    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")


def test_a_new_password_over_the_api_lifts_the_lock_out(admin_api, bob):
    lock_out("bob")
    new_password = "another-Long-passphrase-2"
    assert admin_api.patch(f"/users/{bob.pk}", {"password": new_password}).status_code == 200
    assert log_in("bob", new_password) == 302


def test_locked_is_per_username_and_unlock_clears_every_address(admin_api, bob):
    lock_out("bob", ip="10.0.0.1")
    lock_out("bob", ip="10.0.0.2")
    assert admin_api.get(f"/users/{bob.pk}").json()["locked"] is True
    admin_api.post(f"/users/{bob.pk}/unlock")
    assert log_in("bob", PASSWORD, ip="10.0.0.1") == 302
    assert log_in("bob", PASSWORD, ip="10.0.0.2") == 302


def test_a_username_lock_out_counts_failures_from_every_address(settings, admin_api, bob):
    """The parallel security issue will also key lock-out on the username alone; `locked` follows it."""
    settings.AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username"]
    for i in range(settings.AXES_FAILURE_LIMIT):
        log_in("bob", "wrong-password", ip=f"10.0.1.{i}")
    assert log_in("bob", PASSWORD, ip="10.0.2.1") == 429
    assert admin_api.get(f"/users/{bob.pk}").json()["locked"] is True
    settings.AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
    assert admin_api.get(f"/users/{bob.pk}").json()["locked"] is False
