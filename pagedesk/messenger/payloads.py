"""Typed parse of Messenger webhook JSON: the only code that knows Meta's field names.

Two steps, both at the edge:
- `webhook_body_parse` turns a POST body into `RawEvent`s (one per `entry[].messaging[]` or
  `entry[].standby[]` item) with the keys ingest stores: page, PSID, kind, dedup key, event time.
- `event_parse` turns one stored item into a typed event the handlers act on.

Shapes follow Meta's webhook reference:
https://developers.facebook.com/docs/messenger-platform/webhooks
https://developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks/webhook-events
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from pagedesk.core.text import SURROGATE, clean_text


class PayloadError(ValueError):
    """The body is not JSON (400), or a stored item lacks what its kind needs (the event fails)."""


class Unstorable(ValueError):
    """An item that is valid JSON but cannot be stored or processed as it is: it is parked."""


# What a signed body may carry and still be stored as sent (issue 13): anything else is parked with its
# reason, alone, so a poisoned event never fails its neighbours.
MAX_DEPTH = 32  # Meta's deepest item (a template attachment) is under 10 levels
MAX_ID_LENGTH = 64  # the page_id and psid columns
# Stored strings are cut here: Messenger's own text limit is far below, and a 10 MB text would be kept
# twice (the raw event and the message) and sent to every agent's page.
MAX_STRING = 20_000
INT64 = 2**63
_ID_OK = re.compile(r"[\x21-\x7e]{1,64}")


def _clean(value: Any, depth: int = 0) -> Any:
    """A copy of a parsed JSON value that every database can store, or Unstorable with the reason."""
    if depth > MAX_DEPTH:
        raise Unstorable(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        return clean_text(value, limit=MAX_STRING)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        if not -INT64 <= value < INT64:
            raise Unstorable("a number is too large to store")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Unstorable("a number is out of range (NaN, Infinity or beyond 1e308)")
        return value
    if isinstance(value, list):
        return [_clean(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {
            clean_text(str(key), limit=MAX_STRING): _clean(item, depth + 1) for key, item in value.items()
        }
    raise Unstorable(f"unexpected value of type {type(value).__name__}")


def _check_id(value: str, what: str) -> None:
    if value and not _ID_OK.fullmatch(value):
        raise Unstorable(
            f"the {what} is not a Facebook id (at most {MAX_ID_LENGTH} visible ASCII characters)"
        )


def _check_identifier(value: str, what: str) -> None:
    # Message ids can be long (they are hashed into the dedup key) but never hold NUL or surrogates.
    if "\x00" in value or SURROGATE.search(value) or any(ord(c) < 32 for c in value):
        raise Unstorable(f"the {what} holds control or invalid characters")


class Kind:
    MESSAGE = "message"
    ECHO = "echo"
    POSTBACK = "postback"
    DELIVERY = "delivery"
    READ = "read"
    REACTION = "reaction"
    EDIT = "message_edit"
    STANDBY = "standby"
    HANDOVER = "handover"
    UNKNOWN = "unknown"


# Kinds a worker turns into conversation state; the others are stored and marked ignored at ingest.
PROCESSED_KINDS = frozenset(
    {
        Kind.MESSAGE,
        Kind.ECHO,
        Kind.POSTBACK,
        Kind.DELIVERY,
        Kind.READ,
        Kind.REACTION,
        Kind.EDIT,
        Kind.STANDBY,
        Kind.HANDOVER,
    }
)
# messaging_handovers items: thread control changed hands, or an app asks for it.
# https://developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks/webhook-events/messaging_handovers
HANDOVER_ACTIONS = ("pass_thread_control", "take_thread_control", "request_thread_control")
# Facebook event types we knowingly do not handle (referrals, opt-ins, app roles, …): stored, ignored.
_UNSUPPORTED_FIELDS = (
    "referral",
    "optin",
    "account_linking",
    "app_roles",
    "policy_enforcement",
    "game_play",
    "messaging_feedback",
    "response_feedback",
)


@dataclass(frozen=True)
class RawEvent:
    page_id: str
    psid: str
    kind: str
    dedup_key: str
    event_time: int
    payload: dict[str, Any]
    standby: bool = False
    # Why an unknown item is ignored, or a parked one parked (empty for every other kind).
    reason: str = ""
    parked: bool = False


def canonical_hash(item: dict[str, Any]) -> str:
    """Stable hash of an item's content, for events that carry no message id (delivery, read, …)."""
    canonical = json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _as_int(value: Any) -> int | None:
    # Timestamps are numbers in the messaging webhooks but strings in the newer field-style examples
    # (messaging_postbacks reference shows "timestamp": "1527459824").
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _party_id(party: Any) -> str:
    if not isinstance(party, dict):
        return ""
    # Chat Plugin guests arrive with `user_ref` instead of a PSID until they log in.
    return _str(party.get("id")) or (
        f"user_ref:{_str(party.get('user_ref'))}" if party.get("user_ref") else ""
    )


