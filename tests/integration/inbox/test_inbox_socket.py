"""The inbox's socket: an agent's connection counts for routing's disconnect grace period, and it hears
only the agent's own group and their campaigns' queues."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels.testing import WebsocketCommunicator

from pagedesk.config.websockets import events_consumer
from pagedesk.realtime import groups
from pagedesk.routing.models import AgentConnection

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(events_consumer, "/ws/events/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from())["type"] == "hello"
    return communicator


def layer_members(layer, group: str) -> set[str]:  # type: ignore[no-untyped-def]
    """The channels in a group, as this process's layer holds them (in-memory, or Redis pub/sub when the
    suite runs with REDIS_URL)."""
    if isinstance(layer, InMemoryChannelLayer):
        return set(layer.groups.get(group, {}))
    loop_layer = layer._get_layer()  # RedisPubSubChannelLayer: the running loop's own layer
    return set(loop_layer.groups.get(loop_layer._get_group_channel_name(group), set()))


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
    # The process's hub is the one member of each group here, whatever the number of sockets.
    second = await connect(bob)
    for group in (groups.agent(alice.pk), groups.campaign_queue(campaign.pk)):
        members = layer_members(layer, group)
        assert len(members) == 1 and "hub." in next(iter(members)), members
    await second.disconnect()
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


async def queue_event_reaches(socket: WebsocketCommunicator, campaign_id: int) -> bool:
    """Whether an event sent to the campaign's members reaches this socket."""
    group = groups.campaign_queue(campaign_id)
    event = {"type": "event.forward", "event": {"type": "queue.changed", "campaign_id": campaign_id}}
    await get_channel_layer().group_send(group, {**event, "group": group})
    if await socket.receive_nothing(timeout=0.3):
        return False
    return (await socket.receive_json_from())["campaign_id"] == campaign_id


async def resubscribe_after(socket: WebsocketCommunicator, change) -> dict:
    """Make the change (as the admin pages do, in a sync thread); the page's socket hears campaign.changed,
    then the server's own answer: it re-joined the socket's groups without being asked (issue 13)."""
    await database_sync_to_async(change)()
    assert (await socket.receive_json_from(timeout=5))["type"] == "campaign.changed"
    answer = await socket.receive_json_from(timeout=5)
    # A page may still ask (app.js does); the answer is the same.
    await socket.send_to(text_data="resubscribe")
    assert await socket.receive_json_from(timeout=5) == answer
    return answer


async def test_an_agent_added_to_a_campaign_hears_its_queue_without_reconnecting(alice, bob, campaign):
    from pagedesk.campaigns.services import MemberSpec, campaign_create, membership_remove, membership_set

    other = await database_sync_to_async(campaign_create)(fields={"name": "Other", "page_name": "Other"})
    await database_sync_to_async(membership_set)(campaign=other, members=[MemberSpec(agent_id=bob.pk)])
    socket = await connect(alice)
    assert not await queue_event_reaches(socket, other.pk)

    answer = await resubscribe_after(
        socket,
        lambda: membership_set(
            campaign=other, members=[MemberSpec(agent_id=bob.pk), MemberSpec(agent_id=alice.pk)]
        ),
    )
    assert answer == {"type": "resubscribed", "groups": 3}
    assert await queue_event_reaches(socket, other.pk)

    answer = await resubscribe_after(
        socket, lambda: membership_remove(membership=other.memberships.get(agent=alice))
    )
    assert answer == {"type": "resubscribed", "groups": 2}
    assert not await queue_event_reaches(socket, other.pk)
    assert await queue_event_reaches(socket, campaign.pk)
    await socket.disconnect()


async def test_a_supervisor_given_a_campaign_hears_of_it(alice, sam, campaign):
    from pagedesk.campaigns.services import campaign_create, campaign_set_supervisors

    other = await database_sync_to_async(campaign_create)(fields={"name": "Other", "page_name": "Other"})
    socket = await connect(sam)
    answer = await resubscribe_after(
        socket, lambda: campaign_set_supervisors(campaign=other, supervisor_ids=[sam.pk])
    )
    # supervisor.<id> and the supervisors group of each campaign
    assert answer == {"type": "resubscribed", "groups": 3}
    await socket.disconnect()


async def test_a_deactivated_users_socket_is_closed_when_it_resubscribes(alice, campaign):
    from pagedesk.accounts.models import User

    socket = await connect(alice)
    await database_sync_to_async(User.objects.filter(pk=alice.pk).update)(is_active=False)
    await socket.send_to(text_data="resubscribe")
    assert (await socket.receive_output(timeout=5))["type"] == "websocket.close"
