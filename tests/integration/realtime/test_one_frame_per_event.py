"""A socket in several of an event's audience groups sends that event once.

The channel layer delivers a group_send once per group. Routing publishes conversation.assigned to the
agent's own group and to the campaign's queue group, and an agent's socket is in both: without the
per-socket de-duplication alice's page showed two toasts (and played the sound twice) per assignment.
"""

from __future__ import annotations

import threading

import pytest
from channels.testing import WebsocketCommunicator
from django.db import connection

from pagedesk.config.websockets import events_consumer
from pagedesk.realtime import groups
from pagedesk.realtime.events import CampaignChanged, ConversationAssigned
from pagedesk.realtime.publish import publish
from tests.redis_helpers import needs_redis, use_redis_layer

pytestmark = pytest.mark.django_db(transaction=True)

PATIENCE = 10.0


async def connect(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(events_consumer, "/ws/events/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    hello = await communicator.receive_json_from(timeout=PATIENCE)
    assert hello == {"type": "hello", "groups": 2}  # agent.<id> and campaign.<id>.queue
    return communicator


def publish_in_a_thread(events: list[tuple[object, list[str]]]) -> threading.Thread:
    """As a task does: sync code without an event loop, each publish sent on (auto)commit."""

    def work() -> None:
        try:
            for event, to in events:
                publish(event, to=to)  # type: ignore[arg-type]
        finally:
            connection.close()

    thread = threading.Thread(target=work, name="test-task-thread")
    thread.start()
    return thread


async def assert_one_frame_per_event(alice, campaign) -> None:
    agent_socket = await connect(alice)
    both = [groups.agent(alice.pk), groups.campaign_queue(campaign.pk)]
    try:
        thread = publish_in_a_thread(
            [
                (
                    ConversationAssigned(
                        conversation_id=7, campaign_id=campaign.pk, agent_id=alice.pk, version=2
                    ),
                    both,
                ),
                (
                    ConversationAssigned(
                        conversation_id=8, campaign_id=campaign.pk, agent_id=alice.pk, version=2
                    ),
                    both,
                ),
                # A marker sent to one group only, after the others: every copy of the events above has
                # been delivered to the socket before it (one publisher, sends in order).
                (CampaignChanged(campaign_id=campaign.pk), [groups.agent(alice.pk)]),
            ]
        )
        frames = [await agent_socket.receive_json_from(timeout=PATIENCE) for _ in range(3)]
        thread.join(PATIENCE)
        assert [(f["type"], f.get("conversation_id")) for f in frames] == [
            ("conversation.assigned", 7),
            ("conversation.assigned", 8),
            ("campaign.changed", None),
        ]
        # The frame is the documented event, nothing added.
        assert frames[0] == {
            "type": "conversation.assigned",
            "conversation_id": 7,
            "campaign_id": campaign.pk,
            "agent_id": alice.pk,
            "version": 2,
            "how": "routed",
        }
        assert await agent_socket.receive_nothing(timeout=0.3)
    finally:
        await agent_socket.disconnect()


async def test_in_memory_layer_sends_an_event_in_two_groups_once(alice, campaign):
    await assert_one_frame_per_event(alice, campaign)


@needs_redis
async def test_redis_pubsub_layer_sends_an_event_in_two_groups_once(alice, campaign, settings):
    use_redis_layer(settings, "once")
    await assert_one_frame_per_event(alice, campaign)
