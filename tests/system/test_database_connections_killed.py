"""Scenario 4 of issue 16: every PostgreSQL session of the deployment is killed mid-stream
(`pg_terminate_backend`, as a failover or a restarted server does).

A webhook that fails meanwhile is answered 5xx and re-sent (Facebook redelivers); nothing acknowledged
is lost, and everything recovers without restarting a process.
"""

from __future__ import annotations

import asyncio
import collections

import pytest

from tests.system.cluster import Cluster
from tests.system.traffic import CustomerStream, agents_connect, count_everything


@pytest.mark.asyncio
async def test_database_sessions_killed_mid_stream(cluster: Cluster) -> None:
    page_id = cluster.template.seed["page_id"]
    agents = await agents_connect(cluster, bases=[cluster.https_url])
    try:
        stream = CustomerStream(url=f"{cluster.https_url}/webhooks/messenger", page_id=page_id, tag="d")
        running = asyncio.ensure_future(stream.run(seconds=10, per_second=6))
        await asyncio.sleep(3)
        killed = 0
        for _ in range(3):  # the pools reconnect at once: kill them a few times in a row
            killed += len(
                cluster.query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            await asyncio.sleep(0.5)
        assert killed >= 4, killed
        await running
        answers = collections.Counter(status for d in stream.deliveries.values() for status in d.attempts)
        # Refused with a status Facebook retries (503, or nginx's 502/504), never a 500 and never lost.
        assert set(answers) <= {200, 502, 503, 504}, answers
        # No process exits: the workers look again with backoff (core.worker) instead of dying.
        for name in ("app0", "app1", "worker0", "worker1"):
            assert cluster.processes[name].alive(), f"{name} died:\n{cluster.processes[name].tail()}"
        figures = await count_everything(cluster, stream, agents)
    finally:
        for agent in agents:
            await agent.stop()
    print(f"database sessions killed ({killed}): {figures}, answers {dict(answers)}")