def classify(item: dict[str, Any]) -> tuple[str, str]:
    """(kind, reason) for one messaging item; reason is set only for unknown items."""
    message = item.get("message")
    if isinstance(message, dict):
        return (Kind.ECHO if message.get("is_echo") else Kind.MESSAGE), ""
    for key, kind in (
        ("postback", Kind.POSTBACK),
        ("delivery", Kind.DELIVERY),
        ("read", Kind.READ),
        ("reaction", Kind.REACTION),
        ("message_edit", Kind.EDIT),
    ):
        if isinstance(item.get(key), dict):
            return kind, ""
    for key in HANDOVER_ACTIONS:
        if isinstance(item.get(key), dict):
            return Kind.HANDOVER, ""
    for key in _UNSUPPORTED_FIELDS:
        if key in item:
            return Kind.UNKNOWN, f"unsupported event type: {key}"
    keys = ", ".join(sorted(k for k in item if k not in {"sender", "recipient", "timestamp"})) or "none"
    return Kind.UNKNOWN, f"unrecognised event shape (fields: {keys})"[:300]


def _key(prefix: str, value: str) -> str:
    """A dedup key that holds the whole value: hashed when it would not fit the 255-character column,
    so two long message ids that share a beginning stay two events."""
    key = f"{prefix}:{value}"
    if len(key) <= 255:
        return key
    return f"{prefix}-sha256:{hashlib.sha256(value.encode()).hexdigest()}"


def dedup_key(item: dict[str, Any], kind: str) -> str:
    """The key that makes a redelivered event a no-op (unique with the page id).

    A message (or echo) and a postback carry their own mid. A reaction's `mid` is the id of the message
    reacted to, shared with that message's own event and with every later react/unreact on it, and an
    edit's `mid` is the edited message's: both are namespaced, with the action/edit count, so they never
    swallow each other or the original message. Deliveries and reads carry no id: a content hash.
    """
    if kind in (Kind.MESSAGE, Kind.ECHO):
        mid = _str(item["message"].get("mid"))
        if mid:
            return _key("mid", mid)
    elif kind == Kind.POSTBACK:
        mid = _str(item["postback"].get("mid"))
        if mid:
            return _key("mid", mid)
    elif kind == Kind.REACTION:
        reaction = item["reaction"]
        mid = _str(reaction.get("mid"))
        if mid:
            action = _str(reaction.get("action"))
            timestamp = _as_int(item.get("timestamp")) or 0
            return _key("reaction", f"{action}:{_str(reaction.get('reaction'))}:{timestamp}:{mid}")
    elif kind == Kind.EDIT:
        edit = item["message_edit"]
        mid = _str(edit.get("mid"))
        if mid:
            return _key("edit", f"{_as_int(edit.get('num_edit')) or 0}:{mid}")
    return f"sha256:{canonical_hash(item)}"


def _event_time(item: dict[str, Any], entry_time: int | None) -> int:
    # message_deliveries items may come without a timestamp (Meta's own example has none); the
    # watermark is the best ordering key then.
    timestamp = _as_int(item.get("timestamp"))
    if timestamp is None and isinstance(item.get("delivery"), dict):
        timestamp = _as_int(item["delivery"].get("watermark"))
    return timestamp if timestamp is not None else (entry_time or 0)


