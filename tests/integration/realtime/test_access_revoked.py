"""Revoked access ends at once on open sockets (issue 13, finding 1).

A socket's groups used to be recomputed only when its page sent `resubscribe`; a client that never did
kept hearing the campaign it had left, the campaign a supervisor no longer supervised, and everything
after a deactivation or a logout. Now the services that change access tell the sockets themselves
(realtime/access.py). Each test publishes an event for the revoked audience right after the change
commits, from the thread that changed it, which is where a late re-join would leak it, and again later.
Every scenario runs on the in-memory layer and on Redis pub/sub.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from importlib import import_module

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.test import Client

from pagedesk.accounts.services import user_update
from pagedesk.campaigns.models import Campaign
from pagedesk.campaigns.services import campaign_set_supervisors, membership_remove
from pagedesk.config.websockets import events_consumer
from pagedesk.realtime import consumers, groups
from pagedesk.realtime.access import access_changed
from pagedesk.realtime.events import ContactUpdated, MessageCreated
from pagedesk.realtime.publish import publish
from pagedesk.routing import sockets
from tests.redis_helpers import needs_redis, use_redis_layer

pytestmark = pytest.mark.django_db(transaction=True)

PATIENCE = 10.0
LAYERS = ["memory", pytest.param("redis", marks=needs_redis)]


@pytest.fixture(params=LAYERS)
def layer(request, settings) -> str:
    if request.param == "redis":
        use_redis_layer(settings, "access")
    return request.param


async def connect(user, *, session_key: str | None = None) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(events_consumer, "/ws/events/")
    communicator.scope["user"] = user
    if session_key is not None:
        communicator.scope["session"] = import_module(django_settings.SESSION_ENGINE).SessionStore(
            session_key
        )
    connected, _ = await communicator.connect()
    assert connected
    hello = await communicator.receive_json_from(timeout=PATIENCE)
    assert hello["type"] == "hello"
    return communicator


def message_created(campaign: Campaign) -> MessageCreated:
    return MessageCreated(
        conversation_id=1,
        campaign_id=campaign.pk,
        message_id=1,
        direction="in",
        sender_type="customer",
        version=1,
        pending=True,
    )


def contact_updated() -> ContactUpdated:
    return ContactUpdated(contact_id=1, display_name="Carla Customer")


async def in_a_thread(work: Callable[[], None]) -> None:
    """As a request or task thread does: sync code, its own connection, publishes on commit."""

    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    await asyncio.to_thread(run)


async def frames_until_quiet(socket: WebsocketCommunicator, quiet: float = 0.5) -> list[dict]:
    frames = []
    while not await socket.receive_nothing(timeout=quiet):
        frames.append(await socket.receive_json_from(timeout=PATIENCE))
    return frames


async def test_an_agent_removed_from_a_campaign_hears_nothing_more_of_it(layer, alice, bob, campaign):
    alice_socket = await connect(alice)
    bob_socket = await connect(bob)
    queue = [groups.campaign_queue(campaign.pk)]

    def remove_alice_then_a_customer_writes() -> None:
        membership_remove(membership=campaign.memberships.get(agent=alice))
        publish(message_created(campaign), to=queue)
        publish(contact_updated(), to=queue)

    try:
        await in_a_thread(remove_alice_then_a_customer_writes)
        frames = await frames_until_quiet(alice_socket)
        # campaign.changed was addressed to her on purpose (she was removed); nothing of the queue's.
        types = [f["type"] for f in frames]
        assert "message.created" not in types and "contact.updated" not in types, frames
        assert {"type": "resubscribed", "groups": 1} in frames
        # Later events of the campaign do not reach her either; bob, still a member, hears them all.
        await in_a_thread(lambda: publish(message_created(campaign), to=queue))
        assert await frames_until_quiet(alice_socket) == []
        bob_types = [f["type"] for f in await frames_until_quiet(bob_socket)]
        assert bob_types.count("message.created") == 2 and "contact.updated" in bob_types
    finally:
        await alice_socket.disconnect()
        await bob_socket.disconnect()


async def test_a_supervisor_removed_from_a_campaign_hears_nothing_more_of_it(layer, sam, campaign):
    socket = await connect(sam)
    board = [groups.supervisors(campaign.pk)]

    def unassign_sam_then_a_customer_writes() -> None:
        campaign_set_supervisors(campaign=campaign, supervisor_ids=[])
        publish(message_created(campaign), to=board)

    try:
        await in_a_thread(unassign_sam_then_a_customer_writes)
        frames = await frames_until_quiet(socket)
        assert "message.created" not in [f["type"] for f in frames], frames
        assert {"type": "resubscribed", "groups": 1} in frames  # supervisor.<id> only
        await in_a_thread(lambda: publish(contact_updated(), to=board))
        assert await frames_until_quiet(socket) == []
    finally:
        await socket.disconnect()


async def test_a_deactivated_user_is_disconnected_and_hears_nothing_first(layer, sam, campaign):
    socket = await connect(sam)
    board = [groups.supervisors(campaign.pk)]

    def deactivate_sam_then_a_customer_writes() -> None:
        user_update(user=sam, is_active=False)
        publish(message_created(campaign), to=board)

    await in_a_thread(deactivate_sam_then_a_customer_writes)
    output = await socket.receive_output(timeout=PATIENCE)
    assert output == {"type": "websocket.close", "code": 4403}
    await socket.wait()


def logged_in_session(user) -> tuple[Client, str]:
    client = Client()
    client.force_login(user)
    return client, client.session.session_key


async def test_logging_out_closes_that_sessions_sockets_only(layer, alice, campaign):
    client, session_key = await database_sync_to_async(logged_in_session)(alice)
    _other_client, other_key = await database_sync_to_async(logged_in_session)(alice)
    socket = await connect(alice, session_key=session_key)
    other_device = await connect(alice, session_key=other_key)
    try:
        response = await in_a_thread_result(lambda: client.post("/accounts/logout/"))
        assert response.status_code == 302
        assert await socket.receive_output(timeout=PATIENCE) == {"type": "websocket.close", "code": 4401}
        # Events after the logout still reach her other device, and nothing reached the closed one.
        await in_a_thread(lambda: publish(message_created(campaign), to=[groups.campaign_queue(campaign.pk)]))
        frame = await other_device.receive_json_from(timeout=PATIENCE)
        assert frame["type"] == "message.created"
    finally:
        await other_device.disconnect()


async def in_a_thread_result(work):  # type: ignore[no-untyped-def]
    result = []

    def run() -> None:
        result.append(work())

    await in_a_thread(run)
    return result[0]


async def test_a_password_reset_by_an_admin_ends_the_users_sessions(layer, alice, campaign):
    _client, session_key = await database_sync_to_async(logged_in_session)(alice)
    socket = await connect(alice, session_key=session_key)
    await in_a_thread(lambda: user_update(user=alice, password="a-new-long-password-9"))
    assert await socket.receive_output(timeout=PATIENCE) == {"type": "websocket.close", "code": 4401}


async def test_a_change_that_rolls_back_releases_the_held_frames(layer, alice, campaign, monkeypatch):
    monkeypatch.setattr(consumers, "HOLD_SECONDS", 0.3)
    socket = await connect(alice)
    queue = [groups.campaign_queue(campaign.pk)]
    stop = threading.Event()

    def change_then_roll_back() -> None:
        try:
            with transaction.atomic():
                access_changed(user_ids=[alice.pk])
                # Another thread's event while the change is in flight: held, not lost.
                threading.Thread(
                    target=lambda: (publish(message_created(campaign), to=queue), stop.set())
                ).start()
                stop.wait(PATIENCE)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass

    try:
        await in_a_thread(change_then_roll_back)
        frames = await frames_until_quiet(socket, quiet=1.0)
        assert [f["type"] for f in frames] == ["message.created", "resubscribed"]
    finally:
        await socket.disconnect()


async def test_a_flood_of_commands_costs_a_bounded_number_of_reads_then_closes(
    layer, alice, campaign, monkeypatch
):
    reads = []
    original = sockets.socket_access

    def counting(**kwargs):  # type: ignore[no-untyped-def]
        reads.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(sockets, "socket_access", counting)
    socket = await connect(alice)
    for _ in range(5000):
        await socket.send_to(text_data="resubscribe")
    closed = None
    frames = []
    while closed is None:
        output = await socket.receive_output(timeout=PATIENCE)
        if output["type"] == "websocket.close":
            closed = output
        else:
            frames.append(json.loads(output["text"]))
    assert closed == {"type": "websocket.close", "code": 1008}
    # The burst allowance coalesces into at most a few reads of the database.
    assert len(reads) <= consumers.COMMAND_BURST
    assert all(f["type"] == "resubscribed" for f in frames)
