"""Outbound webhooks (issue 15 §2): endpoints, the outbox of events, each endpoint's deliveries and
their attempts. Design: docs/decisions/outbound-webhooks.md; receivers' guide: docs/webhooks.md."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from pagedesk.campaigns.models import Campaign
from pagedesk.core import clock
from pagedesk.core.models import TimestampedModel

StrOrPromise = str | Promise

# The event types an endpoint can subscribe to, in the order the form lists them.
EVENT_TYPES: dict[str, StrOrPromise] = {
    "message.created": _("A message was added, from the customer or to them"),
    "message.status_changed": _("An outbound message was sent, delivered, read or failed"),
    "conversation.queued": _("A conversation entered a queue"),
    "conversation.assigned": _("A conversation was assigned to an agent"),
    "conversation.transferred": _("A conversation was transferred"),
    "conversation.closed": _("A conversation was closed (also after hours, blocked, abandoned)"),
    "conversation.abandoned": _("A queued customer left before an agent took them"),
    "agent.status_changed": _("An agent's presence changed"),
    "page.token_status_changed": _("A page's Facebook token became active or invalid"),
}
# Sent only by "Send a test event", to the one endpoint tested; never subscribed to.
PING = "ping"


class WebhookEndpoint(TimestampedModel):
    """A URL that receives signed POSTs for the event types and campaigns it was registered for."""

    url = models.URLField(_("URL"), max_length=2000)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # Fernet-encrypted with settings.TOKEN_KEY (platform.signing); shown in clear once, at creation
    # or rotation.
    secret_encrypted = models.TextField()
    event_types = models.JSONField(default=list)
    all_campaigns = models.BooleanField(
        _("all campaigns"), default=False, help_text=_("Also campaigns created later.")
    )
    campaigns = models.ManyToManyField(Campaign, blank=True, related_name="+")
    enabled = models.BooleanField(default=True)
    # First failed attempt since the last success; 24 h of failures disables the endpoint.
    failing_since = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # Connection failures, timeouts and 429s pause the whole endpoint: its other deliveries would meet
    # the same wall.
    paused_until = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.description or self.url

    @property
    def state(self) -> str:
        if not self.enabled:
            return "disabled"
        return "failing" if self.failing_since else "active"


class WebhookConfigVersion(models.Model):
    """One row whose number grows on every endpoint change: processes re-read their cached
    subscriptions when it moved (platform.subscriptions)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.PositiveBigIntegerField(default=0)


class WebhookEvent(models.Model):
    """One thing that happened, as every subscribed endpoint will receive it (`data` is its body's).

    Written in the change's transaction with what decides and orders its deliveries (type, campaigns,
    ordering key) and the realtime event's own fields (`source`); `data`, the public shapes, is built
    just after commit, off the committing thread, and stored once (platform.outbox.webhook_events_build),
    so every attempt and redelivery sends the same bytes. NULL: not built yet; nothing is sent then.
    """

    type = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=clock.now)
    # The campaigns it concerns; an endpoint not registered for any of them never receives it.
    campaign_ids = models.JSONField(default=list)
    ordering_key = models.CharField(max_length=64)
    # The realtime event as published (`Event.as_message()`): what `data` is built from.
    source = models.JSONField(default=dict)
    data = models.JSONField(null=True, default=None)

    class Meta:
        indexes = [
            # The builder's work list: small however long the log grows.
            models.Index(fields=["id"], condition=models.Q(data__isnull=True), name="webhook_event_unbuilt"),
        ]


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERING = "delivering", _("Delivering")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_DELIVERY_STATES = (DeliveryState.PENDING, DeliveryState.DELIVERING)


class WebhookDelivery(models.Model):
    """The outbox row: one event for one endpoint, delivered in id order per `ordering_key`."""

    # The public id: the body's `id` and X-Pagedesk-Delivery; every attempt and redelivery keeps it.
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No database constraint: a process may write a delivery for an endpoint deleted less than a second
    # ago (platform.subscriptions' window), and on PostgreSQL the deferred check would then fail the
    # commit of the customer's message it reports. Deleting an endpoint deletes its deliveries; the
    # sweep deletes a straggler.
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", db_constraint=False
    )
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(max_length=64)
    ordering_key = models.CharField(max_length=64)
    state = models.CharField(max_length=12, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    created_at = models.DateTimeField(default=clock.now)
    next_attempt_at = models.DateTimeField(default=clock.now)
    # Retries stop after this (24 h after the event, or after a redelivery).
    retry_until = models.DateTimeField()
    # A redelivery replays one delivery: it neither waits for nor holds back the conversation's others.
    replay = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    claim = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_duration_ms = models.FloatField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["endpoint", "state", "id"], name="webhook_delivery_drain"),
            models.Index(fields=["endpoint", "id"], name="webhook_delivery_log"),
        ]


class WebhookAttempt(models.Model):
    """One POST of a delivery, as the log shows it."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_rows")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.FloatField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # At most RESPONSE_BODY_LIMIT bytes of the receiver's answer.
    response_body = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    manual = models.BooleanField(default=False)

    class Meta:
        ordering = ["-id"]