def _load(raw: bytes) -> Any:
    """The body's JSON, or PayloadError (400) when it is not JSON. NaN and Infinity, which Python reads
    but JSON does not have, count as JSON here so that their event is parked rather than its whole batch
    refused on every redelivery."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(f"The body is not valid JSON: {exc}") from None


def webhook_body_parse(raw: bytes) -> list[RawEvent]:
    """Every messaging and standby item of a verified webhook body.

    Raises PayloadError only when the body is not JSON. Anything else pagedesk cannot use — a body or
    an entry of another shape, an item too deep, an id that is not an id, a number out of range — comes
    back as a parked RawEvent holding the raw JSON and the reason, alone: its neighbours are unaffected.
    """
    try:
        body = _load(raw)
    except RecursionError:
        return [_parked_body(raw, "nested too deeply to read")]
    if not isinstance(body, dict):
        return [_parked_body(raw, "the body is not a JSON object")]
    if body.get("object") != "page":
        return [_parked_body(raw, 'not a Page webhook ("object" is not "page")')]
    entries = body.get("entry")
    if not isinstance(entries, list):
        return [_parked_body(raw, '"entry" is not a list')]
    events: list[RawEvent] = []
    for entry in entries:
        if not isinstance(entry, dict):
            events.append(_parked(entry, reason="an entry is not an object"))
            continue
        page_id = _str(entry.get("id"))
        entry_time = _as_int(entry.get("time"))
        problem = ""
        try:
            if not page_id:
                raise Unstorable("an entry without the page id")
            _check_id(page_id, "page id")
            if entry_time is not None and not 0 <= entry_time < INT64:
                raise Unstorable("the entry time is out of range")
        except Unstorable as exc:
            problem = str(exc)
        for channel in ("messaging", "standby"):
            items = entry.get(channel, [])
            if not isinstance(items, list):
                events.append(_parked(items, reason=f'"{channel}" is not a list', page_id=page_id))
                continue
            for item in items:
                if problem:
                    events.append(_parked(item, reason=problem, channel=channel))
                    continue
                events.append(
                    _raw_event(item, page_id=page_id, entry_time=entry_time, standby=channel == "standby")
                )
    return events


def _raw_event(item: Any, *, page_id: str, entry_time: int | None, standby: bool) -> RawEvent:
    channel = "standby" if standby else "messaging"
    if not isinstance(item, dict):
        return _parked(
            item, reason=f"a {channel} item is not an object", page_id=page_id, entry_time=entry_time
        )
    try:
        kind, reason = classify(item)
        # Echoes are the page's own messages: the customer is the recipient, not the sender.
        psid = _party_id(item.get("recipient") if kind == Kind.ECHO else item.get("sender"))
        if psid == page_id:
            psid = _party_id(item.get("recipient"))
        _check_id(psid, "sender id")
        for mid in _mids(item):
            _check_identifier(mid, "message id")
        for number in _timestamps(item):
            if not 0 <= number < INT64:
                raise Unstorable("a timestamp or watermark is out of range")
        cleaned = _clean(item)
    except (Unstorable, RecursionError) as exc:
        reason = str(exc) if isinstance(exc, Unstorable) else "nested too deeply to read"
        return _parked(item, reason=reason, page_id=page_id, entry_time=entry_time, channel=channel)
    key = dedup_key(cleaned, kind)
    event_time = _event_time(cleaned, entry_time)
    if standby:
        # Another app owns the thread (Conversation Routing): pagedesk gets a copy to record, not to
        # answer; what the copy is (message, echo, receipt) is decided again when it is processed.
        # https://developers.facebook.com/documentation/business-messaging/messenger-platform/conversation-routing
        if not psid:
            return RawEvent(
                page_id, psid, Kind.UNKNOWN, key, event_time, cleaned, True, "standby without a PSID"
            )
        return RawEvent(page_id, psid, Kind.STANDBY, _key("standby", key), event_time, cleaned, True)
    if not psid and kind != Kind.UNKNOWN:
        kind, reason = Kind.UNKNOWN, "event without a sender PSID"
    return RawEvent(page_id, psid, kind, key, event_time, cleaned, False, reason)


def _mids(item: dict[str, Any]) -> list[str]:
    found = []
    for key in ("message", "postback", "reaction", "message_edit"):
        part = item.get(key)
        if isinstance(part, dict) and isinstance(part.get("mid"), str):
            found.append(part["mid"])
    delivery = item.get("delivery")
    if isinstance(delivery, dict) and isinstance(delivery.get("mids"), list):
        found.extend(mid for mid in delivery["mids"] if isinstance(mid, str))
    return found


def _timestamps(item: dict[str, Any]) -> list[int]:
    numbers = [item.get("timestamp")]
    for key in ("delivery", "read"):
        part = item.get(key)
        if isinstance(part, dict):
            numbers.append(part.get("watermark"))
    return [value for value in (_as_int(number) for number in numbers) if value is not None]


# --- parked events ----------------------------------------------------------------------------------------


def _json_text(value: Any) -> str:
    # ASCII only: NUL and lone surrogates stay escapes (\u0000), which every database stores as text.
    try:
        return json.dumps(value, ensure_ascii=True)
    except (RecursionError, ValueError, TypeError):
        return json.dumps(repr(value)[:MAX_STRING])


def _parked(
    item: Any,
    *,
    reason: str,
    page_id: str = "",
    entry_time: int | None = None,
    channel: str = "messaging",
) -> RawEvent:
    """An item kept as received, for an admin to see and replay (`inbound_event_replay`)."""
    text = _json_text(item)
    storable_page = page_id if page_id and _ID_OK.fullmatch(page_id) else ""
    time_ok = entry_time if entry_time is not None and 0 <= entry_time < INT64 else None
    payload = {"raw": text, "page_id": clean_text(page_id[:200]), "entry_time": time_ok, "channel": channel}
    key = f"parked:sha256:{hashlib.sha256(f'{page_id}:{channel}:{text}'.encode()).hexdigest()}"
    return RawEvent(storable_page, "", Kind.UNKNOWN, key, time_ok or 0, payload, False, reason, parked=True)


def _parked_body(raw: bytes, reason: str) -> RawEvent:
    # The body was JSON (json.loads took it, or refused it only for its depth), hence UTF-8 text.
    text = raw.decode("utf-8", errors="replace")
    key = f"parked:sha256:{hashlib.sha256(raw).hexdigest()}"
    return RawEvent("", "", Kind.UNKNOWN, key, 0, {"raw_body": clean_text(text)}, False, reason, parked=True)


def parked_body(payload: dict[str, Any]) -> bytes:
    """The webhook body to parse again for a parked event's payload (replay after a fix)."""
    if "raw_body" in payload:
        return str(payload["raw_body"]).encode()
    entry: dict[str, Any] = {"id": payload.get("page_id") or ""}
    if payload.get("entry_time") is not None:
        entry["time"] = payload["entry_time"]
    entry[payload.get("channel") or "messaging"] = [json.loads(payload["raw"])]
    return json.dumps({"object": "page", "entry": [entry]}).encode()


