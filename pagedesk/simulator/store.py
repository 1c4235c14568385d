"""The simulator's world: Facebook users, pages, customers, tokens, messages — in memory, saved as JSON.

Everything lives in one plain dict so it serialises as is. All reads and writes go through `Store.lock`
(a re-entrant lock: uvicorn's event loop and the test threads may touch it at once) and every mutating
method saves the file before returning, so `make demo` restarts keep activated pages and their tokens.
"""

from __future__ import annotations

import atexit
import copy
import json
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any

DEFAULT_APP_ID = "4242424242424242"
DEFAULT_APP_SECRET = "simulator-app-secret"
DEFAULT_VERIFY_TOKEN = "simulator-verify-token"
# Facebook's own Page inbox (business.facebook.com / the Pages app) as the app_id of echoes of replies
# typed there — pagedesk must tell them apart from its own sends.
PAGE_INBOX_APP_ID = 263902037430900

ADMIN_TASKS = ["MANAGE", "CREATE_CONTENT", "MODERATE", "MESSAGING", "ADVERTISE", "ANALYZE"]
EDITOR_TASKS = ["CREATE_CONTENT", "MODERATE", "MESSAGING", "ADVERTISE", "ANALYZE"]

ACME_PAGE_ID = "1000000000000001"
GLOBEX_PAGE_ID = "1000000000000002"
INITECH_PAGE_ID = "1000000000000003"
DEMO_ADMIN_ID = "100000000000101"
EDITOR_USER_ID = "100000000000102"
# Deterministic seed page token for Acme Support, so `pagedesk demo` can pre-activate its campaign
# against a fresh simulator without running the OAuth dialog. Never valid against real Facebook.
ACME_SEED_PAGE_TOKEN = "EAASIMacmeSupportSeedPageToken0000000000000001"
DEFAULT_SUBSCRIBED_FIELDS = [
    "messages",
    "messaging_postbacks",
    "message_deliveries",
    "message_reads",
    "message_echoes",
]
ALL_PERMISSIONS = ["pages_messaging", "pages_show_list", "pages_manage_metadata", "pages_read_engagement"]

SHORT_LIVED_SECONDS = 2 * 3600
LONG_LIVED_SECONDS = 60 * 24 * 3600
CODE_TTL_SECONDS = 600
SAVE_DELAY = 0.25


def _default_config() -> dict[str, Any]:
    return {
        "app_id": DEFAULT_APP_ID,
        "app_secret": DEFAULT_APP_SECRET,
        "app_name": "pagedesk",
        "verify_token": DEFAULT_VERIFY_TOKEN,
        "webhook_url": "http://127.0.0.1:8000/webhooks/messenger",
        "public_url": "",
        "clock_offset_seconds": 0.0,
        # Webhook switches (see docs/simulator.md).
        "duplicates": False,
        "batch_size": 1,
        "batch_mode": "entries",
        "batch_window_ms": 150,
        "out_of_order": False,
        "require_subscription": True,
        # The Meta app setting "Require app secret": every call must carry appsecret_proof.
        "require_appsecret_proof": False,
        # Facebook retries failed deliveries, quickly first and then less often; bounded here.
        "retry_delays": [1.0, 2.0, 5.0, 15.0, 60.0],
        "webhook_timeout_seconds": 10.0,
        "attachment_url_ttl_seconds": 3600,
        # Facebook downloads attachment URLs given to the Send API; off = keep the URL without fetching.
        "fetch_attachment_urls": True,
        # Thread control (Conversation Routing / Handover Protocol): the other apps connected to the
        # pages, which threads may be passed to, and whether pagedesk's app may take a thread another
        # app owns (it is the page's default app / Primary Receiver) — off to see Facebook's refusal.
        "connected_app_ids": [str(PAGE_INBOX_APP_ID)],
        "take_thread_control_allowed": True,
    }


