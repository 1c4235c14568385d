"""Idempotency-Key for the API's writes: a retried request with the same key sends once.

A client that lost the answer to `POST …/messages` (a timeout, a dropped connection) sends the same
request again with the same `Idempotency-Key`; the customer must get the message once. The key is
claimed by inserting its row inside the write's own transaction, so:

- sequentially, a retry finds the row and gets the stored answer (same status and body);
- concurrently, the second INSERT waits on the unique (user, key) index (PostgreSQL) or on the write
  lock (SQLite's IMMEDIATE transactions) until the first commits, then fails and replays that answer;
  if the first rolled back (a crash, a 500), the second finds the key free and does the work itself;
- a refusal (window closed, too long, not yours) is an answer too: its work is rolled back to a
  savepoint, but the key keeps the refusal, so a retry is told the same thing.

Keys live IDEMPOTENCY_TTL; pagedesk.api.tasks sweeps older ones (and an older one found here is free).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from pagedesk.accounts.models import User
from pagedesk.api.models import IDEMPOTENCY_KEY_MAX, IdempotencyKey
from pagedesk.core import clock
from pagedesk.core.errors import ApplicationError

IDEMPOTENCY_TTL = dt.timedelta(hours=24)
HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    replayed: bool = False


def idempotency_key_clean(raw: str | None) -> str | None:
    """The header's key, or None without one; 422 for an empty, too long or non-printable key."""
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise ApplicationError(
            "invalid_idempotency_key",
            _("The Idempotency-Key header must be 1 to %(max)s printable characters (a UUID is a good key).")
            % {"max": IDEMPOTENCY_KEY_MAX},
            field=HEADER,
            status=422,
        )
    return key


def request_fingerprint(*parts: Any) -> str:
    """SHA-256 of what a request asks for, independent of JSON spacing or key order."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _claim(*, user: User, key: str, fingerprint: str) -> IdempotencyKey | None:
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint)
    except IntegrityError:
        return None


def _replay(*, user: User, key: str, fingerprint: str) -> Answer | None:
    """The stored answer for this key, or None when the key is free again (expired: deleted here)."""
    row = IdempotencyKey.objects.filter(user=user, key=key).first()
    if row is None:
        return None
    if row.created_at < clock.now() - IDEMPOTENCY_TTL:
        row.delete()
        return None
    if row.fingerprint != fingerprint:
        raise ApplicationError(
            "idempotency_key_reused",
            _(
                "This Idempotency-Key was already used for a different request. Send a retry with "
                "exactly the same body, or use a new key for a new request."
            ),
            field=HEADER,
            status=409,
        )
    assert row.status is not None  # written in the claiming transaction, before it committed
    return Answer(status=row.status, body=row.response, replayed=True)


def idempotent_run(
    *, user: User, key: str | None, fingerprint: str, work: Callable[[], tuple[int, Any]]
) -> Answer:
    """Run `work` (returns status and a JSON-able body) at most once per (user, key); without a key,
    simply run it. An ApplicationError from `work` is its answer (rolled back, and kept for the key)."""
    if key is None:
        status, body = work()
        return Answer(status=status, body=body)
    with transaction.atomic():
        row = None
        for _attempt in range(2):
            row = _claim(user=user, key=key, fingerprint=fingerprint)
            if row is not None:
                break
            answer = _replay(user=user, key=key, fingerprint=fingerprint)
            if answer is not None:
                return answer
        if row is None:  # freed and taken again in between: a concurrent request answered it
            answer = _replay(user=user, key=key, fingerprint=fingerprint)
            assert answer is not None
            return answer
        try:
            with transaction.atomic():
                status, body = work()
        except ApplicationError as exc:
            status, body = exc.status, exc.as_dict()
        row.status, row.response = status, body
        row.save(update_fields=["status", "response"])
    return Answer(status=status, body=body)


def idempotency_keys_expire(*, now: dt.datetime | None = None) -> int:
    """Delete keys older than IDEMPOTENCY_TTL; returns how many."""
    cutoff = (now or clock.now()) - IDEMPOTENCY_TTL
    deleted, _by_model = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
