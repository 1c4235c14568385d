"""schemathesis against the published OpenAPI document: no 5xx and no answer the schema does not describe.

A real pagedesk (uvicorn in a thread, HTTP as a client sees it) serves the test database, seeded with
what the operations look up: an admin's token, a campaign with members and a supervisor, a break
reason and a conversation. schemathesis runs as a subprocess with a fixed seed and a bounded number of
cases per operation (about two minutes on a 2-core machine), every check on; the test fails with its
report. Being in the suite, it runs on SQLite and on PostgreSQL + Redis in .ci/run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pagedesk.accounts.models import ApiToken
from pagedesk.accounts.services import api_token_create, break_reason_create
from tests.e2e.conftest import LiveServer
from tests.integration.inbox.conftest import make_conversation

pytestmark = pytest.mark.slow

# Cases per operation. 40-odd operations × this, with the coverage phase's own cases, is the bound
# on the run's length; the seed makes a failure reproducible with the command in the report.
MAX_EXAMPLES = 10
SEED = 1234
CONFIG = Path(__file__).with_name("schemathesis.toml")
RUN_TOKEN_ID = 7_340_021


def _schemathesis() -> str:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or shutil.which(
        "schemathesis"
    )
    if found is None:
        pytest.fail("schemathesis is missing: `make install` installs the test extras")
    return found


@pytest.fixture
def api_server(transactional_db: None, settings, ada, campaign, alice):  # type: ignore[no-untyped-def]
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    break_reason_create(name="Lunch")
    make_conversation(campaign, agent=alice)
    token, raw = api_token_create(user=ada, name="schemathesis")
    # DELETE /me/tokens/{token_id} is fuzzed too: the run's own token gets an id it will not guess
    # (it tries small numbers, the bounds and the examples), so it is not revoked half-way and the
    # operations after it are still reached with valid credentials.
    ApiToken.objects.filter(pk=token.pk).update(id=RUN_TOKEN_ID)
    server = LiveServer()
    server.start()
    try:
        yield server.url, raw
    finally:
        server.stop()
        from django.db import connections

        connections.close_all()


def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(api_server, tmp_path) -> None:
    url, token = api_server
    command = [
        _schemathesis(),
        "--config-file",
        str(CONFIG),
        "run",
        f"{url}/api/v1/openapi.json",
        "-H",
        f"Authorization: Bearer {token}",
        "-n",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "-c",
        "all",
        # One worker: the server shares this process (and SQLite its one writer); more only queue.
        "--workers",
        "1",
        "--no-shrink",
        "--request-timeout",
        "20",
        "--suppress-health-check",
        "all",
    ]
    env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""}
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
