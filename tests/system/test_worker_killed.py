"""Scenario 2 of issue 16: kill -9 one worker while it runs a task.

The Graph API (the simulator) is made slow for the first profile fetches, so a worker is caught inside
one. The other worker carries on with the stream, and once the dead worker's lease runs out
(PAGEDESK_WORKER_LEASE_SECONDS, 3 s here) takes the lost task back and runs it
(docs/decisions/task-leases.md): no task stays RUNNING, every message is processed and seen.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.system.cluster import Cluster
from tests.system.traffic import CustomerStream, agents_connect, count_everything, wait_until

PROFILE_FETCH = "pagedesk.messenger.tasks.contact_profile_fetch"


@pytest.mark.asyncio
async def test_worker_killed_mid_task(cluster: Cluster) -> None:
    page_id = cluster.template.seed["page_id"]
    simulator = f"http://127.0.0.1:{cluster.simulator_port}"
    httpx.post(
        f"{simulator}/_control/errors", json={"endpoint": "node", "count": 3, "latency_ms": 2500}
    ).raise_for_status()
    agents = await agents_connect(cluster, bases=[cluster.https_url])
    try:
        stream = CustomerStream(url=f"{cluster.https_url}/webhooks/messenger", page_id=page_id, tag="w")
        running = asyncio.ensure_future(stream.run(seconds=10, per_second=6))

        def running_fetch() -> list[tuple[int, str]]:
            return cluster.query(
                "SELECT t.id, h.pid FROM django_tasks_database_dbtaskresult t"
                " JOIN core_workerheartbeat h ON h.worker_id = t.worker_ids->>-1"
                " WHERE t.status = 'RUNNING' AND t.task_path = %s",
                (PROFILE_FETCH,),
            )

        assert await wait_until(lambda: bool(running_fetch()), timeout=10), cluster.logs()
        task_id, pid = running_fetch()[0]
        victim = next(p for p in cluster.processes.values() if p.pid == pid)
        assert victim.name.startswith("worker"), victim.name
        victim.kill9()
        await running
        figures = await count_everything(cluster, stream, agents)
    finally:
        for agent in agents:
            await agent.stop()
    ((status, claims),) = cluster.query(
        "SELECT status, jsonb_array_length(worker_ids) FROM django_tasks_database_dbtaskresult WHERE id = %s",
        (task_id,),
    )
    # Taken back and run again by the survivor, not failed and not left RUNNING.
    assert (status, claims) == ("SUCCESSFUL", 2), (status, claims)
    print(f"worker killed: {figures}")
