from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from pagedesk.campaigns.models import Campaign
from pagedesk.core import clock
from pagedesk.core.models import TimestampedModel


class TokenStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    INVALID = "invalid", _("Invalid")
    UNKNOWN = "unknown", _("Not activated")


class PageConnection(TimestampedModel):
    """The Facebook Page a campaign answers, and the health of its page token.

    The token is stored Fernet-encrypted (messenger.tokens); only code in pagedesk.messenger decrypts it.
    """

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="page_connection")
    page_id = models.CharField(max_length=64, blank=True, db_index=True)
    page_name = models.CharField(max_length=150, blank=True)
    token_encrypted = models.TextField(blank=True)
    token_status = models.CharField(max_length=20, choices=TokenStatus.choices, default=TokenStatus.UNKNOWN)
    token_invalid_reason = models.CharField(max_length=300, blank=True)
    granted_permissions = models.JSONField(default=list, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["page_id"], condition=~models.Q(page_id=""), name="page_connection_unique_page"
            )
        ]

    def __str__(self) -> str:
        return f"{self.page_name or self.page_id} ({self.token_status})"


class InboundEventStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PROCESSED = "processed", _("Processed")
    IGNORED = "ignored", _("Ignored")
    FAILED = "failed", _("Failed")
    # Valid JSON, correctly signed, but not storable or readable as it is: kept raw with the reason, for
    # an admin to see and replay (issue 13).
    PARKED = "parked", _("Parked")


class InboundEvent(models.Model):
    """One raw webhook messaging item, stored before the 200 so nothing Facebook sent is ever lost.

    Unique on (page_id, dedup_key): the message id when the event has one, else a hash of its content,
    so a redelivered event is stored and processed once.
    """

    page_id = models.CharField(max_length=64)
    psid = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=40)
    dedup_key = models.CharField(max_length=255)
    payload = models.JSONField()
    # Facebook's event timestamp (ms since epoch); processing per (page, psid) follows this order.
    event_time = models.BigIntegerField(default=0)
    received_at = models.DateTimeField(default=clock.now)
    status = models.CharField(
        max_length=20, choices=InboundEventStatus.choices, default=InboundEventStatus.PENDING
    )
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    known_page = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["page_id", "dedup_key"], name="inbound_event_unique"),
        ]
        indexes = [
            models.Index(fields=["page_id", "psid", "status", "event_time"], name="inbound_order_idx"),
            models.Index(fields=["status", "received_at"], name="inbound_status_idx"),
        ]


class PageSendThrottle(models.Model):
    """The per-page send budget shared by every thread and process (one row per page).

    A fixed one-second window: `window_second` is the Unix second the `count` belongs to. Senders take
    a slot with one conditional UPDATE (no lock held across HTTP), so the cap holds across workers on
    SQLite and PostgreSQL alike. `paused_until` (Unix seconds) stops all sends for the page after
    Facebook answered with a rate-limit error.
    """

    page_id = models.CharField(max_length=64, unique=True)
    window_second = models.BigIntegerField(default=0)
    count = models.PositiveIntegerField(default=0)
    paused_until = models.FloatField(default=0)
