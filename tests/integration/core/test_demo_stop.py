"""Issue 12 #12f: stopping `make demo` (Ctrl-C, or a SIGTERM to its process group) ends the demo cleanly.

It ended in "make: *** [Makefile:…: demo] Error 143": `pagedesk serve` was the script's last command and
uvicorn re-raises the signal it shut down on, so the script died with it. GNU make itself then dies of the
signal it was sent (it re-raises it after its children are done); what must not happen is the recipe
failing, which make reports as "Error N".
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(command: list[str], tmp_path: Path) -> tuple[subprocess.Popen[str], int, int]:
    port, sim_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "DJANGO_"))},
        "PAGEDESK_DATA_DIR": str(tmp_path / "var"),
        "PORT": str(port),
        "SIM_PORT": str(sim_port),
    }
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives `make demo`
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process, port, sim_port
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.kill()
    pytest.fail(f"the demo did not come up: {process.communicate()[0]}")


def stop(process: subprocess.Popen[str], sig: signal.Signals) -> str:
    os.killpg(process.pid, sig)
    try:
        return process.communicate(timeout=60)[0]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def assert_nothing_left(port: int, sim_port: int) -> None:
    for p in (port, sim_port):
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", p)) != 0, f"something still listens on {p}"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_the_demo_script_exits_0_when_stopped(tmp_path, sig):
    process, port, sim_port = start(["./scripts/demo.sh"], tmp_path)
    output = stop(process, sig)
    assert process.returncode == 0, output
    assert "pagedesk demo stopped." in output
    assert "Traceback" not in output
    assert_nothing_left(port, sim_port)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_make_demo_stops_without_an_error(tmp_path, sig):
    # -o: never reinstall the virtualenv from the test.
    process, port, sim_port = start(
        ["make", "--no-print-directory", "-o", ".venv/bin/pagedesk", "demo"], tmp_path
    )
    output = stop(process, sig)
    assert "Error" not in output and "Traceback" not in output, output
    assert "pagedesk demo stopped." in output
    # make re-raises the signal it got once its recipe is done: that, not an error, is its status.
    assert process.returncode in {0, -sig}, output
    assert_nothing_left(port, sim_port)
