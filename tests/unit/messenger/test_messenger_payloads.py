"""Typed parse of every recorded-shape fixture (no database)."""

from __future__ import annotations

import json

import pytest

from pagedesk.messenger import fixtures, payloads
from pagedesk.messenger.payloads import Kind, PayloadError, event_parse, webhook_body_parse

EXPECTED_KIND = {
    "text": Kind.MESSAGE,
    "image": Kind.MESSAGE,
    "video": Kind.MESSAGE,
    "audio": Kind.MESSAGE,
    "file": Kind.MESSAGE,
    "location": Kind.MESSAGE,
    "fallback": Kind.MESSAGE,
    "sticker": Kind.MESSAGE,
    "quick_reply": Kind.MESSAGE,
    "reply_to": Kind.MESSAGE,
    "postback_get_started": Kind.POSTBACK,
    "delivery": Kind.DELIVERY,
    "read": Kind.READ,
    "echo_ours": Kind.ECHO,
    "echo_page_inbox": Kind.ECHO,
    "reaction_react": Kind.REACTION,
    "reaction_unreact": Kind.REACTION,
    "message_edit": Kind.EDIT,
    "standby": Kind.STANDBY,
    "standby_echo_page_inbox": Kind.STANDBY,
    "handover_pass_to_page_inbox": Kind.HANDOVER,
    "handover_take_by_pagedesk": Kind.HANDOVER,
    "handover_request_from_page_inbox": Kind.HANDOVER,
    "unknown": Kind.UNKNOWN,
}


def parse(name: str, **replace: str) -> payloads.RawEvent:
    (event,) = webhook_body_parse(fixtures.encode(fixtures.load(name, **replace)))
    return event


def test_every_fixture_has_an_expectation():
    assert sorted(EXPECTED_KIND) == fixtures.NAMES


@pytest.mark.parametrize("name", sorted(EXPECTED_KIND))
def test_fixture_envelope(name):
    event = parse(name)
    assert event.kind == EXPECTED_KIND[name]
    assert event.page_id == fixtures.PAGE_ID
    # The customer is the stream key, also for echoes (where Facebook puts the page as sender).
    assert event.psid == fixtures.PSID
    assert event.event_time > 0


def test_text():
    item = event_parse(parse("text").payload, kind=Kind.MESSAGE)
    assert item == payloads.CustomerMessage(
        mid="m_AbCdEfText0001", timestamp=1764070000000, text="hello, world!"
    )
    assert item.kind == "text"


@pytest.mark.parametrize("name", ["image", "video", "audio", "file"])
def test_media(name):
    item = event_parse(parse(name).payload, kind=Kind.MESSAGE)
    (attachment,) = item.attachments
    assert attachment.type == name
    assert attachment.url.startswith("https://")
    assert item.kind == "attachment"


def test_location():
    item = event_parse(parse("location").payload, kind=Kind.MESSAGE)
    (attachment,) = item.attachments
    assert (attachment.type, attachment.latitude, attachment.longitude, attachment.title) == (
        "location",
        40.4168,
        -3.7038,
        "Carla's Location",
    )


def test_fallback_current_and_legacy_shapes():
    item = event_parse(parse("fallback").payload, kind=Kind.MESSAGE)
    assert item.attachments == (
        payloads.AttachmentIn(
            type="fallback", url="https://example.com/article", title="An interesting article"
        ),
    )
    legacy = {
        "mid": "m",
        "attachments": [{"title": "T", "url": "https://x.example/", "type": "fallback", "payload": None}],
    }
    item = event_parse({"sender": {"id": "1"}, "message": legacy}, kind=Kind.MESSAGE)
    assert item.attachments == (payloads.AttachmentIn(type="fallback", url="https://x.example/", title="T"),)


def test_sticker_during_the_sticker_type_transition_is_one_sticker():
    item = event_parse(parse("sticker").payload, kind=Kind.MESSAGE)
    assert item.sticker_id == "369239263222822"
    assert [a.type for a in item.attachments] == ["sticker"]
    assert item.kind == "sticker"


def test_quick_reply_and_reply_to():
    quick = event_parse(parse("quick_reply").payload, kind=Kind.MESSAGE)
    assert (quick.quick_reply_payload, quick.kind) == ("TOPIC_BILLING", "quick_reply")
    reply = event_parse(parse("reply_to").payload, kind=Kind.MESSAGE)
    assert reply.reply_to_mid == "m_PageSaidThis01"


def test_postback():
    event = parse("postback_get_started")
    assert event.dedup_key == "mid:m_AbCdEfPostb001"
    item = event_parse(event.payload, kind=event.kind)
    assert (item.title, item.payload) == ("Get Started", "GET_STARTED")


def test_delivery_without_timestamp_is_ordered_by_its_watermark():
    event = parse("delivery")
    assert event.event_time == 1764070020000
    assert event.dedup_key == "sha256:" + payloads.canonical_hash(event.payload)
    assert event_parse(event.payload, kind=event.kind) == payloads.Delivery(
        watermark=1764070020000, mids=("m_PageSaidThis01",)
    )


def test_read():
    assert event_parse(parse("read").payload, kind=Kind.READ) == payloads.Read(watermark=1764070030000)


def test_echoes():
    ours = event_parse(parse("echo_ours", MESSAGE_ID="42").payload, kind=Kind.ECHO)
    assert (ours.metadata, ours.app_id, ours.mid) == ("pagedesk:42", "1517776481860111", "m_OurReplyEcho01")
    inbox = event_parse(parse("echo_page_inbox").payload, kind=Kind.ECHO)
    assert (inbox.metadata, inbox.text) == ("", "Typed in the Page inbox")