def _seed() -> dict[str, Any]:
    now = int(time.time())
    users = {
        DEMO_ADMIN_ID: {
            "id": DEMO_ADMIN_ID,
            "name": "Demo Admin",
            "roles": {ACME_PAGE_ID: ADMIN_TASKS, GLOBEX_PAGE_ID: ADMIN_TASKS},
        },
        EDITOR_USER_ID: {
            "id": EDITOR_USER_ID,
            "name": "Erin Editor",
            # An editor of Acme Support (no MANAGE task) and admin of another page: activation for Acme
            # must be refused by pagedesk because this user is not an admin of it.
            "roles": {ACME_PAGE_ID: EDITOR_TASKS, INITECH_PAGE_ID: ADMIN_TASKS},
        },
    }
    pages = {
        ACME_PAGE_ID: {"id": ACME_PAGE_ID, "name": "Acme Support", "category": "Product/service"},
        GLOBEX_PAGE_ID: {"id": GLOBEX_PAGE_ID, "name": "Globex Help", "category": "Software Company"},
        INITECH_PAGE_ID: {"id": INITECH_PAGE_ID, "name": "Initech Store", "category": "Shopping & retail"},
    }
    customers = {
        "7000000000000001": ("Carla", "Customer", ACME_PAGE_ID),
        "7000000000000002": ("Peter", "Chang", ACME_PAGE_ID),
        "7000000000000003": ("Hank", "Scorpio", GLOBEX_PAGE_ID),
        "7000000000000004": ("Milton", "Waddams", INITECH_PAGE_ID),
    }
    return {
        "config": _default_config(),
        "users": users,
        "pages": pages,
        "customers": {
            psid: {
                "id": psid,
                "page_id": page_id,
                "first_name": first,
                "last_name": last,
                "last_message_at": None,
                "seen_watermark": 0,
                "read_watermark": 0,
                "typing_until": 0,
            }
            for psid, (first, last, page_id) in customers.items()
        },
        "subscriptions": {ACME_PAGE_ID: list(DEFAULT_SUBSCRIBED_FIELDS)},
        "grants": {
            DEMO_ADMIN_ID: {
                "granted": list(ALL_PERMISSIONS),
                "declined": [],
                "pages": [ACME_PAGE_ID, GLOBEX_PAGE_ID],
            }
        },
        "tokens": {
            ACME_SEED_PAGE_TOKEN: {
                "type": "PAGE",
                "user_id": DEMO_ADMIN_ID,
                "page_id": ACME_PAGE_ID,
                "issued_at": now,
                "expires_at": 0,
                "revoked": False,
                "parent": None,
            }
        },
        "codes": {},
        "dialogs": {},
        "messages": [],
        "sender_actions": [],
        "attachments": {},
        "files": {},
        "error_rules": [],
        # "page_id:psid" -> {"owner_app_id": str | None (idle), "changed_at": ms}; a thread without an
        # entry belongs to pagedesk's app (config app_id), which is how every thread starts.
        "threads": {},
        "thread_requests": [],
        "counters": {"mid": 0, "psid": 100, "attachment": 0, "file": 0, "rule": 0},
    }


