"""The inbox's socket: an agent's connection counts for routing's disconnect grace period, and it hears
only the agent's own group and their campaigns' queues."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from pagedesk.realtime import groups
from pagedesk.realtime.consumers import EventsConsumer
from pagedesk.routing.models import AgentConnection

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(EventsConsumer.as_asgi(), "/ws/events/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from())["type"] == "hello"
    return communicator


async def test_agent_socket_counts_for_the_disconnect_grace_period(alice, campaign):
    first = await connect(alice)
    second = await connect(alice)
    row = await database_sync_to_async(AgentConnection.objects.get)(agent=alice)
    assert row.open_connections == 2 and row.disconnected_at is None
    await first.disconnect()
    await database_sync_to_async(row.refresh_from_db)()
    assert row.open_connections == 1 and row.disconnected_at is None
    await second.disconnect()
    await database_sync_to_async(row.refresh_from_db)()
    assert row.open_connections == 0 and row.disconnected_at is not None  # the grace timer runs from here
    again = await connect(alice)
    await database_sync_to_async(row.refresh_from_db)()
    assert row.open_connections == 1 and row.disconnected_at is None  # reconnected in time: stays online
    await again.disconnect()


async def test_an_agent_hears_only_their_own_groups(alice, bob, campaign):
    socket = await connect(alice)
    layer = get_channel_layer()
    event = {"type": "event.forward", "event": {"type": "message.created", "conversation_id": 1}}
    await layer.group_send(groups.agent(bob.pk), {**event, "group": groups.agent(bob.pk)})
    await layer.group_send(
        groups.supervisors(campaign.pk), {**event, "group": groups.supervisors(campaign.pk)}
    )
    assert await socket.receive_nothing(timeout=0.2)
    await layer.group_send(
        groups.campaign_queue(campaign.pk), {**event, "group": groups.campaign_queue(campaign.pk)}
    )
    assert (await socket.receive_json_from())["conversation_id"] == 1
    await socket.disconnect()