# --- typed events for the handlers --------------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentIn:
    type: str  # image | video | audio | file | location | sticker | fallback
    url: str = ""
    title: str = ""
    latitude: float | None = None
    longitude: float | None = None
    sticker_id: str = ""


@dataclass(frozen=True)
class CustomerMessage:
    mid: str
    timestamp: int
    text: str = ""
    attachments: tuple[AttachmentIn, ...] = ()
    sticker_id: str = ""
    quick_reply_payload: str = ""
    reply_to_mid: str = ""

    @property
    def kind(self) -> str:
        """What the inbox shows it as; a quick reply wins over plain text, a sticker over its image."""
        if self.quick_reply_payload:
            return "quick_reply"
        if self.sticker_id:
            return "sticker"
        if self.attachments:
            return "attachment"
        return "text"


@dataclass(frozen=True)
class Echo:
    mid: str
    timestamp: int
    text: str = ""
    attachments: tuple[AttachmentIn, ...] = ()
    sticker_id: str = ""
    metadata: str = ""
    app_id: str = ""

    @property
    def kind(self) -> str:
        return "sticker" if self.sticker_id else ("attachment" if self.attachments else "text")


@dataclass(frozen=True)
class Postback:
    mid: str
    timestamp: int
    title: str = ""
    payload: str = ""
    referral: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    watermark: int
    mids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Read:
    watermark: int


