"""Processing each recorded-shape fixture into conversation state, plus profiles and attachment downloads.

Signed POST to the real endpoint, the database task backend, and the worker run in-process.
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from pagedesk.conversations.models import Attachment, Contact, Conversation, ConversationEvent, Message
from pagedesk.core import clock
from pagedesk.core.worker import make_worker
from pagedesk.messenger import attachments as attachment_downloads
from pagedesk.messenger import client as graph
from pagedesk.messenger import fixtures
from pagedesk.messenger.errors import Transient
from pagedesk.messenger.models import InboundEvent, PageConnection
from pagedesk.messenger.tokens import page_token_set
from pagedesk.realtime import groups
from pagedesk.realtime.events import ConversationQueued, MessageCreated, MessageStatusChanged, MessageUpdated

SECRET = "app-secret-for-tests"
PAGE = fixtures.PAGE_ID
PSID = fixtures.PSID


@pytest.fixture(autouse=True)
def facebook_settings(settings, tmp_path):
    settings.FACEBOOK_APP_SECRET = SECRET
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def page(campaign) -> PageConnection:
    connection, _ = PageConnection.objects.update_or_create(
        campaign=campaign, defaults={"page_id": PAGE, "page_name": "Acme", "token_status": "active"}
    )
    page_token_set(page_connection=connection, token="PAGE-TOKEN")
    connection.save()
    return connection


@pytest.fixture
def http(monkeypatch):
    """Route the Graph client's HTTP (profile lookups, CDN downloads) to a handler the test sets."""
    state: dict[str, object] = {"handler": lambda request: httpx.Response(404)}

    def dispatch(request: httpx.Request) -> httpx.Response:
        return state["handler"](request)  # type: ignore[operator]

    graph._local.client = httpx.Client(transport=httpx.MockTransport(dispatch))
    yield state
    graph._local.client = None


def deliver(name: str, **replace: str) -> None:
    raw = fixtures.encode(fixtures.load(name, **replace))
    response = Client().post(
        "/webhooks/messenger",
        data=raw,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=fixtures.sign(raw, SECRET),
    )
    assert response.status_code == 200


def run_worker() -> None:
    worker = make_worker(interval=0)
    worker.batch = True
    worker.run()


def process(name: str, **replace: str) -> InboundEvent:
    deliver(name, **replace)
    run_worker()
    return InboundEvent.objects.order_by("-id").first()  # type: ignore[return-value]


def outbound(
    conversation: Conversation, *, mid: str = "", status: str = "sent", sent_ms: int = 1764070000000, **extra
):
    return Message.objects.create(
        conversation=conversation,
        direction="out",
        sender_type="agent",
        page_id=PAGE,
        mid=mid,
        text="Hi Carla, how can I help?",
        status=status,
        sent_at=dt.datetime.fromtimestamp(sent_ms / 1000, tz=dt.UTC) if status != "pending" else None,
        **extra,
    )


def open_conversation(campaign) -> Conversation:
    contact, _ = Contact.objects.get_or_create(page_id=PAGE, psid=PSID)
    return Conversation.objects.create(
        campaign=campaign, contact=contact, state="queued", queued_at=clock.now()
    )


