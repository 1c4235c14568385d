"""Send API rules: tokens, recipients, messaging_type/tag, the 24 h and 7 day windows, injected errors."""

from __future__ import annotations

import json
import time

import pytest

from tests.integration.simulator.helpers import sync_tests

DAY = 24 * 3600


async def test_response_inside_the_window_returns_ids_and_records_the_message(sim):
    await sim.customer_says(sim.carla, "Hello?")
    response = await sim.send(
        sim.text(sim.carla, "Hi Carla", message={"text": "Hi Carla", "metadata": "pd:42"})
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["recipient_id"] == sim.carla and body["message_id"].startswith("m_")
    sent = (await sim.http.get("/_control/sent", params={"psid": sim.carla})).json()["messages"]
    assert [(m["text"], m["metadata"], m["mid"]) for m in sent] == [("Hi Carla", "pd:42", body["message_id"])]


async def test_page_id_path_and_form_encoded_body(sim):
    await sim.customer_says(sim.carla, "Hello?")
    response = await sim.http.post(
        f"/v25.0/{sim.acme}/messages",
        data={
            "access_token": sim.acme_token,
            "recipient": json.dumps({"id": sim.carla}),
            "messaging_type": "RESPONSE",
            "message": json.dumps({"text": "form-encoded"}),
        },
    )
    assert response.status_code == 200, response.text


async def test_bearer_header_token(sim):
    await sim.customer_says(sim.carla, "Hello?")
    response = await sim.http.post(
        "/v25.0/me/messages",
        json=sim.text(sim.carla, "hi"),
        headers={"Authorization": f"Bearer {sim.acme_token}"},
    )
    assert response.status_code == 200, response.text


async def test_outside_24h_response_is_refused_with_10_2018278(sim):
    await sim.customer_says(sim.carla, "Hello?")
    await sim.advance(DAY + 60)
    response = await sim.send(sim.text(sim.carla, "late"))
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["error_subcode"], error["type"]) == (10, 2018278, "OAuthException")
    assert "outside of allowed window" in error["message"]


async def test_human_agent_tag_extends_to_7_days_then_refused(sim):
    await sim.customer_says(sim.carla, "Hello?")
    await sim.advance(3 * DAY)
    tagged = {**sim.text(sim.carla, "agent here"), "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    assert (await sim.send(tagged)).status_code == 200
    await sim.advance(5 * DAY)
    response = await sim.send(tagged)
    assert response.json()["error"]["error_subcode"] == 2018278
    sent = (await sim.http.get("/_control/sent", params={"psid": sim.carla})).json()["messages"]
    assert [(m["messaging_type"], m["tag"]) for m in sent] == [("MESSAGE_TAG", "HUMAN_AGENT")]


async def test_customer_who_never_wrote_cannot_be_messaged(sim):
    response = await sim.send(sim.text(sim.peter, "cold message"))
    assert response.json()["error"]["error_subcode"] == 2018278


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"message": {"text": "x"}, "messaging_type": "RESPONSE"}, "recipient is required"),
        ({"recipient": {"id": "7000000000000001"}, "message": {"text": "x"}}, "messaging_type is required"),
        (
            {"recipient": {"id": "7000000000000001"}, "message": {"text": "x"}, "messaging_type": "PROMO"},
            "messaging_type must be one of",
        ),
        (
            {
                "recipient": {"id": "7000000000000001"},
                "message": {"text": "x"},
                "messaging_type": "MESSAGE_TAG",
            },
            "Tag is required",
        ),
        (
            {
                "recipient": {"id": "7000000000000001"},
                "message": {"text": "x"},
                "messaging_type": "MESSAGE_TAG",
                "tag": "NOPE",
            },
            "tag must be one of",
        ),
        ({"recipient": {"id": "7000000000000001"}, "message": {}, "messaging_type": "RESPONSE"}, "non-empty"),
        (
            {
                "recipient": {"id": "7000000000000001"},
                "message": {"text": "x" * 2001},
                "messaging_type": "RESPONSE",
            },
            "2000",
        ),
    ],
)
async def test_parameter_errors_are_code_100(sim, body, fragment):
    await sim.customer_says(sim.carla, "Hello?")
    response = await sim.send(body)
    error = response.json()["error"]
    assert response.status_code == 400 and error["code"] == 100 and fragment in error["message"], error


async def test_unknown_or_other_page_recipient(sim):
    for psid in ("123", sim.hank):  # hank is Globex's customer; the token is Acme's
        error = (await sim.send(sim.text(psid, "x"))).json()["error"]
        assert (error["code"], error["error_subcode"]) == (100, 2018001)


async def test_bad_and_missing_tokens(sim):
    error = (await sim.send(sim.text(sim.carla, "x"), token="garbage")).json()["error"]
    assert error["code"] == 190 and error["type"] == "OAuthException"
    response = await sim.http.post("/v25.0/me/messages", json=sim.text(sim.carla, "x"))
    assert response.json()["error"]["code"] == 104