@dataclass(frozen=True)
class Reaction:
    mid: str
    action: str  # react | unreact
    reaction: str
    emoji: str
    timestamp: int


@dataclass(frozen=True)
class MessageEdit:
    mid: str
    text: str
    num_edit: int
    timestamp: int


@dataclass(frozen=True)
class Handover:
    """A messaging_handovers item. Owner ids are Facebook app ids as strings ("" when Facebook sent
    null: the thread was idle)."""

    action: str  # pass_thread_control | take_thread_control | request_thread_control
    timestamp: int
    new_owner_app_id: str = ""
    previous_owner_app_id: str = ""
    requested_owner_app_id: str = ""
    metadata: str = ""


@dataclass(frozen=True)
class Unsupported:
    reason: str


@dataclass(frozen=True)
class Standby:
    """A copy Facebook sent because another app owns the thread; `item` is what it holds."""

    item: CustomerMessage | Echo | Postback | Delivery | Read | Reaction | MessageEdit | Unsupported


InboundItem = (
    CustomerMessage
    | Echo
    | Postback
    | Delivery
    | Read
    | Reaction
    | MessageEdit
    | Handover
    | Standby
    | Unsupported
)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _float(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _attachment(raw: Any) -> AttachmentIn | None:
    if not isinstance(raw, dict):
        return None
    kind = _str(raw.get("type"))
    payload = _dict(raw.get("payload"))
    url = _str(payload.get("url"))
    title = _str(payload.get("title")) or _str(raw.get("title"))
    sticker_id = _str(payload.get("sticker_id"))
    if kind == "location":
        # Legacy location shares: {"title", "url", "type": "location", "payload": {"coordinates": {...}}}
        coords = _dict(payload.get("coordinates"))
        return AttachmentIn(
            type="location",
            url=url or _str(raw.get("url")),
            title=title,
            latitude=_float(coords.get("lat")),
            longitude=_float(coords.get("long")),
        )
    if kind == "sticker" or (kind == "image" and sticker_id):
        return AttachmentIn(type="sticker", url=url, sticker_id=sticker_id)
    if kind in ("image", "video", "audio", "file"):
        return AttachmentIn(type=kind, url=url, title=title)
    # fallback (shared links; before webhook v6.0 url/title sat beside the payload, now inside it),
    # and types we do not render (template, reel, ig_reel, post, product, …): keep the link and title.
    return AttachmentIn(type="fallback", url=url or _str(raw.get("url")), title=title or kind)


def _attachments(raw: Any) -> tuple[AttachmentIn, ...]:
    if not isinstance(raw, list):
        return ()
    parsed = [a for a in (_attachment(r) for r in raw) if a is not None]
    # Sticker transition (until 30 Aug 2026): Meta sends each sticker both as a `sticker` and as an
    # `image` attachment with the same sticker_id; keep one.
    stickers: set[str] = set()
    unique: list[AttachmentIn] = []
    for attachment in parsed:
        if attachment.type == "sticker" and attachment.sticker_id:
            if attachment.sticker_id in stickers:
                continue
            stickers.add(attachment.sticker_id)
        unique.append(attachment)
    return tuple(unique)


def _required(container: dict[str, Any], key: str, what: str) -> str:
    value = _str(container.get(key))
    if not value:
        raise PayloadError(f"{what} without {key}")
    return value


def event_parse(item: dict[str, Any], *, kind: str) -> InboundItem:
    """The typed event for one stored item. Raises PayloadError when a known kind lacks its ids."""
    timestamp = _as_int(item.get("timestamp")) or 0
    if kind == Kind.STANDBY:
        inner_kind, _reason = classify(item)
        if inner_kind in (Kind.STANDBY, Kind.HANDOVER):
            return Standby(item=Unsupported(reason=f"standby: {inner_kind} is not expected here"))
        inner = event_parse(item, kind=inner_kind)
        assert not isinstance(inner, Standby | Handover)
        return Standby(item=inner)
    if kind == Kind.HANDOVER:
        action = next(key for key in HANDOVER_ACTIONS if isinstance(item.get(key), dict))
        body = item[action]
        if action != "request_thread_control" and not _str(body.get("new_owner_app_id")):
            raise PayloadError(f"{action} without new_owner_app_id")
        return Handover(
            action=action,
            timestamp=timestamp,
            new_owner_app_id=_str(body.get("new_owner_app_id")),
            previous_owner_app_id=_str(body.get("previous_owner_app_id")),
            requested_owner_app_id=_str(body.get("requested_owner_app_id")),
            metadata=_str(body.get("metadata")),
        )
    if kind in (Kind.MESSAGE, Kind.ECHO):
        message = item["message"]
        mid = _required(message, "mid", "message")
        attachments = _attachments(message.get("attachments"))
        sticker_id = _str(message.get("sticker_id")) or next(
            (a.sticker_id for a in attachments if a.type == "sticker" and a.sticker_id), ""
        )
        if kind == Kind.ECHO:
            return Echo(
                mid=mid,
                timestamp=timestamp,
                text=_str(message.get("text")),
                attachments=attachments,
                sticker_id=sticker_id,
                metadata=_str(message.get("metadata")),
                app_id=_str(message.get("app_id")),
            )
        quick_reply = _dict(message.get("quick_reply"))
        reply_to = _dict(message.get("reply_to"))
        return CustomerMessage(
            mid=mid,
            timestamp=timestamp,
            text=_str(message.get("text")),
            attachments=attachments,
            sticker_id=sticker_id,
            quick_reply_payload=_str(quick_reply.get("payload")),
            reply_to_mid=_str(reply_to.get("mid")),
        )
    if kind == Kind.POSTBACK:
        postback = item["postback"]
        referral = _dict(postback.get("referral"))
        return Postback(
            # Older postbacks had no mid; the event's dedup key still makes it unique.
            mid=_str(postback.get("mid")),
            timestamp=timestamp,
            title=_str(postback.get("title")),
            payload=_str(postback.get("payload")),
            referral=referral,
        )
    if kind == Kind.DELIVERY:
        delivery = item["delivery"]
        watermark = _as_int(delivery.get("watermark"))
        if watermark is None:
            raise PayloadError("delivery without watermark")
        mids = delivery.get("mids") if isinstance(delivery.get("mids"), list) else []
        return Delivery(watermark=watermark, mids=tuple(_str(m) for m in mids if _str(m)))
    if kind == Kind.READ:
        watermark = _as_int(item["read"].get("watermark"))
        if watermark is None:
            raise PayloadError("read without watermark")
        return Read(watermark=watermark)
    if kind == Kind.REACTION:
        reaction = item["reaction"]
        action = _str(reaction.get("action")) or "react"
        if action not in ("react", "unreact"):
            raise PayloadError(f"reaction with unknown action {action!r}")
        return Reaction(
            mid=_required(reaction, "mid", "reaction"),
            action=action,
            reaction=_str(reaction.get("reaction")),
            emoji=_str(reaction.get("emoji")),
            timestamp=timestamp,
        )
    if kind == Kind.EDIT:
        edit = item["message_edit"]
        return MessageEdit(
            mid=_required(edit, "mid", "message_edit"),
            text=_str(edit.get("text")),
            num_edit=_as_int(edit.get("num_edit")) or 0,
            timestamp=timestamp,
        )
    return Unsupported(reason=classify(item)[1] or f"not processed: {kind}")