# --- customer messages -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_text_opens_a_queued_conversation_and_publishes_it(page, campaign, published, http):
    http["handler"] = lambda request: httpx.Response(404)
    event = process("text")
    assert event.status == "processed"
    conversation = Conversation.objects.get()
    assert conversation.campaign == campaign
    assert conversation.state == "queued"
    assert conversation.queued_at == conversation.queue_order
    assert conversation.last_customer_message_at is not None
    message = conversation.messages.get()
    assert (message.direction, message.sender_type, message.kind, message.text) == (
        "in",
        "customer",
        "text",
        "hello, world!",
    )
    assert message.mid == "m_AbCdEfText0001"
    assert message.sent_at == dt.datetime(2025, 11, 25, 11, 26, 40, tzinfo=dt.UTC)
    assert list(ConversationEvent.objects.values_list("kind", flat=True)) == ["queued"]
    queue_audience = sorted([groups.campaign_queue(campaign.pk), groups.supervisors(campaign.pk)])
    queued = [(e, to) for e, to in published if isinstance(e, ConversationQueued)]
    created = [(e, to) for e, to in published if isinstance(e, MessageCreated)]
    # Ringall members hear of the arrival through the opening message alone (docs/events.md).
    assert [(e.conversation_id, e.reason, to) for e, to in queued] == [
        (conversation.pk, "new", [groups.supervisors(campaign.pk)])
    ]
    assert [(e.message_id, e.direction, e.pending, to) for e, to in created] == [
        (message.pk, "in", True, queue_audience)
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("name", "kind", "url_part"),
    [
        ("image", "image", "470193_1089_n.jpg"),
        ("video", "video", "10000000_n.mp4"),
        ("audio", "audio", "audioclip-1764070003000-2417.mp4"),
        ("file", "file", "invoice-2041.pdf"),
    ],
)
def test_media_attachments_are_recorded_and_queued_for_download(page, name, kind, url_part, monkeypatch):
    fetched = []
    monkeypatch.setattr(attachment_downloads, "attachment_fetch", lambda **kw: fetched.append(kw) or "stored")
    monkeypatch.setattr(
        "pagedesk.messenger.tasks.attachments.attachment_fetch", lambda **kw: fetched.append(kw) or ""
    )
    monkeypatch.setattr("pagedesk.messenger.profiles.contact_profile_enqueue_if_stale", lambda **kw: False)
    event = process(name)
    assert event.status == "processed"
    message = Message.objects.get()
    assert message.kind == "attachment"
    attachment = message.attachments.get()
    assert attachment.type == kind
    assert url_part in attachment.original_url
    assert fetched == [{"attachment_id": attachment.pk, "attempt": 0}]


@pytest.mark.django_db(transaction=True)
def test_location_keeps_coordinates_and_is_not_downloaded(page, http):
    process("location")
    attachment = Attachment.objects.get()
    assert (attachment.type, attachment.latitude, attachment.longitude) == ("location", 40.4168, -3.7038)
    assert attachment.title == "Carla's Location"
    assert attachment.original_url.startswith("https://l.facebook.com/")
    assert not DBTaskResult.objects.filter(task_path__endswith="attachment_download").exists()


@pytest.mark.django_db(transaction=True)
def test_fallback_keeps_link_and_title(page, http):
    process("fallback")
    message = Message.objects.get()
    assert message.text.startswith("look at this")
    attachment = message.attachments.get()
    assert (attachment.type, attachment.original_url, attachment.title) == (
        "fallback",
        "https://example.com/article",
        "An interesting article",
    )


@pytest.mark.django_db(transaction=True)
def test_sticker_is_one_sticker_attachment_with_its_id(page, http):
    process("sticker")
    message = Message.objects.get()
    assert message.kind == "sticker"
    assert message.extra["sticker_id"] == "369239263222822"
    assert list(message.attachments.values_list("type", flat=True)) == ["sticker"]


@pytest.mark.django_db(transaction=True)
def test_quick_reply_keeps_its_payload(page, http):
    process("quick_reply")
    message = Message.objects.get()
    assert (message.kind, message.text, message.payload) == ("quick_reply", "Billing", "TOPIC_BILLING")


@pytest.mark.django_db(transaction=True)
def test_reply_to_keeps_the_quoted_mid(page, http):
    process("reply_to")
    assert Message.objects.get().reply_to_mid == "m_PageSaidThis01"


@pytest.mark.django_db(transaction=True)
def test_get_started_postback_opens_a_conversation(page, http):
    process("postback_get_started")
    conversation = Conversation.objects.get()
    message = conversation.messages.get()
    assert conversation.state == "queued"
    assert (message.kind, message.text, message.payload, message.mid) == (
        "postback",
        "Get Started",
        "GET_STARTED",
        "m_AbCdEfPostb001",
    )


# --- receipts ---------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_delivery_marks_sent_messages_up_to_the_watermark_or_by_mid(page, campaign, published):
    conversation = open_conversation(campaign)
    by_mid = outbound(
        conversation, mid="m_PageSaidThis01", sent_ms=1764070025000
    )  # after watermark, but named
    early = outbound(conversation, mid="m_early", sent_ms=1764070010000)
    late = outbound(conversation, mid="m_late", sent_ms=1764070029000)
    pending = outbound(conversation, status="pending")
    event = process("delivery")
    assert event.status == "processed"
    assert event.dedup_key.startswith("sha256:")
    statuses = dict(Message.objects.values_list("pk", "status"))
    assert statuses == {by_mid.pk: "delivered", early.pk: "delivered", late.pk: "sent", pending.pk: "pending"}
    changed = sorted(e.message_id for e, _to in published if isinstance(e, MessageStatusChanged))
    assert changed == sorted([by_mid.pk, early.pk])


