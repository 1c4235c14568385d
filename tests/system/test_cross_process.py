"""Scenario 6 of issue 16: a customer's message reaches agents whose sockets are on another process.

Every webhook goes to app process A (directly: which process nginx picks is its business), every agent
socket to process B; the only way from one to the other is the Redis channel layer. Then the same
through nginx, which spreads both over A and B.
"""

from __future__ import annotations

import httpx
import pytest

from tests.system.cluster import Cluster
from tests.system.traffic import CustomerStream, agents_connect, count_everything


@pytest.mark.asyncio
async def test_customer_message_reaches_agents_on_the_other_process(cluster: Cluster) -> None:
    page_id = cluster.template.seed["page_id"]
    agents = await agents_connect(cluster, bases=[cluster.app_url(1)])
    try:
        assert cluster.websockets_open(0) == 0
        assert cluster.websockets_open(1) == len(agents)
        stream = CustomerStream(url=f"{cluster.app_url(0)}/webhooks/messenger", page_id=page_id, tag="a")
        await stream.run(seconds=6, per_second=8)
        figures = await count_everything(cluster, stream, agents)
    finally:
        for agent in agents:
            await agent.stop()
    assert figures["resent"] == 0, figures
    assert figures["reconnects"] == 0 and figures["from_snapshot"] == 0, figures
    assert figures["frames"] == figures["messages"] * len(agents), figures
    print(f"cross-process: {figures}")


@pytest.mark.asyncio
async def test_through_nginx_sockets_and_webhooks_spread_over_both_processes(cluster: Cluster) -> None:
    page_id = cluster.template.seed["page_id"]
    agents = await agents_connect(cluster, bases=[cluster.https_url])
    try:
        # Round robin without affinity: each process holds some of the sockets.
        assert cluster.websockets_open(0) >= 1 and cluster.websockets_open(1) >= 1
        stream = CustomerStream(url=f"{cluster.https_url}/webhooks/messenger", page_id=page_id, tag="b")
        await stream.run(seconds=6, per_second=8)
        figures = await count_everything(cluster, stream, agents)
    finally:
        for agent in agents:
            await agent.stop()
    assert figures["resent"] == 0, figures
    assert figures["frames"] == figures["messages"] * len(agents), figures
    print(f"through nginx: {figures}")
    # The rest of the shipped site: plain http only redirects, static files come from nginx itself
    # (no Django header on them), pages and the API from the processes.
    redirect = httpx.get(f"http://127.0.0.1:{cluster.nginx_http_port}/inbox/", follow_redirects=False)
    assert redirect.status_code == 301
    assert redirect.headers["location"] == "https://127.0.0.1/inbox/"
    static = httpx.get(f"{cluster.https_url}/static/pagedesk/app.js", verify=False)
    assert static.status_code == 200 and "content-security-policy" not in static.headers
    assert "cache-control" in static.headers
    login = httpx.get(f"{cluster.https_url}/accounts/login/", verify=False)
    assert login.status_code == 200 and "content-security-policy" in login.headers
