"""Attachment upload (message_attachments, filedata), reusable ids, and expiring CDN URLs."""

from __future__ import annotations

import base64
import json

from pagedesk.simulator.http import parse_multipart
from tests.integration.simulator.helpers import sync_tests

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_upload_then_send_by_attachment_id(sim, receiver):
    await sim.customer_says(sim.carla, "Send me the invoice")
    upload = await sim.http.post(
        "/v25.0/me/message_attachments",
        params={"access_token": sim.acme_token},
        data={"message": json.dumps({"attachment": {"type": "image", "payload": {"is_reusable": True}}})},
        files={"filedata": ("invoice.png", PNG, "image/png")},
    )
    assert upload.status_code == 200, upload.text
    attachment_id = upload.json()["attachment_id"]
    assert attachment_id.isdigit()

    response = await sim.send(
        {
            "recipient": {"id": sim.carla},
            "messaging_type": "RESPONSE",
            "message": {"attachment": {"type": "image", "payload": {"attachment_id": attachment_id}}},
        }
    )
    assert response.status_code == 200, response.text
    await sim.wait_idle()
    echo = next(e for e in receiver.all_events() if e.get("message", {}).get("is_echo"))
    url = echo["message"]["attachments"][0]["payload"]["url"]
    assert echo["message"]["attachments"][0]["type"] == "image" and "oe=" in url
    fetched = await sim.http.get(url.removeprefix("http://sim.test"))
    assert fetched.status_code == 200 and fetched.content == PNG


async def test_unreachable_attachment_url_fails_like_facebook(sim):
    await sim.customer_says(sim.carla, "hi")
    response = await sim.send(
        {
            "recipient": {"id": sim.carla},
            "messaging_type": "RESPONSE",
            "message": {"attachment": {"type": "image", "payload": {"url": "http://127.0.0.1:9/a.png"}}},
        }
    )
    error = response.json()["error"]
    assert (error["code"], error["error_subcode"]) == (100, 2018008)


async def test_send_by_url_with_is_reusable_returns_an_attachment_id(sim):
    await sim.config(fetch_attachment_urls=False)
    await sim.customer_says(sim.carla, "hi")
    response = await sim.send(
        {
            "recipient": {"id": sim.carla},
            "messaging_type": "RESPONSE",
            "message": {
                "attachment": {
                    "type": "file",
                    "payload": {"url": "http://pagedesk.test/media/a.pdf", "is_reusable": True},
                }
            },
        }
    )
    body = response.json()
    assert body["attachment_id"] and body["message_id"]


async def test_send_with_filedata_in_one_request(sim):
    await sim.customer_says(sim.carla, "hi")
    response = await sim.http.post(
        "/v25.0/me/messages",
        params={"access_token": sim.acme_token},
        data={
            "recipient": json.dumps({"id": sim.carla}),
            "messaging_type": "RESPONSE",
            "message": json.dumps({"attachment": {"type": "file", "payload": {"is_reusable": False}}}),
        },
        files={"filedata": ("notes.txt", b"hello", "text/plain")},
    )
    assert response.status_code == 200, response.text


async def test_upload_rejects_bad_type(sim):
    response = await sim.http.post(
        "/me/message_attachments",
        params={"access_token": sim.acme_token},
        json={"message": {"attachment": {"type": "gif", "payload": {"url": "http://x"}}}},
    )
    assert response.json()["error"]["code"] == 100


async def test_customer_upload_url_expires(sim, receiver):
    await sim.config(attachment_url_ttl_seconds=600)
    result = await sim.customer_says(
        sim.carla,
        "",
        files=[
            {
                "filename": "photo.png",
                "content_type": "image/png",
                "content_base64": base64.b64encode(PNG).decode(),
            }
        ],
    )
    await sim.wait_idle()
    event = receiver.all_events()[0]
    attachment = event["message"]["attachments"][0]
    assert attachment["type"] == "image" and "text" not in event["message"]
    url = attachment["payload"]["url"]
    assert url == result["message"]["attachments"][0]["payload"]["url"]
    path = url.removeprefix("http://sim.test")
    assert (await sim.http.get(path)).content == PNG
    tampered = path.replace("oh=", "oh=0")
    assert (await sim.http.get(tampered)).status_code == 403
    await sim.advance(601)
    expired = await sim.http.get(path)
    assert expired.status_code == 403 and "expired" in expired.text


def test_multipart_parser_handles_quoted_names_and_binary():
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="message"\r\n\r\n{"a":1}\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="filedata"; filename="a b.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n\x00\r\n\x01\r\n--XyZ--\r\n"
    )
    fields, files = parse_multipart(body, "multipart/form-data; boundary=XyZ")
    assert fields == {"message": '{"a":1}'}
    assert files["filedata"].filename == "a b.bin" and files["filedata"].content == b"\x00\r\n\x01"


sync_tests(globals())
