"""Thread control (Conversation Routing / Handover Protocol): ownership, standby delivery, the Graph calls
and their refusals, and the messaging_handovers webhooks pagedesk's app hears."""

from __future__ import annotations

from typing import Any

from pagedesk.simulator.store import PAGE_INBOX_APP_ID
from tests.integration.simulator.helpers import sync_tests

INBOX = str(PAGE_INBOX_APP_ID)


async def _subscribe_all(sim) -> None:
    # The seed subscribes Acme to the five basic fields; pagedesk also asks for standby and handovers.
    await sim.http.post(
        f"/v25.0/{sim.acme}/subscribed_apps",
        params={"access_token": sim.acme_token},
        json={"subscribed_fields": "messages,message_echoes,message_deliveries,standby,messaging_handovers"},
    )


async def _graph(sim, edge: str, **body: Any):
    return await sim.http.post(f"/v25.0/me/{edge}", params={"access_token": sim.acme_token}, json=body)


async def _owner(sim, psid: str) -> dict[str, Any]:
    response = await sim.http.get(
        "/v25.0/me/thread_owner", params={"access_token": sim.acme_token, "recipient": psid}
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def _give_to_inbox(sim, psid: str) -> None:
    response = await sim.http.post(
        f"/_control/pages/{sim.acme}/threads/{psid}", json={"owner": "page_inbox", "wait": True}
    )
    assert response.status_code == 201, response.text


async def test_a_thread_starts_owned_by_pagedesks_app_and_messages_arrive_as_messaging(sim, receiver):
    await _subscribe_all(sim)
    assert await _owner(sim, sim.carla) == {"data": [{"thread_owner": {"app_id": sim.app_id}}]}
    await sim.customer_says(sim.carla, "hello", wait=True)
    assert [e["message"]["text"] for e in receiver.all_events()] == ["hello"]
    assert receiver.all_events("standby") == []


async def test_given_to_the_page_inbox_the_customer_arrives_as_standby_with_a_handover_event(sim, receiver):
    await _subscribe_all(sim)
    await _give_to_inbox(sim, sim.carla)
    handover = receiver.all_events()[-1]
    assert handover["pass_thread_control"] == {
        "previous_owner_app_id": sim.app_id,
        "new_owner_app_id": INBOX,
    }
    assert handover["sender"] == {"id": sim.carla} and handover["recipient"] == {"id": sim.acme}
    assert await _owner(sim, sim.carla) == {"data": [{"thread_owner": {"app_id": INBOX}}]}

    await sim.customer_says(sim.carla, "anyone there?", wait=True)
    standby = receiver.all_events("standby")
    assert [e["message"]["text"] for e in standby] == ["anyone there?"]
    assert all("message" not in e for e in receiver.all_events())  # nothing on the messaging channel
    # Another customer of the page is unaffected.
    await sim.customer_says(sim.peter, "me too", wait=True)
    assert receiver.all_events()[-1]["message"]["text"] == "me too"


async def test_standby_needs_the_standby_subscription(sim, receiver):
    await _give_to_inbox(sim, sim.carla)  # the seed subscription has neither field
    result = await sim.customer_says(sim.carla, "lost to pagedesk")
    assert result["webhooks"] == [
        {"kind": "message", "queued": False, "reason": "page not subscribed to standby"}
    ]


async def test_send_api_refuses_while_another_app_owns_the_thread(sim):
    await _subscribe_all(sim)
    await sim.customer_says(sim.carla, "hi", wait=True)
    await _give_to_inbox(sim, sim.carla)
    response = await sim.send(sim.text(sim.carla, "from pagedesk"))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 200 and "thread control" in error["message"]
    sent = (await sim.http.get("/_control/sent", params={"psid": sim.carla})).json()["messages"]
    assert sent == []


async def test_take_then_pass_back_with_webhooks_and_metadata(sim, receiver):
    await _subscribe_all(sim)
    await sim.customer_says(sim.carla, "hi", wait=True)
    await _give_to_inbox(sim, sim.carla)

    taken = await _graph(sim, "take_thread_control", recipient={"id": sim.carla}, metadata="agent alice")
    assert taken.status_code == 200 and taken.json() == {"success": True}
    await sim.wait_idle()
    assert receiver.all_events()[-1]["take_thread_control"] == {
        "previous_owner_app_id": INBOX,
        "new_owner_app_id": sim.app_id,
        "metadata": "agent alice",
    }
    assert (await sim.send(sim.text(sim.carla, "Alice here"))).status_code == 200
    await sim.customer_says(sim.carla, "thanks", wait=True)
    assert receiver.all_events()[-1]["message"]["text"] == "thanks"

    passed = await _graph(sim, "pass_thread_control", recipient={"id": sim.carla}, target_app_id=INBOX)
    assert passed.status_code == 200
    await sim.wait_idle()
    assert receiver.all_events()[-1]["pass_thread_control"] == {
        "previous_owner_app_id": sim.app_id,
        "new_owner_app_id": INBOX,
    }
    assert await _owner(sim, sim.carla) == {"data": [{"thread_owner": {"app_id": INBOX}}]}


async def test_take_is_refused_when_the_app_is_not_permitted(sim):
    await sim.config(take_thread_control_allowed=False)
    await _give_to_inbox(sim, sim.carla)
    response = await _graph(sim, "take_thread_control", recipient={"id": sim.carla})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 200
    assert await _owner(sim, sim.carla) == {"data": [{"thread_owner": {"app_id": INBOX}}]}


async def test_take_of_a_thread_already_owned_succeeds_without_a_webhook(sim, receiver):
    await _subscribe_all(sim)
    response = await _graph(sim, "take_thread_control", recipient={"id": sim.carla})
    assert response.status_code == 200
    await sim.wait_idle()
    assert receiver.all_events() == []


async def test_pass_refusals_unknown_app_missing_target_and_not_the_owner(sim):
    unknown = await _graph(sim, "pass_thread_control", recipient={"id": sim.carla}, target_app_id="99999")
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == 100
    assert "target_app_id" in unknown.json()["error"]["message"]
    missing = await _graph(sim, "pass_thread_control", recipient={"id": sim.carla})
    assert missing.status_code == 400 and missing.json()["error"]["code"] == 100
    to_self = await _graph(sim, "pass_thread_control", recipient={"id": sim.carla}, target_app_id=sim.app_id)
    assert to_self.status_code == 400
    await _give_to_inbox(sim, sim.carla)
    not_owner = await _graph(sim, "pass_thread_control", recipient={"id": sim.carla}, target_app_id=INBOX)
    assert not_owner.status_code == 400 and not_owner.json()["error"]["code"] == 200
    stranger = await _graph(sim, "take_thread_control", recipient={"id": sim.hank})
    assert stranger.status_code == 400 and stranger.json()["error"]["error_subcode"] == 2018001


async def test_release_makes_the_thread_idle_and_a_send_takes_it_again(sim, receiver):
    await _subscribe_all(sim)
    await sim.customer_says(sim.carla, "hi", wait=True)
    assert (await _graph(sim, "release_thread_control", recipient={"id": sim.carla})).status_code == 200
    assert await _owner(sim, sim.carla) == {"data": []}
    assert (await sim.send(sim.text(sim.carla, "still here"))).status_code == 200
    assert await _owner(sim, sim.carla) == {"data": [{"thread_owner": {"app_id": sim.app_id}}]}
    # Releasing twice: no longer the owner... of an owned thread it is again, so it works once more.
    await _give_to_inbox(sim, sim.carla)
    refused = await _graph(sim, "release_thread_control", recipient={"id": sim.carla})
    assert refused.status_code == 400


async def test_the_page_inbox_asking_for_the_thread_reaches_pagedesk_as_request_thread_control(sim, receiver):
    await _subscribe_all(sim)
    response = await sim.http.post(
        f"/_control/pages/{sim.acme}/threads/{sim.carla}", json={"request": True, "wait": True}
    )
    assert response.status_code == 201
    assert receiver.all_events()[-1]["request_thread_control"] == {"requested_owner_app_id": INBOX}


async def test_control_endpoint_reads_the_owner_and_refuses_another_pages_customer(sim):
    state = (await sim.http.get(f"/_control/pages/{sim.acme}/threads/{sim.carla}")).json()
    assert state["owner_app_id"] == sim.app_id and state["channel"] == "messaging"
    wrong = await sim.http.post(f"/_control/pages/{sim.acme}/threads/{sim.hank}", json={})
    assert wrong.status_code == 400
    unknown_app = await sim.http.post(
        f"/_control/pages/{sim.acme}/threads/{sim.carla}", json={"owner": "12345"}
    )
    assert unknown_app.status_code == 400


sync_tests(globals())
