from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from pagedesk.campaigns.models import Campaign
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
