"""Recordings: who sees what, every filter, full-text search on both engines, transcript, attachments,
CSV exports (streamed, bounded memory), escaping."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tracemalloc

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.urls import reverse

from pagedesk.campaigns.models import Disposition
from pagedesk.campaigns.services import campaign_set_supervisors
from pagedesk.conversations.models import (
    Attachment,
    Contact,
    Conversation,
    ConversationEvent,
    ConversationState,
    Message,
    MessageStatus,
    SenderType,
)
from pagedesk.recordings.selectors import RecordingFilters, recording_list
from tests.conftest import make_user
from tests.fixtures.traffic import RARE_WORD, build_traffic
from tests.integration.recordings.conftest import AT, make_message, make_recording

pytestmark = pytest.mark.django_db


def _ids(user, **filters) -> list[int]:
    return list(recording_list(user=user, filters=RecordingFilters(**filters)).values_list("pk", flat=True))


def test_who_sees_which_recordings(campaign, beta, ada, sam, alice, bob):
    mine = make_recording(campaign, "1", agent=alice)
    bobs = make_recording(campaign, "2", agent=bob)
    elsewhere = make_recording(beta, "3", agent=bob)
    # alice wrote in a conversation before it was transferred to bob: still hers to see.
    transferred = make_recording(campaign, "4", agent=bob)
    make_message(transferred, "hi", sender=SenderType.AGENT, author=alice)

    assert set(_ids(ada)) == {mine.pk, bobs.pk, elsewhere.pk, transferred.pk}
    assert set(_ids(sam)) == {mine.pk, bobs.pk, transferred.pk}
    assert set(_ids(alice)) == {mine.pk, transferred.pk}
    assert set(_ids(bob)) == {bobs.pk, elsewhere.pk, transferred.pk}


def test_filters(campaign, beta, ada, alice, bob):
    solved = Disposition.objects.create(campaign=campaign, name="Solved")
    refund = Disposition.objects.create(campaign=campaign, name="Refund", parent=solved)
    a = make_recording(
        campaign, "100200300", first="Carla", last="Mendes", agent=alice, disposition=refund, at=AT
    )
    b = make_recording(
        campaign,
        "100200301",
        first="Diego",
        last="Novak",
        state=ConversationState.ABANDONED,
        at=AT - dt.timedelta(days=1),
    )
    c = make_recording(
        beta,
        "100200302",
        first="Emma",
        last="Ortiz",
        state=ConversationState.AFTER_HOURS,
        at=AT - dt.timedelta(days=2),
    )
    d = make_recording(
        beta, "100200303", first="Farid", last="Park", state=ConversationState.BLOCKED, agent=bob, at=AT
    )

    assert _ids(ada) == [d.pk, a.pk, b.pk, c.pk] or _ids(ada)[:2] in ([d.pk, a.pk], [a.pk, d.pk])
    assert _ids(ada, campaign_id=beta.pk) == [d.pk, c.pk]
    assert _ids(ada, agent_id=alice.pk) == [a.pk]
    assert _ids(ada, customer="carla") == [a.pk]
    assert _ids(ada, customer="Novak diego") == [b.pk]
    assert _ids(ada, customer="100200302") == [c.pk]
    for state, expected in [("closed", a), ("abandoned", b), ("after_hours", c), ("blocked", d)]:
        assert _ids(ada, state=state) == [expected.pk]
    assert _ids(ada, disposition_id=solved.pk) == [a.pk]  # a parent matches its sub-dispositions
    assert _ids(ada, disposition_id=refund.pk) == [a.pk]
    assert set(_ids(ada, date_from=AT.date(), date_to=AT.date())) == {a.pk, d.pk}
    assert _ids(
        ada, date_from=AT.date() - dt.timedelta(days=2), date_to=AT.date() - dt.timedelta(days=2)
    ) == [c.pk]


def test_date_filter_uses_each_campaigns_timezone(campaign, ada):
    # 23:30 UTC on 1 March is already 2 March in Madrid.
    late = make_recording(campaign, "1", at=dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC))
    assert _ids(ada, date_from=dt.date(2026, 3, 2), date_to=dt.date(2026, 3, 2)) == [late.pk]
    assert _ids(ada, date_from=dt.date(2026, 3, 1), date_to=dt.date(2026, 3, 1)) == []


def test_full_text_search(campaign, ada, alice):
    a = make_recording(campaign, "1", texts=["Where is my parcel?", "It was due on Tuesday"])
    b = make_recording(campaign, "2", texts=["I want a REFUND for the parcel"])
    make_recording(campaign, "3", texts=["Hello there"])
    assert _ids(ada, text="parcel") == sorted([a.pk, b.pk], reverse=True) or set(
        _ids(ada, text="parcel")
    ) == {a.pk, b.pk}
    assert _ids(ada, text="refund") == [b.pk]  # case-insensitive
    assert _ids(ada, text="refund parcel") == [b.pk]  # every word, in one message
    assert _ids(ada, text="tuesday parcel") == []  # the words are in two different messages
    assert _ids(ada, text="parce") == []  # whole words
    assert _ids(ada, text="nothing-like-this") == []
    # FTS5 syntax in user input is inert text, not a query operator.
    assert _ids(ada, text='parcel" OR "hello') == []
    assert _ids(ada, text="NEAR(parcel hello)") == []
    # Edits and deletions keep the index in sync (triggers on SQLite; the expression index on PG).
    message = Message.objects.get(text="Hello there")
    message.text = "Hello, my parcel arrived"
    message.save()
    assert len(_ids(ada, text="parcel")) == 3
    message.delete()
    assert len(_ids(ada, text="parcel")) == 2


def test_search_uses_the_index(campaign, ada):
    make_recording(campaign, "1", texts=["parcel"])
    sql, _params = recording_list(user=ada, filters=RecordingFilters(text="parcel")).query.sql_with_params()
    if connection.vendor == "postgresql":
        assert "to_tsvector('simple', text) @@ plainto_tsquery('simple'" in sql
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'recordings_message_text_fts'")
            assert "gin" in cursor.fetchone()[0].lower()
    else:
        assert "recordings_message_fts MATCH" in sql


def test_generated_traffic_search_finds_the_rare_word(campaign, ada, alice, bob):
    traffic = build_traffic(campaign=campaign, agents=[alice, bob], day=AT.date(), conversations=300)
    assert traffic.rare_conversation_ids
    assert set(_ids(ada, text=RARE_WORD)) == set(traffic.rare_conversation_ids)


def test_list_page_roles_and_escaping(client_for, campaign, ada, sam, alice, bob):
    make_recording(
        campaign,
        "1",
        first="<script>alert(1)</script>",
        agent=alice,
        texts=["<script>alert(2)</script> parcel"],
    )
    for user in (ada, sam, alice):
        response = client_for(user).get(reverse("recordings:list"))
        assert response.status_code == 200
    html = client_for(ada).get(reverse("recordings:list"), {"q": "parcel"}).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert client_for(bob).get(reverse("recordings:list")).content.decode().count("alert(1)") == 0
    bad = client_for(ada).get(
        reverse("recordings:list"), {"date_from": "2026-03-05", "date_to": "2026-03-01"}
    )
    assert bad.status_code == 422


def test_transcript_shows_everything_and_is_permission_checked(
    client_for, campaign, beta, ada, sam, alice, bob, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    solved = Disposition.objects.create(campaign=campaign, name="Solved")
    conversation = make_recording(
        campaign,
        "1",
        first="<b>Carla</b>",
        agent=alice,
        texts=["<script>alert('x')</script>"],
        assigned_at=AT + dt.timedelta(seconds=30),
        closed_at=AT + dt.timedelta(minutes=5),
        disposition=solved,
    )
    reply = make_message(
        conversation,
        "On its way",
        sender=SenderType.AGENT,
        author=alice,
        status=MessageStatus.READ,
        at=AT + dt.timedelta(seconds=40),
    )
    make_message(
        conversation,
        "from the page",
        sender=SenderType.PAGE_ECHO,
        status=MessageStatus.DELIVERED,
        at=AT + dt.timedelta(seconds=50),
    )
    image = Attachment.objects.create(
        message=reply, type="image", filename="photo.png", content_type="image/png"
    )
    image.file.save("photo.png", ContentFile(b"\x89PNG fake"))
    doc = Attachment.objects.create(
        message=reply, type="file", filename="<script>x</script>.pdf", content_type="application/pdf"
    )
    doc.file.save("doc.pdf", ContentFile(b"%PDF-1.4"))
    svg = Attachment.objects.create(
        message=reply, type="image", filename="evil.svg", content_type="image/svg+xml"
    )
    svg.file.save("evil.svg", ContentFile(b"<svg onload=alert(1)>"))
    for kind, data in [
        ("queued", {}),
        ("assigned", {"agent_id": alice.pk}),
        ("transferred", {"from_agent_id": alice.pk, "to_agent_id": bob.pk, "note": "<i>vip</i>"}),
        ("closed", {"disposition_id": solved.pk}),
    ]:
        ConversationEvent.objects.create(conversation=conversation, kind=kind, at=AT, data=data, actor=alice)

    response = client_for(sam).get(reverse("recordings:transcript", args=[conversation.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "&lt;b&gt;Carla&lt;/b&gt;" in html and "&lt;i&gt;vip&lt;/i&gt;" in html
    assert "Sent from Facebook" in html and "Read" in html and "Delivered" in html
    assert "Transferred from Alice to Bob" in html and "Solved" in html
    assert f"/recordings/attachments/{image.pk}/?inline=1" in html
    assert "&lt;script&gt;x&lt;/script&gt;.pdf" in html
    assert "0:30" in html and "4:30" in html  # wait and handle durations

    # Attachments: image inline only when asked, other types always as a download, SVG never inline.
    inline = client_for(sam).get(reverse("recordings:attachment", args=[image.pk]), {"inline": "1"})
    assert inline.status_code == 200 and inline["Content-Type"] == "image/png"
    assert inline["Content-Disposition"].startswith("inline")
    assert b"".join(inline.streaming_content) == b"\x89PNG fake"
    pdf = client_for(sam).get(reverse("recordings:attachment", args=[doc.pk]), {"inline": "1"})
    assert (
        pdf["Content-Disposition"].startswith("attachment") and "<script>" not in pdf["Content-Disposition"]
    )
    evil = client_for(sam).get(reverse("recordings:attachment", args=[svg.pk]), {"inline": "1"})
    assert evil["Content-Disposition"].startswith("attachment")
    assert evil["X-Content-Type-Options"] == "nosniff"

    # Role rules: alice (her conversation) yes; bob wrote nothing in it: no; another campaign's supervisor: no.
    assert client_for(alice).get(reverse("recordings:transcript", args=[conversation.pk])).status_code == 200
    assert client_for(bob).get(reverse("recordings:transcript", args=[conversation.pk])).status_code == 403
    assert client_for(bob).get(reverse("recordings:attachment", args=[image.pk])).status_code == 403
    other_sup = make_user("sue", "supervisor")
    campaign_set_supervisors(campaign=beta, supervisor_ids=[other_sup.pk])
    assert (
        client_for(other_sup).get(reverse("recordings:transcript", args=[conversation.pk])).status_code == 403
    )
    assert client_for(sam).get(reverse("recordings:transcript", args=[999999])).status_code == 404

    # Transcript download.
    download = client_for(sam).get(reverse("recordings:transcript_download", args=[conversation.pk]))
    assert download["Content-Disposition"] == f'attachment; filename="conversation-{conversation.pk}.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert rows[0] == ["time", "time_utc", "sender_type", "sender", "text", "attachments", "status"]
    assert rows[1][3] == "<b>Carla</b> Mendes" and rows[2][3] == "Alice"


def test_open_transcript_is_live(client_for, campaign, sam, alice):
    conversation = make_recording(campaign, "1", state=ConversationState.ASSIGNED, agent=alice, texts=["hi"])
    html = client_for(sam).get(reverse("recordings:transcript", args=[conversation.pk])).content.decode()
    assert 'data-refresh-on="message.created' in html
    closed = make_recording(campaign, "2", texts=["bye"])
    assert (
        "data-refresh-on"
        not in client_for(sam).get(reverse("recordings:transcript", args=[closed.pk])).content.decode()
    )


def test_csv_export_filters_and_neutralises_formulas(client_for, campaign, ada, alice):
    make_recording(campaign, "1", first='=HYPERLINK("http://evil")', agent=alice, texts=["refund"])
    make_recording(campaign, "2", first="Diego", texts=["hello"])
    response = client_for(ada).get(reverse("recordings:export"), {"q": "refund", "download_token": "abc123"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert response.cookies["pd_export"].value == "abc123"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 2
    assert rows[1][4].startswith("'=HYPERLINK")


@pytest.mark.slow
def test_csv_export_streams_100k_rows_in_bounded_memory(client_for, campaign, ada):
    contacts = Contact.objects.bulk_create(Contact(page_id="p", psid=f"x{i}") for i in range(100_000))
    Conversation.objects.bulk_create(
        (
            Conversation(
                campaign=campaign, contact=c, state=ConversationState.CLOSED, created_at=AT, queued_at=AT
            )
            for c in contacts
        ),
        batch_size=5000,
    )
    response = client_for(ada).get(reverse("recordings:export"))
    tracemalloc.start()
    rows = 0
    peak_chunk = 0
    for chunk in response.streaming_content:
        rows += chunk.count(b"\n")
        peak_chunk = max(peak_chunk, len(chunk))
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert rows == 100_001  # header + every row
    # The whole CSV is ~12 MB; streaming keeps the peak to a few chunks' worth.
    assert peak < 8 * 1024 * 1024, peak
    assert peak_chunk < 200_000


# --- Search plans and paging at scale --------------------------------------------------------------


@pytest.fixture(params=["index", "walk"])
def plan(request, monkeypatch):
    """A rare word is searched through the full-text index's matches, a common one by walking
    conversations newest first (selectors.COMMON_TERM_SHARE), on both engines; both plans must find
    exactly the same conversations. Forcing the share makes one plan run for every word."""
    from pagedesk.recordings import selectors

    monkeypatch.setattr(selectors, "COMMON_TERM_SHARE", 2.0 if request.param == "index" else 0.0)
    return request.param


def test_both_search_plans_find_the_same_conversations(plan, campaign, beta, ada, sam, alice, bob):
    a = make_recording(campaign, "1", agent=alice, texts=["Where is my parcel?", "It was due on Tuesday"])
    b = make_recording(
        campaign, "2", agent=bob, at=AT + dt.timedelta(hours=1), texts=["I want a REFUND for the parcel"]
    )
    c = make_recording(beta, "3", agent=bob, at=AT + dt.timedelta(hours=2), texts=["parcel lost"])
    make_recording(campaign, "4", texts=["Hello there"])
    assert _ids(ada, text="parcel") == [c.pk, b.pk, a.pk]  # newest first
    assert _ids(ada, text="refund parcel") == [b.pk]
    assert _ids(ada, text="tuesday parcel") == []
    assert _ids(ada, text="parce") == []
    assert _ids(ada, text="nothing-like-this") == []
    # Access rules and filters hold on either plan.
    assert _ids(sam, text="parcel") == [b.pk, a.pk]
    assert _ids(alice, text="parcel") == [a.pk]
    assert _ids(ada, text="parcel", campaign_id=beta.pk) == [c.pk]
    assert _ids(ada, text="parcel", agent_id=bob.pk) == [c.pk, b.pk]
    # An edited message is found by its new words (the stored vector follows the text on PostgreSQL).
    message = Message.objects.get(text="Hello there")
    message.text = "Hello, my parcel arrived"
    message.save()
    assert len(_ids(ada, text="parcel")) == 4
    assert _ids(ada, text="hello") == [message.conversation_id]


def test_pages_follow_the_list_order_on_both_plans(plan, campaign, ada):
    from pagedesk.recordings.selectors import recording_page

    for index in range(7):
        make_recording(campaign, str(index), at=AT + dt.timedelta(minutes=index % 3), texts=["parcel"])
    make_recording(campaign, "x", texts=["other"])
    conversations = recording_list(user=ada, filters=RecordingFilters(text="parcel"))
    pages = [recording_page(conversations=conversations, number=n, per_page=3) for n in (1, 2, 3)]
    assert [p.total for p in pages] == [7, 7, 7] and not any(p.total_capped for p in pages)
    assert [c.pk for p in pages for c in p.items] == list(conversations.values_list("pk", flat=True))
    assert [p.has_next for p in pages] == [True, True, False]
    # Past the end (an edited URL): the last page.
    beyond = recording_page(conversations=conversations, number=9, per_page=3)
    assert beyond.number == 3 and [c.pk for c in beyond.items] == [c.pk for c in pages[2].items]
    empty = recording_page(
        conversations=recording_list(user=ada, filters=RecordingFilters(text="absent")), number=2
    )
    assert (empty.total, empty.number, empty.items, empty.total_capped) == (0, 1, [], False)


def test_count_is_capped_and_the_page_still_newest_first(plan, monkeypatch, client_for, campaign, ada):
    from pagedesk.recordings import selectors

    monkeypatch.setattr(selectors, "COUNT_CAP", 4)
    made = [
        make_recording(campaign, str(i), at=AT + dt.timedelta(minutes=i), texts=["parcel"]) for i in range(6)
    ]
    newest_first = [c.pk for c in reversed(made)]
    conversations = recording_list(user=ada, filters=RecordingFilters(text="parcel"))
    first = selectors.recording_page(conversations=conversations, number=1, per_page=2)
    assert (first.total, first.total_capped) == (4, True)
    assert [c.pk for c in first.items] == newest_first[:2]
    second = selectors.recording_page(conversations=conversations, number=2, per_page=2)
    assert [c.pk for c in second.items] == newest_first[2:4]

    html = client_for(ada).get(reverse("recordings:list"), {"q": "parcel"}).content.decode()
    assert "More than 4 conversations; narrow the filters to count them." in html
    assert "Exporting more than 4 conversations" in html
    monkeypatch.setattr(selectors, "COUNT_CAP", 10)
    html = client_for(ada).get(reverse("recordings:list"), {"q": "parcel"}).content.decode()
    assert "6 conversations" in html and "More than" not in html


def test_capped_count_is_shown_with_thousands_separators(rf, ada):
    from django.template.loader import render_to_string

    from pagedesk.recordings.selectors import COUNT_CAP, RecordingPage

    request = rf.get("/recordings/", {"q": "order"})
    request.user = ada
    page = RecordingPage(items=[], number=2, per_page=50, total=COUNT_CAP, total_capped=True)
    html = render_to_string("recordings/list.html", {"page": page, "query": "q=order"}, request=request)
    assert "More than 10,000 conversations; narrow the filters to count them." in html
    assert "Page 2" in html and "Page 2 of" not in html  # no last page to name
    assert 'rel="next"' in html and 'rel="prev"' in html


def test_the_plan_follows_the_word_share(campaign, ada, alice, bob):
    from django.db.models import Exists

    from pagedesk.recordings.selectors import text_match_condition

    build_traffic(campaign=campaign, agents=[alice, bob], day=AT.date(), conversations=300)
    if connection.vendor == "postgresql":  # the planner's statistics; SQLite counts from FTS5's vocabulary
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE conversations_message")
    # "order" is in about a quarter of the generated messages, the rare word in about 1 %.
    assert isinstance(text_match_condition("order"), Exists)
    assert not isinstance(text_match_condition(RARE_WORD), Exists)
    assert not isinstance(text_match_condition("nothing-like-this"), Exists)
    assert isinstance(text_match_condition("ORDER"), Exists)  # the vocabulary is lower case


def test_a_search_with_no_word_in_it_is_refused_not_everything(client_for, campaign, ada):
    """`?q=%` searched no word at all and listed every conversation."""
    make_recording(campaign, "1", texts=["Where is my parcel?"])
    client = client_for(ada)
    for text in ("%", "%%%", "--", "?!"):
        page = client.get(reverse("recordings:list"), {"q": text})
        html = page.content.decode()
        assert "Search words are made of letters or digits" in html, text
        assert "recordings-table" not in html, text
    assert 'id="recordings-table"' in client.get(reverse("recordings:list"), {"q": "parcel"}).content.decode()
