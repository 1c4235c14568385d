"""Routing's own bookkeeping. Conversation state itself lives on conversations.Conversation."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from pagedesk.core import clock


class Assignment(models.Model):
    """One hand-over of a conversation to an agent: routed, taken, transferred or returned to sender.

    The `fewest` strategy counts these per agent and campaign since local midnight, and the tests use
    them to prove no conversation was handed out twice.
    """

    conversation = models.ForeignKey("conversations.Conversation", on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    how = models.CharField(max_length=20)  # routed | taken | transferred | transfer_returned
    at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [
            models.Index(fields=["campaign", "agent", "at"], name="routing_assign_fewest_idx"),
            # Recordings' agent filter: "was this conversation ever handed to this agent" (took_part).
            models.Index(fields=["agent", "conversation"], name="routing_assign_agent_conv_idx"),
        ]


class AfterHoursNotice(models.Model):
    """The after-hours message went to this contact for the closed period that ends at `period_end`.

    The unique constraint is the "at most once per closed period" rule: two conversations of the same
    customer opened at once race on the insert and only one sends. `period_end` is when the campaign
    next opens (the far future when it never does).
    """

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey("conversations.Contact", on_delete=models.CASCADE, related_name="+")
    period_end = models.DateTimeField()
    sent_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "contact", "period_end"], name="after_hours_once_per_period"
            )
        ]


class TransferState(models.TextChoices):
    PENDING = "pending"
    ACCEPTED = "accepted"
    RETURNED = "returned"


class Transfer(models.Model):
    """A transfer, kept so an unaccepted one to a ringall queue can time out back to its sender."""

    conversation = models.ForeignKey("conversations.Conversation", on_delete=models.CASCADE, related_name="+")
    from_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+")
    to_campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+")
    to_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    state = models.CharField(max_length=20, choices=TransferState.choices, default=TransferState.PENDING)
    created_at = models.DateTimeField(default=clock.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["conversation", "state"], name="routing_transfer_open_idx")]


class AgentConnection(models.Model):
    """Open websocket count per agent, for the disconnect grace period (docs/architecture.md §4 timers).

    A count rather than a flag because an agent may have several tabs open; the grace timer starts
    only when the last one closes. `disconnected_at` doubles as the timer's token: a reconnect clears
    it, so a timer that fires later finds nothing to do.
    """

    agent = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    open_connections = models.PositiveIntegerField(default=0)
    disconnected_at = models.DateTimeField(null=True, blank=True)
