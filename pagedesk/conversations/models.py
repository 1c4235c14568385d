from __future__ import annotations

from enum import StrEnum

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pagedesk.campaigns.models import Campaign, Disposition
from pagedesk.core import clock


class Contact(models.Model):
    """A Messenger customer of one page: (page_id, psid). Names come only from the Profile API."""

    page_id = models.CharField(max_length=64)
    psid = models.CharField(max_length=64)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    profile_pic_url = models.URLField(max_length=1000, blank=True)
    locale = models.CharField(max_length=20, blank=True)
    profile_fetched_at = models.DateTimeField(null=True, blank=True)
    profile_failed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    last_message_at = models.DateTimeField(null=True, blank=True)
    # Which Messenger app owns this thread (Conversation Routing, docs/decisions/thread-control.md):
    # blank = pagedesk's own app (how every thread starts); another app id (the Page inbox,
    # 263902037430900, or a bot) while that app answers and pagedesk only hears `standby` copies.
    thread_owner_app_id = models.CharField(max_length=64, blank=True)
    thread_owner_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["page_id", "psid"], name="contact_unique_psid")]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        # Never an invented name: a neutral label with the PSID's last digits.
        return full or _("Messenger user …%(tail)s") % {"tail": self.psid[-4:]}


class ConversationState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    ASSIGNED = "assigned", _("Assigned")
    CLOSED = "closed", _("Closed")
    ABANDONED = "abandoned", _("Abandoned")
    AFTER_HOURS = "after_hours", _("After hours")
    BLOCKED = "blocked", _("Blocked")
    # With the campaign's bot (issue 15): open, but not in the queue and not counted in its KPIs.
    BOT = "bot", _("With the bot")


OPEN_STATES = (ConversationState.QUEUED, ConversationState.ASSIGNED, ConversationState.BOT)


class Conversation(models.Model):
    """The seed's "interaction": one contact's conversation with a campaign, from queue to close."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="conversations")
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="conversations")
    state = models.CharField(
        max_length=20, choices=ConversationState.choices, default=ConversationState.QUEUED
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="conversations",
    )
    # Bumped on every state change so a page can ignore an event older than what it shows.
    version = models.PositiveIntegerField(default=1)

    created_at = models.DateTimeField(default=clock.now)
    queued_at = models.DateTimeField(null=True, blank=True)
    # The queue is FIFO by this key; normally queued_at, earlier for a conversation returned to the queue.
    queue_order = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    abandoned_at = models.DateTimeField(null=True, blank=True)
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True)

    # PROTECT: a closed conversation keeps how it ended; campaigns refuses to delete a disposition in
    # use (counting through `closed_conversations`) and the database backs that up.
    disposition = models.ForeignKey(
        Disposition, null=True, blank=True, on_delete=models.PROTECT, related_name="closed_conversations"
    )
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    transfer_note = models.TextField(blank=True)
    transferred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["campaign", "state", "queue_order"], name="conv_queue_idx"),
            models.Index(fields=["agent", "state"], name="conv_agent_state_idx"),
            models.Index(fields=["contact", "state"], name="conv_contact_state_idx"),
            models.Index(fields=["campaign", "queued_at"], name="conv_campaign_queued_idx"),
        ]
        constraints = [
            # At most one open conversation per contact and campaign: a customer message joins it.
            models.UniqueConstraint(
                fields=["campaign", "contact"],
                condition=models.Q(state__in=["queued", "assigned", "bot"]),
                name="conversation_one_open_per_contact",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.contact} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class Direction(models.TextChoices):
    IN = "in", _("Inbound")
    OUT = "out", _("Outbound")


class SenderType(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Agent")
    PAGE_ECHO = "page_echo", _("Sent from Facebook")
    SYSTEM = "system", _("System")
    # Sent through the API by an integration (campaigns.Integration); `author` is its user.
    INTEGRATION = "integration", _("Integration")


class MessageStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    FAILED = "failed", _("Failed")


class SendState(StrEnum):
    """Where a pending outbound message is in delivery; kept in Message.extra["send_state"]."""

    QUEUED = "queued"
    SENDING = "sending"
    RETRY = "retry"
    WAITING_TOKEN = "waiting_token"
    UNCONFIRMED = "unconfirmed"


class Message(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    sender_type = models.CharField(max_length=20, choices=SenderType.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    page_id = models.CharField(max_length=64)
    # Facebook's message id; empty until Facebook accepts an outbound message.
    mid = models.CharField(max_length=255, blank=True)
    text = models.TextField(blank=True)
    # What kind of inbound item this was: text, attachment, sticker, quick_reply, postback, …
    kind = models.CharField(max_length=30, default="text")
    payload = models.CharField(max_length=1000, blank=True, help_text="Quick reply or postback payload")
    reply_to_mid = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=20, choices=MessageStatus.choices, default=MessageStatus.RECEIVED)
    status_reason = models.CharField(max_length=500, blank=True)
    messaging_type = models.CharField(max_length=30, blank=True)
    tag = models.CharField(max_length=40, blank=True)
    send_attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=clock.now, db_index=True)
    # Facebook's timestamp for inbound and echoed messages.
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    reactions = models.JSONField(default=list, blank=True)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["conversation", "created_at"], name="message_conv_created_idx"),
            # Recordings' agent filter and an agent's scope: "did this agent write in this conversation"
            # (took_part), one seek per conversation, or the agent's conversations from the index alone.
            models.Index(fields=["author", "conversation"], name="message_author_conv_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["page_id", "mid"], condition=~models.Q(mid=""), name="message_unique_mid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.mid or self.pk}: {self.text[:40]}"


class AttachmentType(models.TextChoices):
    IMAGE = "image", _("Image")
    VIDEO = "video", _("Video")
    AUDIO = "audio", _("Audio")
    FILE = "file", _("File")
    LOCATION = "location", _("Location")
    STICKER = "sticker", _("Sticker")
    FALLBACK = "fallback", _("Link")


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    type = models.CharField(max_length=20, choices=AttachmentType.choices)
    # Facebook's URL (expires) — kept for the record; `file` is pagedesk's own copy.
    original_url = models.URLField(max_length=2000, blank=True)
    file = models.FileField(upload_to="attachments/%Y/%m/%d/", max_length=500, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=150, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    title = models.CharField(max_length=500, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    # Facebook's reusable attachment id for outbound uploads.
    attachment_id = models.CharField(max_length=100, blank=True)
    download_error = models.CharField(max_length=300, blank=True)


class ConversationEvent(models.Model):
    """Who did what to a conversation, and when: the timeline on the transcript and the audit trail."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=clock.now)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["conversation", "at"], name="conv_event_idx")]