@pytest.mark.django_db(transaction=True)
def test_read_marks_messages_up_to_the_watermark_read(page, campaign):
    conversation = open_conversation(campaign)
    sent = outbound(conversation, mid="m_a", sent_ms=1764070010000)
    delivered = outbound(conversation, mid="m_b", sent_ms=1764070020000, status="delivered")
    after = outbound(conversation, mid="m_c", sent_ms=1764070035000)
    process("read")
    sent.refresh_from_db()
    delivered.refresh_from_db()
    after.refresh_from_db()
    assert (sent.status, delivered.status, after.status) == ("read", "read", "sent")
    assert sent.read_at is not None and sent.delivered_at is not None


# --- echoes ---------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_echo_of_our_own_send_confirms_it_without_a_duplicate(page, campaign, published):
    conversation = open_conversation(campaign)
    ours = outbound(
        conversation,
        status="pending",
        extra={"send_state": "unconfirmed", "unconfirmed_at": "2026-11-25T10:00:00+00:00"},
    )
    event = process("echo_ours", MESSAGE_ID=str(ours.pk))
    assert event.status == "processed"
    assert event.psid == PSID
    ours.refresh_from_db()
    assert (ours.mid, ours.status) == ("m_OurReplyEcho01", "sent")
    assert "send_state" not in ours.extra and "unconfirmed_at" not in ours.extra
    assert Message.objects.count() == 1
    assert [e.status for e, _ in published if isinstance(e, MessageStatusChanged)] == ["sent"]


@pytest.mark.django_db(transaction=True)
def test_echo_typed_in_the_page_inbox_joins_the_open_conversation(page, campaign):
    conversation = open_conversation(campaign)
    process("echo_page_inbox")
    echo = Message.objects.get()
    assert echo.conversation == conversation
    assert (echo.direction, echo.sender_type, echo.status, echo.text) == (
        "out",
        "page_echo",
        "sent",
        "Typed in the Page inbox",
    )
    assert echo.get_sender_type_display() == "Sent from Facebook"
    assert Conversation.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_echo_without_an_open_conversation_is_recorded_closed_and_never_queued(page, http):
    process("echo_page_inbox")
    conversation = Conversation.objects.get()
    assert conversation.state == "closed"
    assert conversation.queued_at is None
    assert conversation.messages.get().sender_type == "page_echo"


@pytest.mark.django_db(transaction=True)
def test_echo_with_foreign_metadata_is_recorded_as_sent_from_facebook(page, campaign):
    open_conversation(campaign)
    process("echo_ours", MESSAGE_ID="not-ours")
    assert Message.objects.get().sender_type == "page_echo"


# --- reactions and edits ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_reaction_then_unreact(page, campaign, published):
    conversation = open_conversation(campaign)
    reacted = outbound(conversation, mid="m_PageSaidThis01")
    assert process("reaction_react").status == "processed"
    reacted.refresh_from_db()
    assert [(r["psid"], r["reaction"], r["emoji"]) for r in reacted.reactions] == [
        (PSID, "love", "\u2764\ufe0f")
    ]
    unreact = process("reaction_unreact")
    assert unreact.status == "processed"
    reacted.refresh_from_db()
    assert reacted.reactions == []
    assert [e.change for e, _ in published if isinstance(e, MessageUpdated)] == ["reaction", "reaction"]


@pytest.mark.django_db(transaction=True)
def test_reaction_to_an_unknown_message_is_ignored_with_a_reason(page):
    event = process("reaction_react")
    assert event.status == "ignored"
    assert "does not have" in event.error


@pytest.mark.django_db(transaction=True)
def test_edit_replaces_the_text_and_keeps_the_original(page, http):
    process("text")
    event = process("message_edit")
    assert event.status == "processed"
    message = Message.objects.get()
    assert message.text == "hello, world! (edited)"
    assert message.extra["original_text"] == "hello, world!"
    assert message.edited_at == dt.datetime(2025, 11, 25, 11, 27, 40, tzinfo=dt.UTC)


