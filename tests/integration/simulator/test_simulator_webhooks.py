"""Webhook delivery: signature, Facebook's event shapes, retries, duplicates, batches, disorder, filtering."""

from __future__ import annotations

import hashlib
import hmac

from tests.integration.simulator.helpers import sync_tests


async def test_customer_message_is_signed_and_shaped_like_facebook(sim, receiver):
    result = await sim.customer_says(
        sim.carla, "Hi / ¿hola?", quick_reply_payload="YES", reply_to="m_previous"
    )
    await sim.wait_idle()
    [request] = receiver.wait_for(1)
    assert request.signature_ok()
    assert not request.signature_ok("another-secret")
    sha1 = "sha1=" + hmac.new(sim.app_secret.encode(), request.body, hashlib.sha1).hexdigest()
    assert request.headers["x-hub-signature"] == sha1
    assert request.headers["content-type"] == "application/json"
    # Facebook's encoding: escaped slashes, ASCII only — receivers must sign the raw bytes.
    assert b"\\/" in request.body and b"\\u00bf" in request.body
    payload = request.json()
    assert payload["object"] == "page"
    [entry] = payload["entry"]
    assert entry["id"] == sim.acme and isinstance(entry["time"], int)
    [event] = entry["messaging"]
    assert event["sender"] == {"id": sim.carla} and event["recipient"] == {"id": sim.acme}
    assert event["message"] == {
        "mid": result["message"]["mid"],
        "text": "Hi / ¿hola?",
        "quick_reply": {"payload": "YES"},
        "reply_to": {"mid": "m_previous"},
    }
    assert isinstance(event["timestamp"], int)


async def test_send_api_produces_echo_with_metadata_and_delivery(sim, receiver):
    await sim.customer_says(sim.carla, "Hello")
    sent = (
        await sim.send(sim.text(sim.carla, "Hi!", message={"text": "Hi!", "metadata": "pagedesk:7"}))
    ).json()
    await sim.wait_idle()
    events = receiver.all_events()
    echo = next(e for e in events if e.get("message", {}).get("is_echo"))
    assert echo["sender"] == {"id": sim.acme} and echo["recipient"] == {"id": sim.carla}
    assert echo["message"] == {
        "mid": sent["message_id"],
        "is_echo": True,
        "app_id": int(sim.app_id),
        "metadata": "pagedesk:7",
        "text": "Hi!",
    }
    # The seed subscription has message_deliveries.
    delivery = next(e for e in events if "delivery" in e)
    assert delivery["delivery"]["mids"] == [sent["message_id"]] and delivery["delivery"]["watermark"] > 0
    assert delivery["sender"] == {"id": sim.carla}


async def test_page_inbox_reply_is_an_echo_from_facebooks_app(sim, receiver):
    await sim.customer_says(sim.carla, "Hello")
    await sim.http.post(
        f"/_control/pages/{sim.acme}/inbox_reply", json={"psid": sim.carla, "text": "From FB inbox"}
    )
    await sim.wait_idle()
    echo = next(e for e in receiver.all_events() if e.get("message", {}).get("is_echo"))
    assert echo["message"]["app_id"] != int(sim.app_id) and "metadata" not in echo["message"]


async def test_other_event_shapes(sim, receiver):
    await sim.config(require_subscription=False)
    said = await sim.customer_says(sim.carla, "typo")
    mid = said["message"]["mid"]
    await sim.http.post(
        f"/_control/customers/{sim.carla}/postback", json={"title": "Get Started", "payload": "GET_STARTED"}
    )
    await sim.http.post(f"/_control/customers/{sim.carla}/reaction", json={"mid": mid, "reaction": "love"})
    await sim.http.post(
        f"/_control/customers/{sim.carla}/reaction",
        json={"mid": mid, "reaction": "love", "action": "unreact"},
    )
    await sim.http.post(f"/_control/customers/{sim.carla}/edit", json={"mid": mid, "text": "fixed"})
    await sim.customer_says(sim.carla, "", sticker_id=369239263222822)
    await sim.send(sim.text(sim.carla, "answer"))
    await sim.http.post(f"/_control/customers/{sim.carla}/read", json={})
    await sim.wait_idle()
    events = receiver.all_events()
    postback = next(e for e in events if "postback" in e)["postback"]
    assert (
        postback["title"] == "Get Started"
        and postback["payload"] == "GET_STARTED"
        and postback["mid"].startswith("m_")
    )
    reactions = [e["reaction"] for e in events if "reaction" in e]
    assert reactions[0] == {"reaction": "love", "emoji": "\u2764\ufe0f", "action": "react", "mid": mid}
    assert reactions[1]["action"] == "unreact"
    edit = next(e for e in events if "message_edit" in e)["message_edit"]
    assert edit == {"mid": mid, "text": "fixed", "num_edit": 1}
    sticker = next(e for e in events if "sticker_id" in e.get("message", {}))["message"]
    assert (
        sticker["sticker_id"] == 369239263222822
        and sticker["attachments"][0]["payload"]["sticker_id"] == 369239263222822
    )
    read = next(e for e in events if "read" in e)
    assert read["read"]["watermark"] > 0 and "timestamp" in read


