"""Scenario 1 of issue 16: kill -9 one app process mid-stream.

nginx routes the webhooks and the reconnecting sockets around the dead process; a webhook that got no
200 is re-sent, as Facebook does; the sockets that were on it reconnect to the other process and
re-fetch what they missed. Nothing acknowledged is lost, nothing is stored twice.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.system.cluster import Cluster
from tests.system.traffic import CustomerStream, agents_connect, count_everything, wait_until


@pytest.mark.asyncio
async def test_app_process_killed_mid_stream(cluster: Cluster) -> None:
    page_id = cluster.template.seed["page_id"]
    agents = await agents_connect(cluster, bases=[cluster.https_url])
    try:
        on_victim = cluster.websockets_open(0)
        assert on_victim >= 1 and cluster.websockets_open(1) >= 1, "nginx put every socket on one process"
        stream = CustomerStream(url=f"{cluster.https_url}/webhooks/messenger", page_id=page_id, tag="k")
        running = asyncio.ensure_future(stream.run(seconds=10, per_second=8))
        await asyncio.sleep(3)
        cluster.processes["app0"].kill9()
        killed_at = time.monotonic()
        await running
        # Every socket that was on the dead process is back, on the survivor.
        assert await wait_until(lambda: all(a.connected.is_set() for a in agents), timeout=15)
        assert sum(a.drops for a in agents) == on_victim
        assert cluster.websockets_open(1) == len(agents)
        figures = await count_everything(cluster, stream, agents)
    finally:
        for agent in agents:
            await agent.stop()
    # nginx routed around the dead process: a webhook sent a moment after the kill was answered 200 at once.
    late = [d for d in stream.deliveries.values() if d.first_sent > killed_at + 1 and d.attempts[:1] != [200]]
    assert not late, f"{len(late)} webhooks after the kill were not acknowledged at once: {late[:3]}"
    assert figures["reconnects"] == on_victim, figures
    print(f"app killed: {figures}")
