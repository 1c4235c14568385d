"""System tests: real processes behind the shipped nginx config (tests/system/cluster.py).

They need PostgreSQL (DATABASE_URL, the suite's second leg in .ci/run), nginx, redis-server and
openssl; without them they are skipped with the reason. `make test` installs nginx.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system.cluster import NGINX, REDIS_SERVER, Cluster, Template, drop_database, template_create


def _missing() -> str:
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return (
            "system tests run on PostgreSQL only: set DATABASE_URL=postgres://… (.ci/run's second leg does)"
        )
    for tool in (NGINX, REDIS_SERVER, shutil.which("openssl") or "/usr/bin/openssl"):
        if not os.access(tool, os.X_OK):
            return f"system tests need {tool} (`make test` installs nginx; redis-server and openssl come with the machine)"
    return ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _missing()
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.system)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def system_template() -> Iterator[Template]:
    workdir = Path(tempfile.mkdtemp(prefix="pagedesk-system-template-"))
    template = None
    try:
        template = template_create(workdir)
        yield template
    finally:
        if template is not None:
            drop_database(template.name)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def cluster(system_template: Template) -> Iterator[Cluster]:
    for attempt in range(3):
        running = Cluster(template=system_template)
        try:
            running.start()
            break
        except AssertionError as exc:
            running.stop()
            # A free port taken by another program between the probe and the bind: new ports.
            if "address already in use" not in str(exc).lower() or attempt == 2:
                raise
    try:
        yield running
    finally:
        running.stop()
