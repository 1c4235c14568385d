"""Scenario 5 of issue 16: a rolling restart of both app processes, one after the other (SIGTERM,
then started again), under the steady stream: nginx answers no webhook with a 5xx, and every page is
back live within 5 s of losing its socket, with what it missed re-fetched."""

from __future__ import annotations

import asyncio

import pytest

from tests.system.cluster import Cluster
from tests.system.traffic import CustomerStream, agents_connect, count_everything, wait_until


@pytest.mark.asyncio
async def test_rolling_restart_of_the_app_processes(cluster: Cluster) -> None:
    page_id = cluster.template.seed["page_id"]
    agents = await agents_connect(cluster, bases=[cluster.https_url])
    stops = []
    try:
        stream = CustomerStream(url=f"{cluster.https_url}/webhooks/messenger", page_id=page_id, tag="rr")
        running = asyncio.ensure_future(stream.run(seconds=14, per_second=6))
        await asyncio.sleep(2)
        for index in (0, 1):
            stops.append(await asyncio.to_thread(cluster.app_restart, index))
            # Every page is live again (on whichever process) within 5 s.
            assert await wait_until(lambda: all(a.connected.is_set() for a in agents), timeout=5), [
                (a.name, a.drops) for a in agents
            ]
        await running
        figures = await count_everything(cluster, stream, agents)
        refused = [d for d in stream.deliveries.values() if d.attempts[:1] != [200]]
        print(f"rolling restart (stops took {[round(s, 1) for s in stops]} s): {figures}")
        if refused:
            print(cluster.logs())
        assert not refused, (
            f"{len(refused)} webhooks not acknowledged at once: {[d.attempts for d in refused[:5]]}"
        )
    finally:
        for agent in agents:
            await agent.stop()
    # Both processes went away once, so every socket moved at least once.
    assert all(agent.drops >= 1 for agent in agents), [(a.name, a.drops) for a in agents]
