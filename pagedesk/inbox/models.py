"""What each agent has read: the inbox's unread counts and title badge come from here."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from pagedesk.conversations.models import Conversation
from pagedesk.core import clock


class ReadState(models.Model):
    """The newest message id an agent has seen in a conversation; inbound messages above it are unread."""

    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    last_read_message_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agent", "conversation"], name="inbox_read_state_unique")
        ]

    def __str__(self) -> str:
        return f"{self.agent_id}@{self.conversation_id}: {self.last_read_message_id}"
