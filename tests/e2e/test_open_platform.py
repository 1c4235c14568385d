"""Issue 15, done when: the open platform end to end, over real HTTP only.

A customer writes on the simulator (Facebook's side); a bot — a small HTTP server in this test — gets
`message.created` with a valid signature, answers through the API and hands off; alice gets the
conversation, answers through the API with one Idempotency-Key sent twice (the customer gets one
message), and closes it. Every call pagedesk sees is HTTP from outside: the integration, its token, the
campaign's bot, the webhook endpoint and alice's presence are set up through /api/v1 by ada's token.
The receiver's deliveries, de-duplicated by their id, came in the order things happened to the
conversation, each signed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from pagedesk.accounts.models import User
from pagedesk.accounts.services import api_token_create
from pagedesk.campaigns import schedule
from pagedesk.campaigns.models import Campaign, Strategy
from pagedesk.campaigns.services import MemberSpec, campaign_create, membership_set
from tests.e2e.simulated import acme_connected
from tests.e2e.test_routing_journey import CARLA
from tests.integration.messenger.facebook_simulator import ACME_PAGE_ID, Simulator
from tests.webhook_receiver import Received, running_receiver

pytestmark = pytest.mark.e2e

ALL_EVENTS = [
    "message.created",
    "message.status_changed",
    "conversation.queued",
    "conversation.assigned",
    "conversation.transferred",
    "conversation.closed",
    "conversation.abandoned",
    "agent.status_changed",
    "page.token_status_changed",
]
BOT_ANSWER = "Hi! I'm Helpbot. Let me find someone from the team for you."
ALICE_ANSWER = "Hello Carla, your parcel left our warehouse this morning."


def wait_for(what: str, check: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def sales(transactional_db, alice: User) -> Campaign:
    campaign = campaign_create(
        fields={"name": "Acme Sales", "page_name": "Acme Support", "strategy": Strategy.LINEAR},
        ranges=[schedule.Range(schedule.ALL_WEEKDAYS, 0, schedule.MINUTES_PER_DAY)],
    )
    membership_set(campaign=campaign, members=[MemberSpec(agent_id=alice.pk)])
    campaign.refresh_from_db()
    return campaign


@pytest.fixture
def fb(live_app: str, settings, tmp_path, sales: Campaign) -> Iterator[Simulator]:
    settings.MEDIA_ROOT = tmp_path / "media"
    # The bot listens on 127.0.0.1; production refuses private addresses unless told otherwise.
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    with acme_connected(settings=settings, live_app=live_app, campaign=sales) as sim:
        yield sim


class Api:
    def __init__(self, base: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )

    def call(self, method: str, path: str, *, expect: int = 200, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, path, **kwargs)
        assert response.status_code == expect, (method, path, response.status_code, response.text)
        return response


def test_a_bot_answers_hands_off_and_alice_closes_over_http(live_app, fb, sales, ada, alice):
    admin = Api(live_app, api_token_create(user=ada, name="setup")[1])
    agent = Api(live_app, api_token_create(user=alice, name="alice's script")[1])

    # ada: an integration for the bot, its token, the campaign's bot, and the bot's webhook endpoint.
    helpbot = admin.call(
        "POST", "/integrations", json={"name": "Helpbot", "campaign_ids": [sales.pk]}, expect=201
    )
    bot_token = admin.call(
        "POST", f"/integrations/{helpbot.json()['id']}/tokens", json={}, expect=201
    ).json()["token"]
    bot = Api(live_app, bot_token)
    admin.call("PATCH", f"/campaigns/{sales.pk}", json={"bot_integration_id": helpbot.json()["id"]})

    handled: set[int] = set()
    bot_errors: list[str] = []

    def bot_reacts(conversation_id: int) -> None:
        # A bot answers in its own time, not inside the delivery it was sent.
        try:
            bot.call(
                "POST", f"/conversations/{conversation_id}/messages", json={"text": BOT_ANSWER}, expect=201
            )
            bot.call("POST", f"/conversations/{conversation_id}/handoff")
        except AssertionError as refused:
            bot_errors.append(str(refused))

    def answer(request: Received) -> tuple[int, dict[str, str], bytes]:
        body = request.json
        if body["type"] == "message.created":
            message, conversation = body["data"]["message"], body["data"]["conversation"]
            if (
                message["direction"] == "in"
                and conversation["state"] == "bot"
                and conversation["id"] not in handled
            ):
                handled.add(conversation["id"])
                threading.Thread(target=bot_reacts, args=(conversation["id"],), daemon=True).start()
        return 200, {}, b"ok"

    with running_receiver() as receiver:
        receiver.answer = answer
        endpoint = admin.call(
            "POST",
            "/webhooks",
            json={
                "url": receiver.url,
                "description": "Helpbot",
                "event_types": ALL_EVENTS,
                "campaign_ids": [sales.pk],
            },
            expect=201,
        ).json()
        secret = endpoint["secret"]

        agent.call("PUT", "/me/presence", json={"presence": "available"})

        # Carla writes on Messenger (the simulator posts the webhook to pagedesk).
        fb.customer_says(CARLA, "Hi, where is my parcel?")

        # The bot answered and handed off; routing gave Carla to alice, the only free member.
        def assigned() -> dict[str, Any] | None:
            page = admin.call("GET", "/conversations", params={"campaign": sales.pk}).json()
            return next((c for c in page["items"] if c["state"] == "assigned"), None)

        try:
            conversation = wait_for("Carla's conversation assigned after the hand-off", assigned)
        except AssertionError:
            listing = admin.call("GET", "/conversations", params={"campaign": sales.pk}).json()
            raise AssertionError(
                f"bot errors: {bot_errors}; received: {[b['type'] for b in receiver.bodies()]}; "
                f"conversations: {[(c['state'], c['agent']) for c in listing['items']]}"
            ) from None
        assert not bot_errors, bot_errors
        assert conversation["agent"]["id"] == alice.pk
        conversation_id = conversation["id"]

        # alice answers through the API; her script retries the same request (same key): one message.
        key = {"Idempotency-Key": "alice-reply-0001"}
        first = agent.call(
            "POST",
            f"/conversations/{conversation_id}/messages",
            json={"text": ALICE_ANSWER},
            headers=key,
            expect=201,
        )
        again = agent.call(
            "POST",
            f"/conversations/{conversation_id}/messages",
            json={"text": ALICE_ANSWER},
            headers=key,
            expect=201,
        )
        assert again.json() == first.json()

        def customer_has_both() -> list[str] | None:
            texts = [m.get("text") for m in fb.sent(ACME_PAGE_ID, CARLA)]
            return texts if ALICE_ANSWER in texts and BOT_ANSWER in texts else None

        texts = wait_for("the bot's and alice's answers on Messenger", customer_has_both)
        assert texts.count(ALICE_ANSWER) == 1 and texts.count(BOT_ANSWER) == 1, texts

        messages = agent.call("GET", f"/conversations/{conversation_id}/messages").json()["items"]
        bot_message = next(m for m in messages if m["text"] == BOT_ANSWER)
        assert bot_message["sender_type"] == "integration"
        assert bot_message["author"] == {
            "id": bot_message["author"]["id"],
            "name": "Helpbot",
            "integration": True,
        }

        agent.call("POST", f"/conversations/{conversation_id}/close", json={})

        def closed_delivered() -> bool:
            return any(
                b["type"] == "conversation.closed" and b["data"]["conversation"]["id"] == conversation_id
                for b in receiver.bodies()
            )

        wait_for("conversation.closed at the receiver", closed_delivered)

    # Every delivery signed with the endpoint's secret; each event once after de-duplication by id.
    received = list(receiver.received)
    assert received and all(r.signature_valid(secret) for r in received)
    assert all(r.headers["X-Pagedesk-Delivery"] == r.json["id"] for r in received)
    events: dict[str, dict[str, Any]] = {}
    for r in received:
        events.setdefault(r.json["id"], r.json)

    def of_conversation(body: dict[str, Any]) -> bool:
        conversation = body["data"].get("conversation")
        return conversation is not None and conversation["id"] == conversation_id

    story = [body for body in events.values() if of_conversation(body)]
    # In order per conversation: the delivery order is the order the events were recorded.
    assert [b["created_at"] for b in story] == sorted(b["created_at"] for b in story)

    def step(body: dict[str, Any]) -> str:
        if body["type"] == "message.created":
            return f"message.created:{body['data']['message']['sender_type']}"
        if body["type"] == "conversation.queued":
            return f"conversation.queued:{body['data']['reason']}"
        return body["type"]

    steps = [step(b) for b in story if b["type"] != "message.status_changed"]
    expected = [
        "message.created:customer",
        "message.created:integration",
        "conversation.queued:handoff",
        "conversation.assigned",
        "message.created:agent",
        "conversation.closed",
    ]
    assert steps == expected, steps
    # alice's one message: one message.created for her text, whatever the retry did.
    alice_created = [
        b for b in story if b["type"] == "message.created" and b["data"]["message"]["text"] == ALICE_ANSWER
    ]
    assert len(alice_created) == 1
