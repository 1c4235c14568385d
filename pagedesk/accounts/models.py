from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from pagedesk.core import clock
from pagedesk.core.models import TimestampedModel


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    SUPERVISOR = "supervisor", _("Supervisor")
    AGENT = "agent", _("Agent")
    # A system acting through the API with its own tokens (campaigns.Integration): never logs in, never
    # routed to, never offered where a person's role is chosen (PERSON_ROLES).
    INTEGRATION = "integration", _("Integration")


PERSON_ROLES = [(value, label) for value, label in Role.choices if value != Role.INTEGRATION]


class Presence(models.TextChoices):
    OFFLINE = "offline", _("Offline")
    AVAILABLE = "available", _("Available")
    BREAK = "break", _("Break")
    WRAP_UP = "wrap_up", _("Wrap-up")


class DisplayStatus(models.TextChoices):
    """What the board shows; derived from presence and load, never stored (docs/architecture.md §3)."""

    OFFLINE = "offline", _("Offline")
    FREE = "free", _("Free")
    BUSY = "busy", _("Busy")
    BREAK = "break", _("Break")
    WRAP_UP = "wrap_up", _("Wrap-up")


class BreakReason(models.Model):
    name = models.CharField(_("name"), max_length=60, unique=True)
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """Every person who logs in. Agent rows double as the routing lock (see routing.services)."""

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.AGENT)
    display_name = models.CharField(_("display name"), max_length=120, blank=True)

    presence = models.CharField(max_length=20, choices=Presence.choices, default=Presence.OFFLINE)
    break_reason = models.ForeignKey(BreakReason, null=True, blank=True, on_delete=models.PROTECT)
    presence_changed_at = models.DateTimeField(default=clock.now)
    # For the leastrecent strategy; set under the routing lock when an assignment is made.
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    wrap_up_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def first_name_or_name(self) -> str:
        return self.first_name or self.name

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser

    @property
    def is_supervisor(self) -> bool:
        return self.role == Role.SUPERVISOR

    @property
    def is_integration(self) -> bool:
        return self.role == Role.INTEGRATION

    @property
    def is_agent(self) -> bool:
        return self.role == Role.AGENT and not self.is_superuser


class PresenceChange(models.Model):
    """History of presence; the board's "time in status" is now − the agent's last row."""

    agent = models.ForeignKey(User, on_delete=models.CASCADE, related_name="presence_changes")
    presence = models.CharField(max_length=20, choices=Presence.choices)
    break_reason = models.ForeignKey(BreakReason, null=True, blank=True, on_delete=models.PROTECT)
    changed_at = models.DateTimeField(default=clock.now, db_index=True)
    changed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["agent", "-changed_at"])]


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(TimestampedModel):
    """A personal API token. Only its SHA-256 is stored; the raw value is shown once, at creation."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