async def test_revoked_page_token_fails_190_and_debug_token_says_invalid(sim):
    await sim.customer_says(sim.carla, "Hello?")
    app_token = f"{sim.app_id}|{sim.app_secret}"
    before = (
        await sim.http.get("/debug_token", params={"input_token": sim.acme_token, "access_token": app_token})
    ).json()
    assert before["data"]["is_valid"] is True

    revoked = await sim.http.post(f"/_control/pages/{sim.acme}/revoke")
    assert revoked.json()["revoked"] >= 1

    response = await sim.send(sim.text(sim.carla, "x"))
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["error_subcode"]) == (190, 460)
    assert "invalid_token" in response.headers["www-authenticate"]
    after = (
        await sim.http.get("/debug_token", params={"input_token": sim.acme_token, "access_token": app_token})
    ).json()
    assert after["data"]["is_valid"] is False and after["data"]["error"]["code"] == 190
    unknown = (
        await sim.http.get("/debug_token", params={"input_token": "zzz", "access_token": app_token})
    ).json()
    assert unknown["data"]["is_valid"] is False


async def test_sender_actions(sim):
    await sim.customer_says(sim.carla, "Hello?")
    for action in ("mark_seen", "typing_on", "typing_off"):
        response = await sim.send({"recipient": {"id": sim.carla}, "sender_action": action})
        assert response.json() == {"recipient_id": sim.carla}
    bad = await sim.send({"recipient": {"id": sim.carla}, "sender_action": "dance"})
    assert bad.json()["error"]["code"] == 100
    actions = (await sim.http.get("/_control/sent", params={"psid": sim.carla})).json()["sender_actions"]
    assert [a["action"] for a in actions] == ["mark_seen", "typing_on", "typing_off"]


async def test_injected_errors_count_down_then_clear(sim):
    await sim.customer_says(sim.carla, "Hello?")
    rule = await sim.http.post(
        "/_control/errors",
        json={
            "endpoint": "messages",
            "count": 2,
            "code": 2,
            "status": 500,
            "message": "Service temporarily unavailable",
            "is_transient": True,
        },
    )
    assert rule.status_code == 201
    for _ in range(2):
        response = await sim.send(sim.text(sim.carla, "x"))
        assert response.status_code == 500
        assert response.json()["error"]["code"] == 2 and response.json()["error"]["is_transient"] is True
    assert (await sim.send(sim.text(sim.carla, "x"))).status_code == 200
    # Rate limit with subcode, only on message_attachments: /messages is unaffected.
    await sim.http.post("/_control/errors", json={"endpoint": "message_attachments", "code": 613, "count": 1})
    assert (await sim.send(sim.text(sim.carla, "y"))).status_code == 200
    assert len((await sim.http.get("/_control/errors")).json()["data"]) == 1
    await sim.http.delete("/_control/errors")
    assert (await sim.http.get("/_control/errors")).json()["data"] == []


async def test_injected_latency(sim):
    await sim.customer_says(sim.carla, "Hello?")
    await sim.http.post("/_control/errors", json={"endpoint": "messages", "latency_ms": 300, "count": 1})
    started = time.monotonic()
    assert (await sim.send(sim.text(sim.carla, "slow"))).status_code == 200
    assert time.monotonic() - started >= 0.3


async def test_profile_lookup_needs_the_pages_token(sim):
    response = await sim.http.get(
        f"/v25.0/{sim.carla}",
        params={"fields": "first_name,last_name,profile_pic", "access_token": sim.acme_token},
    )
    profile = response.json()
    assert (
        profile["first_name"] == "Carla" and profile["last_name"] == "Customer" and profile["id"] == sim.carla
    )
    picture = await sim.http.get(profile["profile_pic"].removeprefix("http://sim.test"))
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/svg+xml"
    other = await sim.http.get(
        f"/v25.0/{sim.hank}", params={"fields": "first_name", "access_token": sim.acme_token}
    )
    assert other.json()["error"]["error_subcode"] == 33


async def test_subscribed_apps_validates_fields_and_needs_page_token(sim):
    bad = await sim.http.post(
        f"/{sim.acme}/subscribed_apps",
        params={"access_token": sim.acme_token, "subscribed_fields": "messages,bogus"},
    )
    assert bad.json()["error"]["code"] == 100
    assert (
        await sim.http.delete(f"/{sim.acme}/subscribed_apps", params={"access_token": sim.acme_token})
    ).json() == {"success": True}
    assert (
        await sim.http.get(f"/{sim.acme}/subscribed_apps", params={"access_token": sim.acme_token})
    ).json() == {"data": []}


async def test_appsecret_proof_is_checked_when_sent_or_required(sim):
    import hashlib
    import hmac

    proof = hmac.new(sim.app_secret.encode(), sim.acme_token.encode(), hashlib.sha256).hexdigest()
    ok = await sim.http.get("/v25.0/me", params={"access_token": sim.acme_token, "appsecret_proof": proof})
    assert ok.status_code == 200
    bad = await sim.http.get(
        "/v25.0/me", params={"access_token": sim.acme_token, "appsecret_proof": "0" * 64}
    )
    assert bad.json()["error"]["message"] == "Invalid appsecret_proof provided in the API argument"
    await sim.config(require_appsecret_proof=True)
    missing = await sim.http.get("/v25.0/me", params={"access_token": sim.acme_token})
    assert missing.json()["error"]["code"] == 100


async def test_concurrent_sends_get_unique_ids_and_are_all_recorded(sim):
    import asyncio

    await sim.customer_says(sim.carla, "Hello?")
    responses = await asyncio.gather(*(sim.send(sim.text(sim.carla, f"reply {n}")) for n in range(40)))
    mids = [r.json()["message_id"] for r in responses]
    assert len(set(mids)) == 40
    sent = (await sim.http.get("/_control/sent", params={"psid": sim.carla})).json()["messages"]
    assert sorted(m["mid"] for m in sent) == sorted(mids)
    await sim.wait_idle()


sync_tests(globals())