# --- failures stay local -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_failing_event_is_marked_failed_and_the_stream_goes_on(page, monkeypatch, http):
    from pagedesk.routing import inbound

    real = inbound.message_receive

    def flaky(**kwargs):
        if kwargs["mid"] == "m_first":
            raise RuntimeError("boom")
        return real(**kwargs)

    monkeypatch.setattr(inbound, "message_receive", flaky)
    body = fixtures.batch(
        [
            fixtures.text_item(mid="m_first", text="first", timestamp=1),
            fixtures.text_item(mid="m_second", text="second", timestamp=2),
        ]
    )
    raw = fixtures.encode(body)
    Client().post(
        "/webhooks/messenger",
        data=raw,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=fixtures.sign(raw, SECRET),
    )
    run_worker()
    events = dict(InboundEvent.objects.values_list("dedup_key", "status"))
    assert events == {"mid:m_first": "failed", "mid:m_second": "processed"}
    assert "RuntimeError: boom" in InboundEvent.objects.get(dedup_key="mid:m_first").error
    assert list(Message.objects.values_list("text", flat=True)) == ["second"]


# --- profiles -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_first_contact_fetches_the_profile(page, http):
    requests = []

    def profile(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(
            200,
            json={
                "first_name": "Carla",
                "last_name": "Gómez",
                "profile_pic": "https://platform-lookaside.fbsbx.com/p.jpg",
                "id": PSID,
            },
        )

    http["handler"] = profile
    process("text")
    contact = Contact.objects.get()
    assert contact.display_name == "Carla Gómez"
    assert contact.profile_pic_url == "https://platform-lookaside.fbsbx.com/p.jpg"
    assert contact.profile_fetched_at is not None
    (request,) = requests
    assert request.url.path.endswith(f"/{PSID}")
    assert request.url.params["fields"] == "first_name,last_name,profile_pic"
    assert request.url.params["access_token"] == "PAGE-TOKEN"

    # A second conversation the same day does not look the profile up again.
    Conversation.objects.update(state="closed")
    process("quick_reply")
    assert len(requests) == 1


@pytest.mark.django_db(transaction=True)
def test_profile_failure_keeps_the_neutral_name_and_retries_later(page, http):
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no route")

    http["handler"] = down
    process("text")
    contact = Contact.objects.get()
    assert contact.first_name == "" and contact.last_name == ""
    assert contact.display_name == "Messenger user …8901"
    assert contact.profile_failed_at is not None
    retry = DBTaskResult.objects.get(task_path__endswith="contact_profile_fetch", status="READY")
    assert retry.args_kwargs["kwargs"] == {"contact_id": contact.pk, "attempt": 1}
    assert retry.run_after > clock.now()


@pytest.mark.django_db(transaction=True)
def test_profile_retry_succeeds_later(page, http):
    from pagedesk.messenger.profiles import contact_profile_refresh

    contact = Contact.objects.create(page_id=PAGE, psid=PSID)
    http["handler"] = lambda request: httpx.Response(
        500, json={"error": {"code": 2, "message": "Service temporarily unavailable"}}
    )
    assert contact_profile_refresh(contact_id=contact.pk).startswith("failed, retrying")
    http["handler"] = lambda request: httpx.Response(200, json={"first_name": "Carla", "last_name": "G"})
    assert contact_profile_refresh(contact_id=contact.pk, attempt=1) == "fetched"
    contact.refresh_from_db()
    assert contact.display_name == "Carla G"
    assert contact.profile_failed_at is None


# --- attachment downloads ---------------------------------------------------------------------------


def make_attachment(
    campaign, *, type_: str = "image", url: str = "https://scontent.xx.fbcdn.net/v/p/photo_n.jpg?oe=1"
) -> Attachment:
    conversation = open_conversation(campaign)
    message = Message.objects.create(
        conversation=conversation, direction="in", sender_type="customer", page_id=PAGE, mid="m_att"
    )
    return Attachment.objects.create(message=message, type=type_, original_url=url)


@pytest.mark.django_db(transaction=True)
def test_attachment_is_downloaded_into_pagedesk_storage(page, campaign, http, settings):
    attachment = make_attachment(campaign)
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    http["handler"] = lambda request: httpx.Response(200, content=png, headers={"content-type": "image/png"})
    assert attachment_downloads.attachment_fetch(attachment_id=attachment.pk) == "stored"
    attachment.refresh_from_db()
    assert attachment.file.name.startswith("attachments/")
    assert attachment.filename == "photo_n.png"
    assert (attachment.content_type, attachment.size, attachment.download_error) == (
        "image/png",
        len(png),
        "",
    )
    assert attachment.original_url.startswith("https://scontent")
    assert attachment.file.path.startswith(str(settings.MEDIA_ROOT))
    with attachment.file.open("rb") as stored:
        assert stored.read() == png


@pytest.mark.django_db(transaction=True)
def test_attachment_over_the_size_limit_is_refused(page, campaign, http, monkeypatch):
    monkeypatch.setattr(attachment_downloads, "MAX_ATTACHMENT_BYTES", 1024)
    attachment = make_attachment(campaign)
    http["handler"] = lambda request: httpx.Response(
        200, content=b"x" * 4096, headers={"content-type": "image/jpeg"}
    )
    assert attachment_downloads.attachment_fetch(attachment_id=attachment.pk).startswith("refused")
    attachment.refresh_from_db()
    assert not attachment.file
    assert "larger than" in attachment.download_error
    assert not DBTaskResult.objects.filter(task_path__endswith="attachment_download").exists()


@pytest.mark.django_db(transaction=True)
def test_attachment_with_a_type_outside_the_allow_list_is_refused(page, campaign, http):
    attachment = make_attachment(campaign)
    http["handler"] = lambda request: httpx.Response(
        200, content=b"<script>", headers={"content-type": "text/html"}
    )
    attachment_downloads.attachment_fetch(attachment_id=attachment.pk)
    attachment.refresh_from_db()
    assert not attachment.file
    assert attachment.download_error == "A image of type text/html is not accepted."


@pytest.mark.django_db(transaction=True)
def test_attachment_download_failure_is_recorded_and_retried_later(page, campaign, http):
    attachment = make_attachment(campaign)
    http["handler"] = lambda request: httpx.Response(503)
    assert attachment_downloads.attachment_fetch(attachment_id=attachment.pk).startswith("failed, retrying")
    attachment.refresh_from_db()
    assert "503" in attachment.download_error
    retry = DBTaskResult.objects.get(task_path__endswith="attachment_download")
    assert retry.args_kwargs["kwargs"] == {"attachment_id": attachment.pk, "attempt": 1}
    assert retry.run_after > clock.now()


@pytest.mark.django_db(transaction=True)
def test_inbound_image_end_to_end_is_stored(page, http):
    def cdn(request: httpx.Request) -> httpx.Response:
        if "fbcdn" in request.url.host:
            return httpx.Response(
                200, content=b"\xff\xd8\xff" + b"1" * 50, headers={"content-type": "image/jpeg"}
            )
        raise Transient("profile lookups are not this test's concern")

    http["handler"] = cdn
    process("image")
    attachment = Attachment.objects.get()
    assert attachment.content_type == "image/jpeg"
    assert attachment.filename == "470193_1089_n.jpg"
    assert attachment.file


@pytest.mark.django_db(transaction=True)
def test_the_echo_timestamp_lets_the_read_watermark_cover_the_newest_reply(page, campaign):
    # Our clock stamped the reply when the Send API answered, a moment after Facebook's own timestamp;
    # the read watermark equals Facebook's timestamp, so the echo's time must win.
    conversation = open_conversation(campaign)
    ours = outbound(conversation, sent_ms=1764070040250)
    process("echo_ours", MESSAGE_ID=str(ours.pk))
    ours.refresh_from_db()
    assert ours.sent_at == dt.datetime.fromtimestamp(1764070040, tz=dt.UTC)
    deliver("read")  # watermark 1764070030000: before the reply, so it stays sent
    run_worker()
    ours.refresh_from_db()
    assert ours.status == "sent"
    raw = fixtures.load("read")
    raw["entry"][0]["messaging"][0]["read"]["watermark"] = 1764070040000
    raw["entry"][0]["messaging"][0]["timestamp"] = 1764070041000
    body = fixtures.encode(raw)
    response = Client().post(
        "/webhooks/messenger",
        data=body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=fixtures.sign(body, SECRET),
    )
    assert response.status_code == 200
    run_worker()
    ours.refresh_from_db()
    assert ours.status == "read"