class Store:
    """Thread-safe state with JSON persistence. Call methods only while holding nothing else."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self.lock = threading.RLock()
        self.data_dir = data_dir
        self.state: dict[str, Any] = _seed()
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
            (data_dir / "files").mkdir(exist_ok=True)
            if self._path.exists():
                loaded = json.loads(self._path.read_text("utf-8"))
                # Fill keys added by newer simulator versions instead of failing on old files.
                for key, value in _seed().items():
                    loaded.setdefault(key, value)
                loaded["config"] = {**_default_config(), **loaded["config"]}
                self.state = loaded
        # Uploaded bytes for memory-only stores (tests); with a data dir they live in files/.
        self._blobs: dict[str, bytes] = {}
        self._dirty = False
        self._timer: threading.Timer | None = None
        if data_dir is not None:
            atexit.register(self.flush)
            if not self._path.exists():
                # Write the seed at once: tokens handed out before the first change must survive a restart.
                self._dirty = True
                self.flush()

    @property
    def _path(self) -> Path:
        assert self.data_dir is not None
        return self.data_dir / "simulator.json"

    def save(self) -> None:
        """Schedule a write of the state file.

        Writes are coalesced (at most one per SAVE_DELAY) because rewriting the whole file on every message
        would make a busy demo crawl; `flush()` runs at shutdown and at interpreter exit.
        """
        if self.data_dir is None:
            return
        with self.lock:
            self._dirty = True
            if self._timer is None:
                self._timer = threading.Timer(SAVE_DELAY, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        if self.data_dir is None:
            return
        with self.lock:
            self._timer = None
            if not self._dirty:
                return
            self._dirty = False
            tmp = self._path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.state, ensure_ascii=False), "utf-8")
            os.replace(tmp, self._path)  # atomic: a crash never leaves half a file

    def reset(self) -> None:
        with self.lock:
            config = self.state["config"]
            self.state = _seed()
            # Where pagedesk lives and which app it is survive a reset; switches and clock do not.
            for key in ("app_id", "app_secret", "app_name", "verify_token", "webhook_url", "public_url"):
                self.state["config"][key] = config[key]
            self._blobs.clear()
            self.save()

    # -- config and clock -------------------------------------------------------------------------

    @property
    def config(self) -> dict[str, Any]:
        return self.state["config"]

    def update_config(self, changes: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            unknown = set(changes) - set(_default_config())
            if unknown:
                raise KeyError(", ".join(sorted(unknown)))
            self.config.update(changes)
            self.save()
            return copy.deepcopy(self.config)

    def now(self) -> float:
        """Simulated wall clock (seconds); tests shift it to cross the 24 h / 7 day windows."""
        return time.time() + float(self.config["clock_offset_seconds"])

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    # -- ids ---------------------------------------------------------------------------------------

    def next_counter(self, name: str) -> int:
        with self.lock:
            self.state["counters"][name] += 1
            return int(self.state["counters"][name])

    def new_mid(self) -> str:
        # Shape of current Messenger mids: "m_" + opaque url-safe text.
        return f"m_{self.next_counter('mid'):06d}{secrets.token_urlsafe(24)}"

    def new_token(self, kind: str) -> str:
        return f"EAASIM{kind}{secrets.token_urlsafe(48).replace('-', 'A').replace('_', 'B')}"

    # -- tokens ------------------------------------------------------------------------------------

    def issue_token(
        self, *, kind: str, user_id: str, page_id: str | None = None, ttl: int | None, parent: str | None
    ) -> str:
        with self.lock:
            token = self.new_token(kind[0])
            now = int(self.now())
            self.state["tokens"][token] = {
                "type": kind,
                "user_id": user_id,
                "page_id": page_id,
                "issued_at": now,
                "expires_at": now + ttl if ttl else 0,
                "revoked": False,
                "parent": parent,
            }
            self.save()
            return token

    def page_token_for(self, *, user_token: str, page_id: str) -> str:
        """Facebook hands out a stable page token per user token; a revoked one is replaced."""
        with self.lock:
            record = self.state["tokens"][user_token]
            for token, other in self.state["tokens"].items():
                if (
                    other["type"] == "PAGE"
                    and other["parent"] == user_token
                    and other["page_id"] == page_id
                    and not other["revoked"]
                ):
                    return str(token)
            # Page tokens derived from a long-lived user token never expire (expires_at 0).
            ttl = None if record["expires_at"] == 0 or record.get("long_lived") else SHORT_LIVED_SECONDS
            return self.issue_token(
                kind="PAGE", user_id=record["user_id"], page_id=page_id, ttl=ttl, parent=user_token
            )

    def revoke_page_tokens(self, page_id: str) -> int:
        with self.lock:
            count = 0
            for record in self.state["tokens"].values():
                if record["type"] == "PAGE" and record["page_id"] == page_id and not record["revoked"]:
                    record["revoked"] = True
                    count += 1
            self.save()
            return count

    def revoke_token(self, token: str) -> bool:
        with self.lock:
            record = self.state["tokens"].get(token)
            if record is None:
                return False
            record["revoked"] = True
            self.save()
            return True

    # -- files -------------------------------------------------------------------------------------

    def store_file(self, *, content: bytes, filename: str, content_type: str) -> str:
        with self.lock:
            file_id = f"{self.next_counter('file'):08d}{secrets.token_hex(6)}"
            self.state["files"][file_id] = {
                "filename": filename,
                "content_type": content_type,
                "size": len(content),
            }
            if self.data_dir is not None:
                (self.data_dir / "files" / file_id).write_bytes(content)
            else:
                self._blobs[file_id] = content
            self.save()
            return file_id

    def read_file(self, file_id: str) -> bytes | None:
        if self.data_dir is not None:
            path = self.data_dir / "files" / file_id
            return path.read_bytes() if path.exists() and file_id.isalnum() else None
        return self._blobs.get(file_id)
