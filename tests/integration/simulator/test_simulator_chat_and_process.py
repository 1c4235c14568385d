"""The customer chat API (what the /chat page calls), persistence across restarts, and the real process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from pagedesk.simulator.app import create_app
from pagedesk.simulator.store import ACME_PAGE_ID, ACME_SEED_PAGE_TOKEN
from tests.integration.simulator.helpers import sync_tests

TEST_IDS = (
    "chat-page-select",
    "chat-customer-select",
    "chat-new-customer-name",
    "chat-new-customer-create",
    "chat-customer-name",
    "chat-messages",
    "chat-typing",
    "chat-input",
    "chat-send",
    "chat-file",
    "chat-get-started",
)


async def test_chat_page_has_documented_test_ids(sim):
    page = (await sim.http.get("/chat")).text
    for test_id in TEST_IDS:
        assert f'data-testid="{test_id}"' in page, test_id


async def test_customer_lifecycle_through_the_chat_api(sim, receiver):
    created = await sim.http.post("/chat/api/customers", json={"page_id": sim.acme, "name": "Dana Scully"})
    assert created.status_code == 201
    psid = created.json()["id"]
    directory = (await sim.http.get("/chat/api/pages")).json()["pages"]
    acme = next(p for p in directory if p["id"] == sim.acme)
    assert any(c["id"] == psid and c["first_name"] == "Dana" for c in acme["customers"])

    sent = await sim.http.post("/chat/api/send", data={"psid": psid, "text": "Where is my order?"})
    assert sent.status_code == 201
    await sim.wait_idle()
    state = (await sim.http.get("/chat/api/conversation", params={"psid": psid})).json()
    assert state["messages"][0]["status"] == "Delivered" and state["messages"][0]["from"] == "customer"

    await sim.send({"recipient": {"id": psid}, "sender_action": "mark_seen"})
    await sim.send({"recipient": {"id": psid}, "sender_action": "typing_on"})
    state = (await sim.http.get("/chat/api/conversation", params={"psid": psid})).json()
    assert state["messages"][0]["status"] == "Seen" and state["typing"] is True

    await sim.send(sim.text(psid, "On its way"))
    state = (await sim.http.get("/chat/api/conversation", params={"psid": psid})).json()
    assert state["typing"] is False
    assert [(m["from"], m["text"]) for m in state["messages"]] == [
        ("customer", "Where is my order?"),
        ("page", "On its way"),
    ]

    # Viewing the chat sends one read receipt for the newest page message.
    read = (await sim.http.post("/chat/api/read", json={"psid": psid})).json()
    again = (await sim.http.post("/chat/api/read", json={"psid": psid})).json()
    assert read["webhooks"] and again["webhooks"] == []
    await sim.wait_idle()
    assert sum(1 for e in receiver.all_events() if "read" in e) == 1

    upload = await sim.http.post(
        "/chat/api/send", data={"psid": psid}, files={"file": ("a.txt", b"hi", "text/plain")}
    )
    assert upload.status_code == 201
    state = (await sim.http.get("/chat/api/conversation", params={"psid": psid})).json()
    assert state["messages"][-1]["attachments"][0]["type"] == "file"

    postback = await sim.http.post("/chat/api/postback", json={"psid": psid})
    assert postback.status_code == 201


async def test_reset_restores_the_seed(sim):
    await sim.http.post(f"/_control/pages/{sim.acme}/revoke")
    await sim.http.post("/_control/reset")
    response = await sim.http.get("/me", params={"access_token": sim.acme_token})
    assert response.status_code == 200
    config = (await sim.http.get("/_control/config")).json()
    assert config["app_id"] == sim.app_id  # who the app is survives a reset


def test_state_survives_a_restart(tmp_path: Path):
    first = create_app(data_dir=tmp_path, app_id="1", app_secret="s")
    token = first.store.issue_token(kind="USER", user_id="100000000000101", ttl=None, parent=None)
    first.store.revoke_page_tokens(ACME_PAGE_ID)
    file_id = first.store.store_file(content=b"abc", filename="x.txt", content_type="text/plain")
    first.store.flush()  # what the server's shutdown (or interpreter exit) does

    second = create_app(data_dir=tmp_path)
    assert token in second.store.state["tokens"]
    assert second.store.state["tokens"][ACME_SEED_PAGE_TOKEN]["revoked"] is True
    assert second.store.config["app_id"] == "1"
    assert second.store.read_file(file_id) == b"abc"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_python_dash_m_serves_the_simulator(tmp_path: Path):
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pagedesk.simulator",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path),
            "--log-level",
            "warning",
            "--app-id",
            "77",
            "--app-secret",
            "sec",
        ],
        env={**os.environ},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/_control/health", timeout=1)
                break
            except httpx.HTTPError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "simulator did not start"
                time.sleep(0.1)
        assert response.json() == {"ok": True}
        debug = httpx.get(
            f"http://127.0.0.1:{port}/v25.0/debug_token",
            params={"input_token": ACME_SEED_PAGE_TOKEN, "access_token": "77|sec"},
        ).json()
        assert debug["data"]["is_valid"] is True
        assert (tmp_path / "simulator.json").exists()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_simulator_never_imports_pagedesk_product_code():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    probe = (
        "import sys, pagedesk.simulator.__main__;"
        "print(sorted(m for m in sys.modules if m.startswith('django')"
        " or (m.startswith('pagedesk.') and not m.startswith('pagedesk.simulator'))))"
    )
    output = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "[]"


def test_pagedesk_simulator_command_parses_its_flags():
    from django.core.management import load_command_class

    command = load_command_class("pagedesk.config", "simulator")
    parser = command.create_parser("pagedesk", "simulator")
    options = parser.parse_args(
        ["--port", "8111", "--pagedesk-url", "http://127.0.0.1:9000", "--data-dir", "/tmp/x"]
    )
    assert (options.host, options.port, options.pagedesk_url, options.data_dir) == (
        "127.0.0.1",
        8111,
        "http://127.0.0.1:9000",
        "/tmp/x",
    )


sync_tests(globals())
