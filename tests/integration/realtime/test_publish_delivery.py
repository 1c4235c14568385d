"""Events published by sync code in a worker thread reach sockets promptly and in commit order.

The socket waits with a 10 s timeout: a frame that only arrives when the serving loop happens to wake
for something else (the in-memory layer's queues are not thread-safe and a put from another loop does
not wake it) shows up as a timeout, not as a slow figure. Bounds are generous on purpose.
"""

from __future__ import annotations

import threading
import time

import pytest
from channels.testing import WebsocketCommunicator
from django.db import connection

from pagedesk.config.websockets import events_consumer
from pagedesk.realtime import groups
from pagedesk.realtime.events import CampaignChanged
from pagedesk.realtime.publish import publish
from tests.redis_helpers import needs_redis, use_redis_layer

pytestmark = pytest.mark.django_db(transaction=True)

PATIENCE = 10.0
PROMPT = 3.0


async def connect(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(events_consumer, "/ws/events/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=PATIENCE))["type"] == "hello"
    return communicator


def publish_from_a_worker_thread(group: str, ids: range) -> threading.Thread:
    """What a task does: sync code, no event loop in the thread, each publish after its commit.

    Not joined here: the socket's loop must be idle (waiting) while the thread publishes.
    """

    def work() -> None:
        try:
            for campaign_id in ids:
                publish(CampaignChanged(campaign_id=campaign_id), to=[group])  # autocommit: sent now
        finally:
            connection.close()

    thread = threading.Thread(target=work, name="test-task-thread")
    thread.start()
    return thread


async def assert_prompt_and_in_order(user) -> None:
    agent_socket = await connect(user)
    try:
        began = time.monotonic()
        thread = publish_from_a_worker_thread(groups.agent(user.pk), range(1, 31))
        received = [
            (await agent_socket.receive_json_from(timeout=PATIENCE))["campaign_id"] for _ in range(30)
        ]
        elapsed = time.monotonic() - began
        thread.join(PATIENCE)
        assert received == list(range(1, 31))
        assert elapsed < PROMPT
    finally:
        await agent_socket.disconnect()


async def test_in_memory_layer_delivers_a_worker_threads_events_promptly_and_in_order(alice):
    await assert_prompt_and_in_order(alice)


@needs_redis
async def test_redis_pubsub_layer_delivers_a_worker_threads_events_promptly_and_in_order(alice, settings):
    use_redis_layer(settings, "publish")
    await assert_prompt_and_in_order(alice)
