"""What the API itself stores: the Idempotency-Key of each write that took one.

Here, in the API's own app, and not in core: the key is a promise of the HTTP interface ("the same
request with the same key is answered once, the same way"), scoped to the caller, and nothing below
the API needs to know it exists. core holds what every layer shares; this is the API's alone.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from pagedesk.core import clock

IDEMPOTENCY_KEY_MAX = 255


class IdempotencyKey(models.Model):
    """One caller's key: claimed inside the write's transaction (the unique constraint makes a second,
    concurrent request with the same key wait for the first and then replay it), and holding the first
    answer, which a retry gets again. Kept for IDEMPOTENCY_TTL (pagedesk.api.idempotency)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=IDEMPOTENCY_KEY_MAX)
    # SHA-256 of what the request asked for (operation, path, fields, files' contents): the same key
    # with a different request is refused rather than answered with another request's result.
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True)
    response = models.JSONField(null=True)
    created_at = models.DateTimeField(default=clock.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_unique_user_key")]

    def __str__(self) -> str:
        return f"{self.key} ({self.user_id})"
