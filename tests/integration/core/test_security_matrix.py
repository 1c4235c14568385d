"""docs/security.md's access matrix, checked cell by cell against the real pages, API and websocket.

The matrix is parsed from the markdown, so the doc cannot drift from the code: every row must have a
probe here (and every probe a row), and each cell is one real request as that persona — allowed is a
2xx or a redirect somewhere other than the log-in page; refused is a 302 to the log-in page, 401, 403
or 404; anything else fails the test. Websocket rows connect through the real websocket stack (session
cookie, Origin header; the token column sends only the bearer header), run the real service that
publishes the event, and look for its frame.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db import connection
from django.http import HttpResponse
from django.test import Client

from pagedesk.accounts.models import Presence, User
from pagedesk.accounts.services import api_token_create
from pagedesk.campaigns import schedule
from pagedesk.campaigns.services import MemberSpec, campaign_create, campaign_set_supervisors, membership_set
from pagedesk.conversations.models import Conversation
from pagedesk.routing.services import conversation_return_to_queue, presence_set
from tests.conftest import make_user
from tests.integration.inbox.conftest import make_conversation

DOC = Path(__file__).resolve().parents[3] / "docs" / "security.md"
PERSONAS = (
    "anonymous",
    "agent (member)",
    "agent (non-member)",
    "supervisor (of the campaign)",
    "supervisor (other campaign)",
    "admin",
    "API token",
)
AGENTS = {"agent (member)", "agent (non-member)"}
PATIENCE = 10.0


def read_matrix() -> dict[str, dict[str, bool]]:
    text = DOC.read_text()
    block = text.split("<!-- matrix:start -->")[1].split("<!-- matrix:end -->")[0]
    rows = [line for line in block.strip().splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert tuple(header[1:]) == PERSONAS, header
    matrix = {}
    for line in rows[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert set(cells[1:]) <= {"yes", "no"}, line
        matrix[cells[0]] = dict(zip(PERSONAS, (cell == "yes" for cell in cells[1:]), strict=True))
    return matrix


class World:
    """Campaign C (alice member, sam supervising) and campaign D (nora member, otto supervising)."""

    def __init__(self) -> None:
        self.ada = make_user("ada", "admin")
        self.sam = make_user("sam", "supervisor")
        self.otto = make_user("otto", "supervisor")
        self.alice = make_user("alice", "agent")
        self.nora = make_user("nora", "agent")
        self.bob = make_user("bob", "agent")
        always = [schedule.Range(schedule.ALL_WEEKDAYS, 0, schedule.MINUTES_PER_DAY)]
        self.c = campaign_create(
            fields={"name": "Acme Support", "page_name": "Acme", "timezone": "Europe/Madrid"}, ranges=always
        )
        self.d = campaign_create(
            fields={"name": "Other Support", "page_name": "Other", "timezone": "Europe/Madrid"}, ranges=always
        )
        membership_set(campaign=self.c, members=[MemberSpec(agent_id=self.alice.pk)])
        membership_set(campaign=self.d, members=[MemberSpec(agent_id=self.nora.pk)])
        campaign_set_supervisors(campaign=self.c, supervisor_ids=[self.sam.pk])
        campaign_set_supervisors(campaign=self.d, supervisor_ids=[self.otto.pk])
        _token, self.token = api_token_create(user=self.ada, name="matrix")

    def user(self, persona: str) -> User | None:
        return {
            "agent (member)": self.alice,
            "agent (non-member)": self.nora,
            "supervisor (of the campaign)": self.sam,
            "supervisor (other campaign)": self.otto,
            "admin": self.ada,
        }.get(persona)

    def client(self, persona: str) -> Client:
        if persona == "API token":
            return Client(HTTP_AUTHORIZATION=f"Bearer {self.token}")
        client = Client()
        user = self.user(persona)
        if user is not None:
            client.force_login(user)
        return client

    def conversation(self) -> Conversation:
        """A fresh conversation of C assigned to alice (a cell that returns it must not spoil the next)."""
        return make_conversation(self.c, agent=self.alice)


def allowed(response: HttpResponse) -> bool:
    status = response.status_code
    if status == 302 and "/accounts/login/" in response["Location"]:
        return False
    if status in (401, 403, 404):
        return False
    assert 200 <= status < 400, (status, response.content[:300])
    return True


# Each probe makes the real request for one cell and answers whether it was allowed.
Probe = Callable[[World, str], bool]


def page_or_api(
    page: Callable[[World], tuple[str, str]], api: Callable[[World], tuple[str, str]] | None
) -> Probe:
    def probe(world: World, persona: str) -> bool:
        method, url = api(world) if api is not None and persona == "API token" else page(world)
        client = world.client(persona)
        if method == "GET":
            return allowed(client.get(url))
        if method == "PATCH":
            return allowed(client.patch(url, "{}", content_type="application/json"))
        return allowed(client.post(url, {}))

    return probe


def return_to_queue(world: World, persona: str) -> bool:
    conversation = world.conversation()
    if persona in AGENTS:
        url = f"/inbox/{conversation.pk}/return/"
    else:
        url = f"/monitoring/conversations/{conversation.pk}/return/"
    result = allowed(world.client(persona).post(url, {}))
    conversation.refresh_from_db()
    # An allowed return really returned it; a refused one left it with alice.
    assert (conversation.state == "queued") == result, (persona, conversation.state)
    return result


HTTP_PROBES: dict[str, Probe] = {
    "see a campaign's queue (board)": page_or_api(
        lambda w: ("GET", f"/monitoring/campaigns/{w.c.pk}/"),
        lambda w: ("GET", f"/api/v1/campaigns/{w.c.pk}/queue"),
    ),
    "read a conversation's transcript": page_or_api(
        lambda w: ("GET", f"/recordings/{w.conversation().pk}/"), None
    ),
    "return to queue": return_to_queue,
    "edit a campaign's settings": page_or_api(
        lambda w: ("GET", f"/campaigns/{w.c.pk}/"),
        lambda w: ("PATCH", f"/api/v1/campaigns/{w.c.pk}"),
    ),
    "activate a page": page_or_api(lambda w: ("GET", f"/campaigns/{w.c.pk}/facebook/start"), None),
    "manage users": page_or_api(lambda w: ("GET", "/accounts/users/"), lambda w: ("GET", "/api/v1/users")),
    "unlock an account": page_or_api(
        lambda w: ("POST", f"/accounts/users/{w.bob.pk}/unlock/"),
        lambda w: ("POST", f"/api/v1/users/{w.bob.pk}/unlock"),
    ),
    "see parked webhook events": page_or_api(lambda w: ("GET", "/settings/facebook"), None),
}


def _return_one(world: World) -> None:
    conversation_return_to_queue(conversation=world.conversation(), by=world.ada)


def _alice_goes_available(world: World) -> None:
    presence_set(agent=world.alice, presence=Presence.AVAILABLE)


SOCKET_PROBES: dict[str, tuple[str, Callable[[World], None]]] = {
    "receive websocket event conversation.queued for campaign C": ("conversation.queued", _return_one),
    "receive websocket event agent.status_changed for an agent of campaign C": (
        "agent.status_changed",
        _alice_goes_available,
    ),
}


def test_every_row_of_the_matrix_has_a_probe():
    assert set(read_matrix()) == set(HTTP_PROBES) | set(SOCKET_PROBES)


@pytest.mark.django_db
@pytest.mark.parametrize("capability", sorted(HTTP_PROBES))
def test_pages_and_api_answer_as_the_matrix_says(capability, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    expected = read_matrix()[capability]
    world = World()
    actual = {persona: HTTP_PROBES[capability](world, persona) for persona in PERSONAS}
    assert actual == expected


def _websocket_application():  # type: ignore[no-untyped-def]
    """pagedesk.config.asgi's websocket stack, built now: AllowedHostsOriginValidator reads
    ALLOWED_HOSTS when it is built, and the module's own was built by whichever test imported it first
    (with that test's hosts), which refused this test's origin whenever another test ran before it."""
    from channels.auth import AuthMiddlewareStack
    from channels.routing import URLRouter
    from channels.security.websocket import AllowedHostsOriginValidator

    from pagedesk.config.websockets import websocket_urlpatterns

    return AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))


async def _open(world: World, persona: str) -> WebsocketCommunicator | None:
    application = _websocket_application()
    headers = [(b"origin", b"http://testserver")]
    if persona == "API token":
        headers.append((b"authorization", f"Bearer {world.token}".encode()))
    elif persona != "anonymous":
        client = await asyncio.to_thread(_logged_in, world, persona)
        cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
        headers.append((b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    socket = WebsocketCommunicator(application, "/ws/events/", headers=headers)
    connected, _ = await socket.connect(timeout=PATIENCE)
    if not connected:
        return None
    first = await socket.receive_output(timeout=PATIENCE)
    if first["type"] == "websocket.close":
        return None
    return socket


def _logged_in(world: World, persona: str) -> Client:
    try:
        return world.client(persona)
    finally:
        connection.close()


async def _frames(socket: WebsocketCommunicator, quiet: float = 0.5) -> list[dict]:
    frames = []
    while not await socket.receive_nothing(timeout=quiet):
        output = await socket.receive_output(timeout=PATIENCE)
        if output["type"] == "websocket.close":
            break
        frames.append(output)
    return frames


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("capability", sorted(SOCKET_PROBES))
async def test_websocket_events_reach_whom_the_matrix_says(capability, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.ALLOWED_HOSTS = ["testserver"]
    expected = read_matrix()[capability]
    event_type, trigger = SOCKET_PROBES[capability]
    world = await asyncio.to_thread(_in_thread, World)
    sockets = {persona: await _open(world, persona) for persona in PERSONAS}
    try:
        await asyncio.to_thread(_in_thread, lambda: trigger(world))
        actual = {}
        for persona, socket in sockets.items():
            frames = [] if socket is None else await _frames(socket)
            actual[persona] = any(f'"type": "{event_type}"' in f.get("text", "") for f in frames)
        assert actual == expected
    finally:
        for socket in sockets.values():
            if socket is not None:
                await socket.disconnect()


def _in_thread(work: Callable[[], object]) -> object:
    """As a request or task thread does: sync code, its own connection, publishes on commit."""
    try:
        return work()
    finally:
        connection.close()


def test_the_matrix_parser_reads_yes_and_no():
    matrix = read_matrix()
    assert matrix["manage users"]["admin"] is True
    assert matrix["manage users"]["agent (member)"] is False
    assert re.search(r"^\| capability \|", DOC.read_text(), re.MULTILINE)
