"""What happens in the simulated Messenger: customers write, the page answers, receipts flow back.

The chat page, the control endpoints and the Graph handlers all act through `World`, so a message typed
in the browser and one injected by a test produce exactly the same webhooks.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any
from urllib.parse import quote

from pagedesk.simulator.store import PAGE_INBOX_APP_ID, Store
from pagedesk.simulator.webhooks import Event, WebhookDispatcher

REACTIONS = {
    "smile": "\U0001f606",
    "angry": "\U0001f620",
    "sad": "\U0001f622",
    "wow": "\U0001f62e",
    "love": "\u2764\ufe0f",
    "like": "\U0001f44d",
    "dislike": "\U0001f44e",
}
TYPING_SECONDS = 20  # Messenger hides the typing bubble after ~20 s without typing_off


class NotFound(LookupError):
    pass


def attachment_type_for(content_type: str) -> str:
    major = content_type.split("/")[0]
    return major if major in ("image", "video", "audio") else "file"


class World:
    def __init__(self, store: Store, dispatcher: WebhookDispatcher) -> None:
        self.store = store
        self.dispatcher = dispatcher

    # -- lookups -----------------------------------------------------------------------------------

    def customer(self, psid: str) -> dict[str, Any]:
        customer = self.store.state["customers"].get(psid)
        if customer is None:
            raise NotFound(f"no customer with PSID {psid}")
        return customer

    def page(self, page_id: str) -> dict[str, Any]:
        page = self.store.state["pages"].get(page_id)
        if page is None:
            raise NotFound(f"no page with id {page_id}")
        return page

    def public_url(self, fallback: str) -> str:
        return str(self.store.config["public_url"] or fallback).rstrip("/")

    def profile_pic_url(self, psid: str, base_url: str) -> str:
        return f"{self.public_url(base_url)}/cdn/profile/{psid}.svg"

    def customer_public(self, customer: dict[str, Any], base_url: str) -> dict[str, Any]:
        return {
            "id": customer["id"],
            "page_id": customer["page_id"],
            "first_name": customer["first_name"],
            "last_name": customer["last_name"],
            "profile_pic": self.profile_pic_url(customer["id"], base_url),
            "last_message_at": customer["last_message_at"],
        }

    def conversation(self, *, page_id: str | None = None, psid: str | None = None) -> list[dict[str, Any]]:
        with self.store.lock:
            return [
                dict(m)
                for m in self.store.state["messages"]
                if (page_id is None or m["page_id"] == page_id) and (psid is None or m["psid"] == psid)
            ]

    # -- expiring CDN URLs (Facebook's lookaside URLs carry oe=<hex expiry>&oh=<hash>) ---------------

    def file_url(self, file_id: str, base_url: str, *, ttl: int | None = None) -> str:
        with self.store.lock:
            record = self.store.state["files"][file_id]
            ttl = int(self.store.config["attachment_url_ttl_seconds"]) if ttl is None else ttl
        expires = format(int(self.store.now()) + ttl, "x")
        name = quote(record["filename"])
        return f"{self.public_url(base_url)}/cdn/{file_id}/{name}?oe={expires}&oh={self._url_hash(file_id, expires)}"

    def _url_hash(self, file_id: str, expires: str) -> str:
        key = self.store.config["app_secret"].encode()
        return hmac.new(key, f"{file_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def check_file_url(self, file_id: str, expires: str, url_hash: str) -> str | None:
        """None when the URL is good, else the reason for a 403 (Facebook answers 403 once expired)."""
        if not hmac.compare_digest(self._url_hash(file_id, expires), url_hash):
            return "Bad URL hash"
        try:
            expiry = int(expires, 16)
        except ValueError:
            return "Bad URL timestamp"
        if expiry < self.store.now():
            return "URL signature expired"
        return None

    # -- customers -----------------------------------------------------------------------------------

    def customer_create(
        self, *, page_id: str, first_name: str, last_name: str = "", psid: str | None = None
    ) -> dict[str, Any]:
        with self.store.lock:
            self.page(page_id)
            if psid is None:
                psid = f"{7100000000000000 + self.store.next_counter('psid')}"
            if psid in self.store.state["customers"]:
                raise ValueError(f"PSID {psid} exists")
            customer = {
                "id": psid,
                "page_id": page_id,
                "first_name": first_name,
                "last_name": last_name,
                "last_message_at": None,
                "seen_watermark": 0,
                "read_watermark": 0,
                "typing_until": 0,
            }
            self.store.state["customers"][psid] = customer
            self.store.save()
            return customer

    def _from_customer(self, customer: dict[str, Any], timestamp: int) -> dict[str, Any]:
        return {
            "sender": {"id": customer["id"]},
            "recipient": {"id": customer["page_id"]},
            "timestamp": timestamp,
        }

    def customer_message(
        self,
        *,
        psid: str,
        base_url: str,
        text: str | None = None,
        files: list[tuple[str, str, bytes]] | None = None,
        attachments: list[dict[str, Any]] | None = None,
        quick_reply_payload: str | None = None,
        reply_to: str | None = None,
        sticker_id: int | None = None,
    ) -> dict[str, Any]:
        """The customer sends a message; returns it with the webhook notes."""
        with self.store.lock:
            customer = self.customer(psid)
            now = self.store.now_ms()
            mid = self.store.new_mid()
            body: dict[str, Any] = {"mid": mid}
            if text:
                body["text"] = text
            built: list[dict[str, Any]] = [dict(a) for a in attachments or []]
            for filename, content_type, content in files or []:
                file_id = self.store.store_file(content=content, filename=filename, content_type=content_type)
                built.append(
                    {
                        "type": attachment_type_for(content_type),
                        "payload": {"url": self.file_url(file_id, base_url)},
                    }
                )
            if sticker_id is not None:
                # Stickers arrive as an image attachment whose payload carries the sticker id too.
                body["sticker_id"] = sticker_id
                built.append(
                    {
                        "type": "image",
                        "payload": {
                            "url": f"{self.public_url(base_url)}/cdn/sticker/{sticker_id}.svg",
                            "sticker_id": sticker_id,
                        },
                    }
                )
            if built:
                body["attachments"] = built
            if quick_reply_payload is not None:
                body["quick_reply"] = {"payload": quick_reply_payload}
            if reply_to:
                body["reply_to"] = {"mid": reply_to}
            if len(body) == 1:
                raise ValueError("a message needs text, attachments or a sticker")
            customer["last_message_at"] = now
            record = {
                "mid": mid,
                "page_id": customer["page_id"],
                "psid": psid,
                "direction": "in",
                "kind": "message",
                "timestamp": now,
                "text": text,
                "attachments": built,
                "delivered": False,
                "reply_to": reply_to,
                "quick_reply": quick_reply_payload,
                "sticker_id": sticker_id,
            }
            self.store.state["messages"].append(record)
            self.store.save()
            messaging = {**self._from_customer(customer, now), "message": body}
            channel = self.channel_for(customer["page_id"], psid)
        notes = self.dispatcher.enqueue(
            [Event(customer["page_id"], "message", messaging, acked_mid=mid, channel=channel)]
        )
        return {"message": record, "webhooks": notes}

    def customer_postback(self, *, psid: str, title: str, payload: str) -> dict[str, Any]:
        with self.store.lock:
            customer = self.customer(psid)
            now = self.store.now_ms()
            mid = self.store.new_mid()
            customer["last_message_at"] = now  # a postback opens the 24 h window, like a message
            record = {
                "mid": mid,
                "page_id": customer["page_id"],
                "psid": psid,
                "direction": "in",
                "kind": "postback",
                "timestamp": now,
                "text": title,
                "attachments": [],
                "payload": payload,
                "delivered": False,
            }
            self.store.state["messages"].append(record)
            self.store.save()
            messaging = {
                **self._from_customer(customer, now),
                "postback": {"title": title, "payload": payload, "mid": mid},
            }
            channel = self.channel_for(customer["page_id"], psid)
        notes = self.dispatcher.enqueue(
            [Event(customer["page_id"], "postback", messaging, acked_mid=mid, channel=channel)]
        )
        return {"message": record, "webhooks": notes}

    def customer_reaction(
        self, *, psid: str, mid: str, reaction: str, action: str, emoji: str | None
    ) -> dict[str, Any]:
        if action not in ("react", "unreact"):
            raise ValueError("action must be react or unreact")
        with self.store.lock:
            customer = self.customer(psid)
            now = self.store.now_ms()
            for message in self.store.state["messages"]:
                if message["mid"] == mid:
                    message["reaction"] = (
                        None if action == "unreact" else (emoji or REACTIONS.get(reaction, ""))
                    )
            self.store.save()
            body = {
                "reaction": reaction,
                "emoji": emoji or REACTIONS.get(reaction, ""),
                "action": action,
                "mid": mid,
            }
            messaging = {**self._from_customer(customer, now), "reaction": body}
            channel = self.channel_for(customer["page_id"], psid)
        return {
            "webhooks": self.dispatcher.enqueue(
                [Event(customer["page_id"], "reaction", messaging, channel=channel)]
            )
        }

    def customer_edit(self, *, psid: str, mid: str, text: str) -> dict[str, Any]:
        with self.store.lock:
            customer = self.customer(psid)
            now = self.store.now_ms()
            num_edit = 0
            for message in self.store.state["messages"]:
                if message["mid"] == mid and message["psid"] == psid and message["direction"] == "in":
                    message["text"] = text
                    message["num_edit"] = num_edit = int(message.get("num_edit", 0)) + 1
            if num_edit == 0:
                raise NotFound(f"no message {mid} from this customer")
            self.store.save()
            messaging = {
                **self._from_customer(customer, now),
                "message_edit": {"mid": mid, "text": text, "num_edit": num_edit},
            }
            channel = self.channel_for(customer["page_id"], psid)
        return {
            "webhooks": self.dispatcher.enqueue(
                [Event(customer["page_id"], "message_edit", messaging, channel=channel)]
            )
        }

    def customer_read(self, *, psid: str, watermark: int | None = None) -> dict[str, Any]:
        """The customer saw the conversation: a `read` webhook up to the newest page message."""
        with self.store.lock:
            customer = self.customer(psid)
            outbound = [
                m["timestamp"]
                for m in self.store.state["messages"]
                if m["psid"] == psid and m["direction"] == "out"
            ]
            if watermark is None:
                watermark = max(outbound, default=0)
            if not watermark or watermark <= customer["read_watermark"]:
                return {"webhooks": [], "watermark": customer["read_watermark"]}
            customer["read_watermark"] = watermark
            self.store.save()
            messaging = {
                **self._from_customer(customer, self.store.now_ms()),
                "read": {"watermark": watermark},
            }
            channel = self.channel_for(customer["page_id"], psid)
        return {
            "webhooks": self.dispatcher.enqueue(
                [Event(customer["page_id"], "read", messaging, channel=channel)]
            ),
            "watermark": watermark,
        }

    def customer_delivery(self, *, psid: str, mids: list[str] | None = None) -> dict[str, Any]:
        with self.store.lock:
            customer = self.customer(psid)
            outbound = [
                m for m in self.store.state["messages"] if m["psid"] == psid and m["direction"] == "out"
            ]
            chosen = [m for m in outbound if mids is None or m["mid"] in mids]
            if not chosen:
                return {"webhooks": []}
            body = {"mids": [m["mid"] for m in chosen], "watermark": max(m["timestamp"] for m in chosen)}
            # Delivery events carry no top-level timestamp in Facebook's reference example.
            messaging = {"sender": {"id": psid}, "recipient": {"id": customer["page_id"]}, "delivery": body}
            channel = self.channel_for(customer["page_id"], psid)
        return {
            "webhooks": self.dispatcher.enqueue(
                [Event(customer["page_id"], "delivery", messaging, channel=channel)]
            )
        }

    # -- the page answers ----------------------------------------------------------------------------

    def page_message(
        self,
        *,
        page_id: str,
        psid: str,
        text: str | None,
        attachments: list[dict[str, Any]],
        metadata: str | None,
        messaging_type: str | None,
        tag: str | None,
        app_id: int,
        source: str,
    ) -> dict[str, Any]:
        """Record a message the page sent (Send API or Facebook's Page inbox), then echo + delivery webhooks."""
        with self.store.lock:
            customer = self.customer(psid)
            now = self.store.now_ms()
            mid = self.store.new_mid()
            record = {
                "mid": mid,
                "page_id": page_id,
                "psid": psid,
                "direction": "out",
                "kind": "message",
                "timestamp": now,
                "text": text,
                "attachments": attachments,
                "metadata": metadata,
                "messaging_type": messaging_type,
                "tag": tag,
                "app_id": app_id,
                "source": source,
            }
            self.store.state["messages"].append(record)
            customer["typing_until"] = 0  # a message ends the typing bubble
            self.store.save()
            echo: dict[str, Any] = {"mid": mid, "is_echo": True, "app_id": app_id}
            if metadata is not None:
                echo["metadata"] = metadata
            if text is not None:
                echo["text"] = text
            if attachments:
                echo["attachments"] = attachments
            if str(app_id) == str(self.store.config["app_id"]) and self.thread_owner(page_id, psid) is None:
                # Under Conversation Routing an app that answers an idle thread becomes its owner.
                self._thread_set(page_id, psid, str(app_id))
            channel = self.channel_for(page_id, psid)
            events = [
                Event(
                    page_id,
                    "echo",
                    {"sender": {"id": page_id}, "recipient": {"id": psid}, "timestamp": now, "message": echo},
                    channel=channel,
                ),
                Event(
                    page_id,
                    "delivery",
                    {
                        "sender": {"id": psid},
                        "recipient": {"id": page_id},
                        "delivery": {"mids": [mid], "watermark": now},
                    },
                    channel=channel,
                ),
            ]
        notes = self.dispatcher.enqueue(events)
        return {"message": record, "webhooks": notes}

    def page_inbox_reply(self, *, page_id: str, psid: str, text: str) -> dict[str, Any]:
        """A human answers from Facebook's own Page inbox: an echo with Facebook's app id, no metadata."""
        return self.page_message(
            page_id=page_id,
            psid=psid,
            text=text,
            attachments=[],
            metadata=None,
            messaging_type=None,
            tag=None,
            app_id=PAGE_INBOX_APP_ID,
            source="page_inbox",
        )

    # -- thread control (Conversation Routing, formerly the Handover Protocol) ------------------------
    # https://developers.facebook.com/documentation/business-messaging/messenger-platform/conversation-routing
    # https://developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks/webhook-events/messaging_handovers

    def _thread_key(self, page_id: str, psid: str) -> str:
        return f"{page_id}:{psid}"

    def thread_owner(self, page_id: str, psid: str) -> str | None:
        """The app id that owns the thread, or None while it is idle. Starts as pagedesk's app."""
        with self.store.lock:
            record = self.store.state["threads"].get(self._thread_key(page_id, psid))
            if record is None:
                return str(self.store.config["app_id"])
            owner = record["owner_app_id"]
            return None if owner is None else str(owner)

    def channel_for(self, page_id: str, psid: str) -> str:
        """Where pagedesk's app hears of this thread: `messaging` when it owns it (or nobody does),
        `standby` when another app does."""
        owner = self.thread_owner(page_id, psid)
        return "messaging" if owner in (None, str(self.store.config["app_id"])) else "standby"

    def known_app_ids(self) -> set[str]:
        with self.store.lock:
            config = self.store.config
            return {str(config["app_id"]), *(str(a) for a in config["connected_app_ids"])}

    def _thread_set(self, page_id: str, psid: str, owner: str | None) -> str | None:
        """Set the owner; returns the previous one. Caller holds the store lock."""
        previous = self.thread_owner(page_id, psid)
        self.store.state["threads"][self._thread_key(page_id, psid)] = {
            "owner_app_id": owner,
            "changed_at": self.store.now_ms(),
        }
        self.store.save()
        return previous

    def thread_change(
        self, *, page_id: str, psid: str, new_owner: str, how: str, metadata: str | None = None
    ) -> dict[str, Any]:
        """Hand the thread to `new_owner` (`how`: pass or take) and tell pagedesk's app through its
        `messaging_handovers` webhook (every subscribed app hears of each change). No permission checks:
        Graph's handlers and the control endpoints make them."""
        if how not in ("pass", "take"):
            raise ValueError("how must be pass or take")
        with self.store.lock:
            customer = self.customer(psid)
            if customer["page_id"] != page_id:
                raise ValueError("that customer belongs to another page")
            if new_owner not in self.known_app_ids():
                raise ValueError(f"app {new_owner} is not connected to the page")
            previous = self._thread_set(page_id, psid, new_owner)
            body: dict[str, Any] = {"previous_owner_app_id": previous, "new_owner_app_id": new_owner}
            if metadata is not None:
                body["metadata"] = metadata
            messaging = {
                "sender": {"id": psid},
                "recipient": {"id": page_id},
                "timestamp": self.store.now_ms(),
                f"{how}_thread_control": body,
            }
        notes = self.dispatcher.enqueue([Event(page_id, "handover", messaging)])
        return {"previous_owner_app_id": previous, "new_owner_app_id": new_owner, "webhooks": notes}

    def thread_release(self, *, page_id: str, psid: str) -> str | None:
        """The owner lets go: the thread is idle. Meta sends no webhook for a release."""
        with self.store.lock:
            return self._thread_set(page_id, psid, None)

    def thread_request(self, *, page_id: str, psid: str, app_id: str, metadata: str | None) -> dict[str, Any]:
        """An app asks the owner for the thread. The request webhook goes to the owner only; when that is
        pagedesk's app it gets a `request_thread_control` item (the Page inbox moving a conversation
        back to its Inbox does this)."""
        with self.store.lock:
            owner = self.thread_owner(page_id, psid)
            self.store.state["thread_requests"].append(
                {"page_id": page_id, "psid": psid, "app_id": app_id, "metadata": metadata, "owner": owner}
            )
            self.store.save()
            notes: list[dict[str, Any]] = []
            if owner != str(self.store.config["app_id"]):
                return {"owner": owner, "webhooks": notes}
            body: dict[str, Any] = {"requested_owner_app_id": app_id}
            if metadata is not None:
                body["metadata"] = metadata
            messaging = {
                "sender": {"id": psid},
                "recipient": {"id": page_id},
                "timestamp": self.store.now_ms(),
                "request_thread_control": body,
            }
        notes = self.dispatcher.enqueue([Event(page_id, "handover", messaging)])
        return {"owner": owner, "webhooks": notes}

    def sender_action(self, *, page_id: str, psid: str, action: str) -> None:
        with self.store.lock:
            customer = self.customer(psid)
            now = self.store.now_ms()
            self.store.state["sender_actions"].append(
                {"page_id": page_id, "psid": psid, "action": action, "timestamp": now}
            )
            if action == "typing_on":
                customer["typing_until"] = now + TYPING_SECONDS * 1000
            elif action == "typing_off":
                customer["typing_until"] = 0
            elif action == "mark_seen":
                customer["seen_watermark"] = now
            self.store.save()

    def new_attachment_id(self) -> str:
        return str(
            5_000_000_000_000_000 + self.store.next_counter("attachment") * 1000 + secrets.randbelow(1000)
        )