def test_reactions_are_distinct_events_from_each_other_and_from_the_message():
    react, unreact = parse("reaction_react"), parse("reaction_unreact")
    assert react.dedup_key != unreact.dedup_key
    assert not react.dedup_key.startswith("mid:")
    item = event_parse(unreact.payload, kind=Kind.REACTION)
    assert (item.mid, item.action, item.reaction, item.emoji) == (
        "m_PageSaidThis01",
        "unreact",
        "love",
        "\u2764\ufe0f",
    )


def test_edit_dedup_includes_the_edit_count():
    event = parse("message_edit")
    assert event.dedup_key == "edit:1:m_AbCdEfText0001"
    item = event_parse(event.payload, kind=Kind.EDIT)
    assert (item.text, item.num_edit) == ("hello, world! (edited)", 1)


def test_standby_and_unknown():
    standby = parse("standby")
    assert standby.standby and standby.dedup_key == "standby:mid:m_StandbyMsg001"
    unknown = parse("unknown")
    assert "game_play" in unknown.reason


def test_standby_holds_the_customer_message_or_the_owners_echo():
    event = parse("standby")
    assert event.kind == Kind.STANDBY and event.payload["message"]["mid"] == "m_StandbyMsg001"
    assert event_parse(event.payload, kind=Kind.STANDBY) == payloads.Standby(
        item=payloads.CustomerMessage(
            mid="m_StandbyMsg001", timestamp=1764070070000, text="talking to the other app"
        )
    )
    echo = event_parse(parse("standby_echo_page_inbox").payload, kind=Kind.STANDBY)
    assert isinstance(echo, payloads.Standby) and isinstance(echo.item, payloads.Echo)
    assert (echo.item.app_id, echo.item.text) == ("263902037430900", "Hi, this is Dana from the Page inbox")


def test_standby_receipts_are_standby_copies_nobody_acts_on():
    body = fixtures.load("standby")
    body["entry"][0]["standby"][0] = {
        "sender": {"id": fixtures.PSID},
        "recipient": {"id": fixtures.PAGE_ID},
        "timestamp": 1764070071000,
        "read": {"watermark": 1764070070000},
    }
    (event,) = webhook_body_parse(json.dumps(body).encode())
    assert event.kind == Kind.STANDBY
    assert event_parse(event.payload, kind=Kind.STANDBY) == payloads.Standby(
        item=payloads.Read(watermark=1764070070000)
    )


def test_handover_pass_and_take_name_both_owners():
    passed = event_parse(
        parse("handover_pass_to_page_inbox", PAGEDESK_APP_ID="4242").payload, kind=Kind.HANDOVER
    )
    assert passed == payloads.Handover(
        action="pass_thread_control",
        timestamp=1764070060000,
        new_owner_app_id="263902037430900",
        previous_owner_app_id="4242",
        metadata="moved to the Inbox by a Page admin",
    )
    taken = event_parse(
        parse("handover_take_by_pagedesk", PAGEDESK_APP_ID="4242").payload, kind=Kind.HANDOVER
    )
    assert (taken.action, taken.previous_owner_app_id, taken.new_owner_app_id) == (
        "take_thread_control",
        "263902037430900",
        "4242",
    )


def test_handover_request_and_an_idle_previous_owner():
    request = event_parse(parse("handover_request_from_page_inbox").payload, kind=Kind.HANDOVER)
    assert (request.action, request.requested_owner_app_id, request.new_owner_app_id) == (
        "request_thread_control",
        "263902037430900",
        "",
    )
    body = fixtures.load("handover_pass_to_page_inbox")
    item = body["entry"][0]["messaging"][0]
    item["pass_thread_control"]["previous_owner_app_id"] = None  # Meta: null when the thread was idle
    (event,) = webhook_body_parse(json.dumps(body).encode())
    assert event_parse(event.payload, kind=Kind.HANDOVER).previous_owner_app_id == ""


def test_handover_without_a_new_owner_is_malformed():
    body = fixtures.load("handover_take_by_pagedesk")
    del body["entry"][0]["messaging"][0]["take_thread_control"]["new_owner_app_id"]
    (event,) = webhook_body_parse(json.dumps(body).encode())
    with pytest.raises(PayloadError):
        event_parse(event.payload, kind=Kind.HANDOVER)


def test_content_hash_ignores_key_order():
    assert payloads.canonical_hash({"a": 1, "b": [1, 2]}) == payloads.canonical_hash({"b": [1, 2], "a": 1})


def test_string_timestamps_are_accepted():
    body = fixtures.load("text")
    body["entry"][0]["messaging"][0]["timestamp"] = "1764070000000"
    (event,) = webhook_body_parse(json.dumps(body).encode())
    assert event.event_time == 1764070000000


@pytest.mark.parametrize("raw", [b"", b"nope", b'{"object": "page"', b"\xff\xfe"])
def test_a_body_that_is_not_json_raises(raw):
    with pytest.raises(PayloadError):
        webhook_body_parse(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"null",
        b'{"object":"page","entry":"x"}',
        b'{"object":"page","entry":[{"id":"1","standby":[1]}]}',
    ],
)
def test_json_of_another_shape_is_parked(raw):
    (event,) = webhook_body_parse(raw)
    assert event.parked and event.reason


def test_message_without_mid_is_a_payload_error():
    with pytest.raises(PayloadError):
        event_parse({"message": {"text": "x"}}, kind=Kind.MESSAGE)
