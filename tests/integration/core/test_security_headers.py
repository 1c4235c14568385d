"""Issue 13 #7: security headers, and `pagedesk check --deploy` clean for an https install.

Before the fix no page carried a Content-Security-Policy, nothing turned HSTS or the https redirect on, and
`check --deploy` with an https PAGEDESK_PUBLIC_URL still warned W004 (HSTS) and W008 (redirect).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.integration.messenger.test_webhooks_lean_asgi import call

ROOT = Path(__file__).resolve().parents[3]
HTTPS_INSTALL = {
    "PAGEDESK_PUBLIC_URL": "https://desk.example.com",
    "PAGEDESK_ALLOWED_HOSTS": "desk.example.com",
    "PAGEDESK_SECRET_KEY": "k" * 20 + "a-long-and-varied-secret-key-for-the-deploy-check-0123456789",
    "PAGEDESK_DEBUG": "false",
}


def check_deploy(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PAGEDESK_")}
    environ.update(PAGEDESK_DATA_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "-m", "pagedesk.config.cli", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("proxies", ["", "10.0.0.0/8"])
def test_check_deploy_is_clean_for_an_https_install(tmp_path, proxies):
    result = check_deploy(tmp_path, **HTTPS_INSTALL, PAGEDESK_TRUSTED_PROXIES=proxies)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_html_pages_forbid_inline_script_and_style(db):
    answer = Client().get("/accounts/login/")
    policy = answer.headers["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "unsafe" not in policy


def test_https_install_redirects_and_sets_hsts(db, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    plain = Client().get("/accounts/login/")
    assert plain.status_code == 301
    assert plain.headers["Location"].startswith("https://")
    # Load balancers probe health over plain http from inside.
    assert Client().get("/healthz").status_code == 200
    secure = Client().get("/accounts/login/", secure=True)
    assert secure.headers["Strict-Transport-Security"] == "max-age=3600; includeSubDomains"


@pytest.mark.django_db(transaction=True)
def test_the_webhooks_lean_path_sends_the_same_hsts(settings):
    settings.SECURE_HSTS_SECONDS = 3600
    settings.FACEBOOK_VERIFY_TOKEN = "verify-me"
    query = {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "7"}
    secure = call("GET", query=query, scheme="https")
    assert secure.status == 200
    assert secure.headers["strict-transport-security"] == "max-age=3600; includeSubDomains"
    # As SecurityMiddleware: never over plain http, where a browser would ignore it anyway.
    assert "strict-transport-security" not in call("GET", query=query).headers