async def test_events_for_unsubscribed_fields_are_not_sent(sim, receiver):
    said = await sim.customer_says(sim.hank, "Globex has no subscription yet")
    assert said["webhooks"] == [
        {"kind": "message", "queued": False, "reason": "page not subscribed to messages"}
    ]
    await sim.customer_says(sim.carla, "Acme is subscribed")
    await sim.http.post(f"/_control/customers/{sim.carla}/reaction", json={"mid": "m_x", "reaction": "like"})
    await sim.wait_idle()
    events = receiver.all_events()
    assert [e["message"]["text"] for e in events] == [
        "Acme is subscribed"
    ]  # reactions are not subscribed either


async def test_retries_on_non_200_until_accepted(sim, receiver):
    receiver.statuses = [500, 503]
    await sim.customer_says(sim.carla, "please arrive")
    await sim.wait_idle()
    requests = receiver.wait_for(3)
    assert len(requests) == 3 and len({r.body for r in requests}) == 1
    log = (await sim.http.get("/_control/webhooks")).json()["data"]
    assert [(row["attempt"], row["status"]) for row in log] == [(1, 500), (2, 503), (3, 200)]
    conversation = (await sim.http.get("/chat/api/conversation", params={"psid": sim.carla})).json()
    assert conversation["messages"][0]["status"] == "Delivered"


async def test_retries_are_bounded(sim, receiver):
    receiver.statuses = [500] * 10
    await sim.customer_says(sim.carla, "lost")
    await sim.wait_idle()
    assert len(receiver.requests) == 4  # first try + 3 retry delays configured by the fixture
    log = (await sim.http.get("/_control/webhooks")).json()["data"]
    assert log[-1]["status"] == "gave_up"


async def test_unreachable_target_is_logged_not_fatal(sim, receiver):
    await sim.config(webhook_url="http://127.0.0.1:9/webhooks/messenger", retry_delays=[])
    await sim.customer_says(sim.carla, "nobody home")
    await sim.wait_idle()
    log = (await sim.http.get("/_control/webhooks")).json()["data"]
    assert log[0]["status"] is None and log[0]["error"]


async def test_duplicates_switch_sends_every_body_twice(sim, receiver):
    await sim.config(duplicates=True)
    await sim.customer_says(sim.carla, "once")
    await sim.wait_idle()
    first, second = receiver.wait_for(2)
    assert first.body == second.body and second.signature_ok()


async def test_batch_switch_puts_several_entries_in_one_post(sim, receiver):
    await sim.config(batch_size=3)
    for text in ("one", "two", "three"):
        await sim.customer_says(sim.carla, text)
    await sim.wait_idle()
    [request] = receiver.wait_for(1)
    payload = request.json()
    assert len(payload["entry"]) == 3 and all(len(e["messaging"]) == 1 for e in payload["entry"])
    assert [e["message"]["text"] for e in request.events()] == ["one", "two", "three"]
    assert request.signature_ok()


async def test_batch_messaging_mode_groups_items_per_entry(sim, receiver):
    await sim.config(batch_size=10, batch_mode="messaging")
    await sim.customer_says(sim.carla, "one")
    await sim.customer_says(sim.peter, "two")
    await sim.wait_idle()
    [request] = receiver.wait_for(1)
    [entry] = request.json()["entry"]
    assert [m["sender"]["id"] for m in entry["messaging"]] == [sim.carla, sim.peter]


async def test_out_of_order_switch_reverses_a_burst(sim, receiver):
    await sim.config(out_of_order=True)
    for text in ("first", "second", "third"):
        await sim.customer_says(sim.carla, text)
    await sim.wait_idle()
    receiver.wait_for(3)
    assert [e["message"]["text"] for e in receiver.all_events()] == ["third", "second", "first"]
    timestamps = [e["timestamp"] for e in receiver.all_events()]
    assert timestamps == sorted(timestamps, reverse=True)


async def test_verify_handshake_and_raw_posts(sim, receiver):
    assert (await sim.http.post("/_control/webhooks/verify")).json()["ok"] is True
    await sim.config(verify_token="wrong")
    assert (await sim.http.post("/_control/webhooks/verify")).json()["ok"] is False
    raw = await sim.http.post(
        "/_control/webhooks/raw",
        json={
            "page_id": sim.acme,
            "messaging": [{"sender": {"id": "1"}, "recipient": {"id": sim.acme}, "standby": []}],
        },
    )
    assert raw.json()["status"] == 200
    unsigned = await sim.http.post(
        "/_control/webhooks/raw", json={"body": {"object": "page", "entry": []}, "signed": False}
    )
    assert unsigned.json()["status"] == 200
    assert "x-hub-signature-256" not in receiver.requests[-1].headers


sync_tests(globals())
