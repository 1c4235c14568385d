from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from pagedesk.accounts.models import ApiToken, Role, User
from pagedesk.accounts.selectors import user_get_by_api_token
from pagedesk.accounts.services import api_token_create, api_token_revoke, user_create
from pagedesk.core.errors import ApplicationError
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_createuser_with_noinput_reads_the_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("PAGEDESK_PASSWORD", "a-Long-enough-passphrase")
    out = io.StringIO()
    call_command(
        "createuser",
        "--username",
        "carol",
        "--role",
        "supervisor",
        "--email",
        "c@example.com",
        "--noinput",
        stdout=out,
    )
    carol = User.objects.get(username="carol")
    assert carol.role == Role.SUPERVISOR
    assert carol.check_password("a-Long-enough-passphrase")
    assert "Created supervisor" in out.getvalue()


def test_createuser_explains_what_is_wrong(monkeypatch, alice):
    monkeypatch.delenv("PAGEDESK_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="PAGEDESK_PASSWORD"):
        call_command("createuser", "--username", "dan", "--role", "agent", "--noinput")
    monkeypatch.setenv("PAGEDESK_PASSWORD", "a-Long-enough-passphrase")
    with pytest.raises(CommandError, match="already exists"):
        call_command("createuser", "--username", "alice", "--role", "agent", "--noinput")
    monkeypatch.setenv("PAGEDESK_PASSWORD", "123")
    with pytest.raises(CommandError, match=r"too short|too common|numeric"):
        call_command("createuser", "--username", "erin", "--role", "agent", "--noinput")
    with pytest.raises(CommandError):
        call_command("createuser", "--username", "erin", "--role", "boss", "--noinput")
    assert not User.objects.filter(username__in=["dan", "erin"]).exists()


def test_user_create_refuses_bad_usernames():
    with pytest.raises(ApplicationError):
        user_create(username="   ", role="agent", password=PASSWORD)
    with pytest.raises(ApplicationError):
        user_create(username="has space", role="agent", password=PASSWORD)


def test_apitoken_command_prints_a_token_that_authenticates(ada):
    out = io.StringIO()
    call_command("apitoken", "--username", "ada", stdout=out)
    raw = out.getvalue().strip()
    assert raw.startswith("pd_")
    assert user_get_by_api_token(raw_token=raw) == ada
    # Only the hash is stored.
    assert not ApiToken.objects.filter(token_hash=raw).exists()


def test_apitoken_for_unknown_user_is_a_clear_error(db):
    with pytest.raises(CommandError, match="no active user"):
        call_command("apitoken", "--username", "nobody")


def test_revoked_or_inactive_tokens_do_not_authenticate(alice):
    token, raw = api_token_create(user=alice)
    api_token_revoke(token=token)
    assert user_get_by_api_token(raw_token=raw) is None
    _token, raw2 = api_token_create(user=alice)
    alice.is_active = False
    alice.save()
    assert user_get_by_api_token(raw_token=raw2) is None


def test_login_and_logout(alice):
    client = Client()
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").url == "/inbox/"
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/inbox/me/").status_code == 302


def test_repeated_login_failures_lock_the_account_for_a_while(alice, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert response.status_code in (403, 429)
    # Even the right password is refused while locked.
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code in (403, 429)
    assert "Too many failed" in response.content.decode()


def test_forms_require_csrf(alice):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code == 403


def test_role_home_pages(client_for, ada, sam, alice):
    assert client_for(ada).get("/").url == "/campaigns/"
    assert client_for(sam).get("/").url == "/monitoring/"
    assert client_for(alice).get("/").url == "/inbox/"
    assert client_for(alice).get("/campaigns/").status_code == 403


def test_admin_manages_users_and_others_cannot(client_for, ada, sam, alice):
    admin = client_for(ada)
    response = admin.post(
        "/accounts/users/new/",
        {"username": "dave", "role": "agent", "first_name": "Dave", "password": "a-Long-enough-passphrase"},
    )
    assert response.status_code == 302
    assert User.objects.get(username="dave").role == Role.AGENT
    duplicate = admin.post(
        "/accounts/users/new/", {"username": "dave", "role": "agent", "password": "a-Long-enough-passphrase"}
    )
    assert duplicate.status_code == 422
    assert "already exists" in duplicate.content.decode()
    for other in (sam, alice):
        assert client_for(other).get("/accounts/users/").status_code == 403
        assert (
            client_for(other)
            .post("/accounts/users/new/", {"username": "x", "role": "admin", "password": "p"})
            .status_code
            == 403
        )


def test_admin_cannot_lock_themselves_out(client_for, ada):
    response = client_for(ada).post(f"/accounts/users/{ada.pk}/", {"role": "agent", "is_active": "on"})
    assert response.status_code == 422
    ada.refresh_from_db()
    assert ada.role == Role.ADMIN


def test_break_reason_names_are_bounded(db):
    from pagedesk.accounts.services import break_reason_create

    with pytest.raises(ApplicationError) as refused:
        break_reason_create(name="x" * 61)
    assert refused.value.code == "too_long"


def test_a_member_agent_keeps_the_agent_role_until_removed(campaign, alice):
    from pagedesk.accounts.services import user_update

    with pytest.raises(ApplicationError) as refused:
        user_update(user=alice, role=Role.SUPERVISOR)
    assert refused.value.code == "agent_is_member"
    assert "Acme Support" in refused.value.message
    alice.refresh_from_db()
    assert alice.role == Role.AGENT


def test_a_former_supervisor_supervises_nothing(campaign, sam):
    from pagedesk.accounts.services import user_update

    user_update(user=sam, role=Role.AGENT)
    assert not campaign.supervisors.exists()


@pytest.mark.django_db
def test_a_username_differing_only_in_case_is_refused(alice):
    """A new team created "Alice" beside "alice" (and "BOB" through the API): two accounts everyone
    reads as one person. Names of campaigns, break reasons and dispositions were already case-blind."""
    from pagedesk.accounts.services import user_create
    from pagedesk.core.errors import ApplicationError

    with pytest.raises(ApplicationError) as refused:
        user_create(username="Alice", role="agent", password="a-long-enough-password-1")
    assert refused.value.code == "duplicate_username" and refused.value.status == 409
    assert "“alice” already exists" in refused.value.message


def test_my_work_moved_to_the_inbox_and_the_old_address_still_leads_there(client_for, alice):
    client = client_for(alice)
    old = client.get("/accounts/me/")
    assert (old.status_code, old.url) == (301, "/inbox/me/")
    assert client.get("/inbox/me/").status_code == 200
