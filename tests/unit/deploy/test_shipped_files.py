"""deploy/ holds files an operator installs as they are: each must at least load in the tool it is for.

The system tests (tests/system/) run them for real on PostgreSQL; these checks run on every leg.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.system.cluster import BIN, NGINX, ROOT, render_nginx_conf, self_signed_certificate

UNITS = ROOT / "deploy" / "systemd"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_units_load_without_warnings(tmp_path: Path) -> None:
    # Verified as installed instances, with this checkout in place of /opt/pagedesk (verify checks that
    # ExecStart's program exists).
    instances = {
        "pagedesk-app@.service": "pagedesk-app@8001.service",
        "pagedesk-worker@.service": "pagedesk-worker@1.service",
    }
    paths = []
    for unit in sorted(UNITS.iterdir()):
        text = unit.read_text().replace("/opt/pagedesk/.venv/bin/", f"{BIN}/")
        target = tmp_path / instances.get(unit.name, unit.name)
        target.write_text(text.replace("/opt/pagedesk", str(ROOT)))
        if target.suffix == ".service":
            paths.append(str(target))
    done = subprocess.run(["systemd-analyze", "verify", *paths], capture_output=True, text=True, timeout=60)
    problems = [line for line in (done.stdout + done.stderr).splitlines() if str(tmp_path) in line]
    assert not problems, "\n".join(problems)


@pytest.mark.skipif(
    shutil.which("nginx") is None and not Path(NGINX).exists(), reason="nginx is not installed"
)
@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_nginx_site_passes_nginx_t(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path, common_name="localhost")
    site = tmp_path / "pagedesk.conf"
    site.write_text(
        render_nginx_conf(
            upstreams=[18001, 18002],
            http_port=18080,
            https_port=18443,
            cert=cert,
            key=key,
            static_root=tmp_path,
        )
    )
    (tmp_path / "logs").mkdir()
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/logs/error.log;\nevents {{}}\n"
        f"http {{ include /etc/nginx/mime.types; access_log off; include {site}; }}\n"
    )
    done = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(main)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "[warn]" not in done.stderr, done.stderr
