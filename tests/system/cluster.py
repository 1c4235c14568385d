"""A scaled pagedesk on this machine, as docs/deploy.md lays it out, for the system tests.

nginx with the shipped deploy/nginx/pagedesk.conf (only its upstream ports, listen ports, certificate
and static root rendered into a temporary copy), 2 `pagedesk serve --no-worker`, 2 `pagedesk worker`,
the Facebook simulator (the Graph API the workers call), a redis-server of its own on a free port
(which a test may stop; never the machine's shared one) and a PostgreSQL database of its own, made
from a migrated and seeded template so each scenario starts in seconds.

Every process, database and directory it makes is removed by `stop()`, also after a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import psycopg
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PAGEDESK = str(BIN / "pagedesk")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
SHIPPED_NGINX_CONF = ROOT / "deploy" / "nginx" / "pagedesk.conf"
APP_SECRET = "system-test-app-secret"
AGENTS = 4
# Short, so a task whose worker was killed is taken back within seconds (docs/decisions/task-leases.md).
LEASE_SECONDS = 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def admin_dsn() -> str:
    """The server of DATABASE_URL (the suite's PostgreSQL leg), connected to the database it names."""
    url = urlparse(os.environ["DATABASE_URL"])
    return f"postgresql://{url.username or 'postgres'}@{url.hostname or '127.0.0.1'}:{url.port or 5432}{url.path}"


def database_url(name: str) -> str:
    url = urlparse(os.environ["DATABASE_URL"])
    return f"postgres://{url.username or 'postgres'}@{url.hostname or '127.0.0.1'}:{url.port or 5432}/{name}"


def sql(dsn: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as connection:
        cursor = connection.execute(statement, params)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []


def drop_database(name: str) -> None:
    sql(admin_dsn(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def render_nginx_conf(
    *, upstreams: list[int], http_port: int, https_port: int, cert: Path, key: Path, static_root: Path
) -> str:
    """The shipped config with the deployment-specific lines replaced. Each replacement must match the
    shipped file exactly once: a reshaped deploy file fails here instead of testing something else."""
    text = SHIPPED_NGINX_CONF.read_text()

    def once(pattern: str, replacement: str) -> None:
        nonlocal text
        text, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
        assert count == 1, f"deploy/nginx/pagedesk.conf: {pattern!r} matched {count} times, not once"

    once(r"^(\s*)server 127\.0\.0\.1:8001([ ;].*)$", rf"\g<1>server 127.0.0.1:{upstreams[0]}\g<2>")
    once(r"^(\s*)server 127\.0\.0\.1:8002([ ;].*)$", rf"\g<1>server 127.0.0.1:{upstreams[1]}\g<2>")
    once(r"^\s*listen 80;$", f"    listen 127.0.0.1:{http_port};")
    once(r"^\s*listen \[::\]:80;$", "")
    once(r"^\s*listen 443 ssl;$", f"    listen 127.0.0.1:{https_port} ssl;")
    once(r"^\s*listen \[::\]:443 ssl;$", "")
    once(r"^(\s*)ssl_certificate\s+\S+;$", rf"\g<1>ssl_certificate {cert};")
    once(r"^(\s*)ssl_certificate_key\s+\S+;$", rf"\g<1>ssl_certificate_key {key};")
    once(r"^(\s*)alias /var/lib/pagedesk/static/;", rf"\g<1>alias {static_root}/;")
    return text


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int = 0

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill9(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if not self.alive():
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=8)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Template:
    """A migrated, seeded database that each scenario's database is copied from."""

    name: str
    seed: dict[str, Any]
    data_dir: Path
    env: dict[str, str]


def self_signed_certificate(directory: Path, *, common_name: str) -> tuple[Path, Path]:
    """A throw-away certificate and key (cert.pem, key.pem in `directory`) for nginx's TLS server."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            f"/CN={common_name}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def base_env(data_dir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PAGEDESK_", "REDIS_", "FACEBOOK_", "DATABASE_", "PYTEST_", "DJANGO_"))
    }
    env.update(
        {
            "PAGEDESK_DATA_DIR": str(data_dir),
            "PAGEDESK_SECRET_KEY": "system-test-secret-key-" + "x" * 40,
            "PAGEDESK_TOKEN_KEY": Fernet.generate_key().decode(),
            "FACEBOOK_APP_ID": "4242424242424242",
            "FACEBOOK_APP_SECRET": APP_SECRET,
            "FACEBOOK_VERIFY_TOKEN": "system-test-verify",
            "PAGEDESK_TRUSTED_PROXIES": "127.0.0.1",
            "PAGEDESK_WORKER_LEASE_SECONDS": str(LEASE_SECONDS),
            "PAGEDESK_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def template_create(workdir: Path) -> Template:
    name = f"pagedesk_system_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    sql(admin_dsn(), f'CREATE DATABASE "{name}"')
    data_dir = workdir / "data"
    data_dir.mkdir()
    env = {**base_env(data_dir), "DATABASE_URL": database_url(name)}
    try:
        for command in (
            [PAGEDESK, "migrate", "--no-input", "-v", "0"],
            [PAGEDESK, "collectstatic", "--no-input", "-v", "0"],
            [
                sys.executable,
                str(ROOT / "tests" / "system" / "seed.py"),
                str(workdir / "seed.json"),
                str(AGENTS),
            ],
        ):
            done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
            assert done.returncode == 0, f"{command[1]} failed:\n{done.stdout}\n{done.stderr}"
    except BaseException:
        drop_database(name)
        raise
    return Template(
        name=name, seed=json.loads((workdir / "seed.json").read_text()), data_dir=data_dir, env=env
    )


@dataclass
class Cluster:
    template: Template
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="pagedesk-system-")))
    processes: dict[str, Process] = field(default_factory=dict)
    database: str = ""
    redis_port: int = 0
    nginx_port: int = 0  # https
    nginx_http_port: int = 0
    simulator_port: int = 0
    env: dict[str, str] = field(default_factory=dict)

    # --- start -----------------------------------------------------------------------------------

    def start(self) -> None:
        self.database = f"pagedesk_system_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        sql(admin_dsn(), f'CREATE DATABASE "{self.database}" TEMPLATE "{self.template.name}"')
        self.redis_port = free_port()
        self.simulator_port = free_port()
        app_ports = [free_port(), free_port()]
        self.nginx_port, self.nginx_http_port = free_port(), free_port()
        self.env = {
            **self.template.env,
            "DATABASE_URL": database_url(self.database),
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "PAGEDESK_REDIS_PREFIX": "system",
            "FACEBOOK_GRAPH_URL": f"http://127.0.0.1:{self.simulator_port}",
            "FACEBOOK_DIALOG_URL": f"http://127.0.0.1:{self.simulator_port}",
        }
        self.redis_start()
        self.spawn(
            "simulator",
            [
                PAGEDESK,
                "simulator",
                "--port",
                str(self.simulator_port),
                "--pagedesk-url",
                f"http://127.0.0.1:{app_ports[0]}",
                "--data-dir",
                str(self.workdir / "simulator"),
                "--log-level",
                "warning",
            ],
            port=self.simulator_port,
        )
        for index, port in enumerate(app_ports):
            self.spawn(
                f"app{index}",
                [PAGEDESK, "serve", "--no-worker", "--port", str(port), "--log-level", "warning"],
                port=port,
            )
        for index in range(2):
            self.spawn(f"worker{index}", [PAGEDESK, "worker"])
        self.nginx_start(app_ports)
        self.wait_ready()

    def app_restart(self, index: int) -> float:
        """SIGTERM one app process, wait for it to exit, start it again on its port, as systemd's
        `restart` does; returns the seconds it took to stop."""
        old = self.processes[f"app{index}"]
        began = time.monotonic()
        old.stop()
        stopped = time.monotonic() - began
        self.spawn(old.name, old.popen.args, port=old.port)  # type: ignore[arg-type]
        self._wait(lambda: self._get_ok(f"{self.app_url(index)}/healthz"), 60, old.name)
        return stopped

    def spawn(self, name: str, command: list[str], port: int = 0) -> Process:
        log = self.workdir / f"{name}.log"
        with open(log, "ab") as out:
            popen = subprocess.Popen(
                command,
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        process = Process(name=name, popen=popen, log=log, port=port)
        self.processes[name] = process
        return process

    def redis_start(self) -> None:
        self.spawn(
            "redis",
            [
                REDIS_SERVER,
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            port=self.redis_port,
        )
        self._wait(lambda: self._redis_ping(), 10, "redis-server")

    def redis_stop(self) -> None:
        self.processes["redis"].kill9()

    def _redis_ping(self) -> bool:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", self.redis_port), 0.5) as sock,
        ):
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
        return False

    def nginx_start(self, app_ports: list[int]) -> None:
        prefix = self.workdir / "nginx"
        for sub in ("tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi", "logs"):
            (prefix / sub).mkdir(parents=True)
        cert, key = self_signed_certificate(prefix, common_name="127.0.0.1")
        site = prefix / "pagedesk.conf"
        site.write_text(
            render_nginx_conf(
                upstreams=app_ports,
                http_port=self.nginx_http_port,
                https_port=self.nginx_port,
                cert=cert,
                key=key,
                static_root=self.template.data_dir / "static",
            )
        )
        # The main file a distribution's nginx.conf would be; the tested file is included as shipped.
        user = "user root;\n" if os.geteuid() == 0 else ""
        (prefix / "nginx.conf").write_text(
            f"""{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    access_log {prefix}/logs/access.log;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    include {site};
}}
"""
        )
        test = subprocess.run(
            [NGINX, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")], capture_output=True, text=True
        )
        assert test.returncode == 0, f"nginx -t refused the shipped config:\n{test.stderr}"
        self.spawn(
            "nginx",
            [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
            port=self.nginx_port,
        )

    def wait_ready(self) -> None:
        for name in ("simulator", "app0", "app1"):
            path = "/_control/health" if name == "simulator" else "/healthz"
            self._wait(
                lambda p=self.processes[name], path=path: self._get_ok(f"http://127.0.0.1:{p.port}{path}"),
                60,
                name,
            )
        self._wait(lambda: self._get_ok(f"{self.https_url}/healthz"), 20, "nginx")
        # Both workers are up once each has written its heartbeat (its first act before claiming).
        self._wait(lambda: self.query("SELECT count(*) FROM core_workerheartbeat")[0][0] >= 2, 60, "workers")

    def _get_ok(self, url: str) -> bool:
        try:
            return httpx.get(url, timeout=2, verify=False).status_code == 200
        except httpx.HTTPError:
            return False

    def _wait(self, ready: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self.processes.values():
                assert process.alive(), f"{process.name} exited while waiting for {what}:\n{process.tail()}"
            if ready():
                return
            time.sleep(0.1)
        raise AssertionError(f"{what} not ready within {timeout} s:\n{self.logs()}")

    # --- use -------------------------------------------------------------------------------------

    @property
    def https_url(self) -> str:
        return f"https://127.0.0.1:{self.nginx_port}"

    def app_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.processes[f'app{index}'].port}"

    @property
    def dsn(self) -> str:
        return database_url(self.database).replace("postgres://", "postgresql://", 1)

    def query(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return sql(self.dsn, statement, params)

    def websockets_open(self, index: int) -> float:
        """The process's own count of open sockets (its /metrics, scraped from loopback as Prometheus would)."""
        text = httpx.get(f"{self.app_url(index)}/metrics", timeout=5).text
        match = re.search(r"^pagedesk_websocket_connections (\S+)$", text, re.MULTILINE)
        return float(match.group(1)) if match else 0.0

    def logs(self) -> str:
        nginx_errors = self.workdir / "nginx" / "logs" / "error.log"
        errors = nginx_errors.read_text(errors="replace").splitlines()[-15:] if nginx_errors.exists() else []
        return (
            "\n".join(["--- nginx error.log", *errors])
            + "\n"
            + "\n".join(
                f"--- {p.name} (pid {p.pid}, {'up' if p.alive() else 'down'})\n{p.tail()}"
                for p in self.processes.values()
            )
        )

    # --- stop ------------------------------------------------------------------------------------

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            began = time.monotonic()
            with contextlib.suppress(Exception):
                process.stop()
            if time.monotonic() - began > 2:
                # Shown with -s: a process slow to honour SIGTERM (systemd's TimeoutStopSec applies).
                print(f"{process.name} took {time.monotonic() - began:.1f} s to stop on SIGTERM")
        if self.database:
            with contextlib.suppress(Exception):
                drop_database(self.database)
        shutil.rmtree(self.workdir, ignore_errors=True)
