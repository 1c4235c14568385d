"""Scenario 3 of issue 16: the Redis server stops for a while, then starts again.

The database is the source of truth: webhooks are still acknowledged and stored while Redis is down,
and processed (workers fall back to polling for their wake-ups). Pages cannot hear live events
meanwhile; what they missed they get from the snapshot they fetch when they are back, and once Redis
is back, cross-process events flow again without restarting anything. (The issue says 30 s; a few
seconds exercise the same paths.)
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.system.cluster import Cluster
from tests.system.traffic import CustomerStream, agents_connect, count_everything, wait_until

OUTAGE_SECONDS = 5


@pytest.mark.asyncio
async def test_redis_stopped_then_started(cluster: Cluster) -> None:
    page_id = cluster.template.seed["page_id"]
    agents = await agents_connect(cluster, bases=[cluster.https_url])
    try:
        assert cluster.websockets_open(0) >= 1 and cluster.websockets_open(1) >= 1
        stream = CustomerStream(url=f"{cluster.https_url}/webhooks/messenger", page_id=page_id, tag="r")
        running = asyncio.ensure_future(stream.run(seconds=16, per_second=6))
        await asyncio.sleep(3)
        cluster.redis_stop()
        await asyncio.sleep(OUTAGE_SECONDS)
        cluster.redis_start()
        back_at = time.monotonic()
        await running
        assert await wait_until(lambda: all(a.connected.is_set() for a in agents), timeout=15)
        figures = await count_everything(cluster, stream, agents)
        # Each page was told it was not live, then to re-fetch once the layer was back (the hub's probe,
        # realtime/hub.py).
        assert all(a.interruptions >= 1 and a.resyncs >= 1 for a in agents), [
            (a.name, a.interruptions, a.resyncs, a.drops) for a in agents
        ]
        # Live again: a message sent well after Redis came back reached every agent as a frame.
        late = {
            mid
            for mid, d in stream.deliveries.items()
            if d.first_sent > back_at + 3 and d.attempts[:1] == [200]
        }
        assert late, "no message was sent after the recovery"
        late_ids = {
            row[0]
            for row in cluster.query(
                "SELECT id FROM conversations_message WHERE mid = ANY(%s)", (sorted(late),)
            )
        }
        for agent in agents:
            assert late_ids <= agent.frames, (
                f"{agent.name} got {len(late_ids - agent.frames)} late messages only from a snapshot"
            )
    finally:
        for agent in agents:
            await agent.stop()
    # The database took every webhook while Redis was away: none was refused.
    assert figures["resent"] == 0, figures
    print(f"redis restarted: {figures}")
