from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from pagedesk.core.models import TimestampedModel

WEEKDAYS = [
    (0, _("Mon")),
    (1, _("Tue")),
    (2, _("Wed")),
    (3, _("Thu")),
    (4, _("Fri")),
    (5, _("Sat")),
    (6, _("Sun")),
]
MINUTES_PER_DAY = 24 * 60


class Strategy(models.TextChoices):
    RINGALL = "ringall", _("Ring all")
    RRMEMORY = "rrmemory", _("Round robin with memory")
    LINEAR = "linear", _("Linear")
    WRANDOM = "wrandom", _("Weighted random")
    LEASTRECENT = "leastrecent", _("Least recent")
    FEWEST = "fewest", _("Fewest conversations")


STRATEGY_HELP = {
    Strategy.RINGALL: _(
        "Every queued customer is offered to all free members; the first agent to click Take gets it."
    ),
    Strategy.RRMEMORY: _("Round robin: the next free member after the one who was served last."),
    Strategy.LINEAR: _("Always the first free member in member order."),
    Strategy.WRANDOM: _("A random free member; a higher penalty (0–100) makes an agent less likely."),
    Strategy.LEASTRECENT: _("The free member whose last assignment is the longest ago."),
    Strategy.FEWEST: _("The free member who has taken the fewest conversations today."),
}


def validate_timezone(value: str) -> None:
    from django.core.exceptions import ValidationError

    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(tz)s” is not a known time zone."), params={"tz": value})


class Campaign(TimestampedModel):
    """One Facebook Page and the team that answers it."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    page_name = models.CharField(_("page name"), max_length=150)
    enabled = models.BooleanField(_("enabled"), default=True)
    strategy = models.CharField(
        _("strategy"), max_length=20, choices=Strategy.choices, default=Strategy.RINGALL
    )
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC", validators=[validate_timezone])
    service_level_target = models.PositiveSmallIntegerField(
        _("service level target %"), default=80, validators=[MaxValueValidator(100)]
    )
    sl_threshold_seconds = models.PositiveIntegerField(_("service level threshold (s)"), default=60)
    dropout_threshold_seconds = models.PositiveIntegerField(
        _("dropout threshold (s)"), default=600, help_text=_("0 = queued customers never drop out.")
    )
    chat_time_threshold_seconds = models.PositiveIntegerField(_("chat time threshold (s)"), default=900)
    acd_threshold = models.PositiveIntegerField(
        _("ACD threshold (customers waiting)"), default=5, validators=[MinValueValidator(1)]
    )
    max_interactions_per_agent = models.PositiveSmallIntegerField(
        _("max interactions per agent"), default=3, validators=[MinValueValidator(1), MaxValueValidator(50)]
    )
    wrap_up_seconds = models.PositiveIntegerField(
        _("wrap-up (s)"), default=0, validators=[MaxValueValidator(3600)]
    )
    after_hours_message = models.TextField(
        _("after-hours message"),
        max_length=2000,
        # TextField's max_length only shapes the form widget; the model must enforce it for the API too.
        validators=[MaxLengthValidator(2000)],
        default="Thanks for your message! We're closed right now and will answer when we open.",
    )
    human_agent_enabled = models.BooleanField(
        _("allow replies up to 7 days (HUMAN_AGENT tag)"), default=False
    )
    close_queue_at_schedule_end = models.BooleanField(
        _("close the queue at schedule end"),
        default=False,
        help_text=_("Customers still waiting when the schedule ends get the after-hours message."),
    )
    transfer_timeout_seconds = models.PositiveIntegerField(
        _("transfer timeout (s)"), default=0, help_text=_("0 = a transfer waits until someone takes it.")
    )
    members = models.ManyToManyField(  # type: ignore[var-annotated]
        settings.AUTH_USER_MODEL, through="Membership", related_name="member_campaigns"
    )
    supervisors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="supervised_campaigns"
    )
    # Bot first (issue 15): a new conversation starts with this integration's bot (state `bot`, not
    # queued) and reaches the queue on the bot's hand-off, its silence, or a hand-off keyword.
    bot_integration = models.ForeignKey(
        "Integration",
        verbose_name=_("bot"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="bot_campaigns",
        help_text=_("Empty: customers go straight to the queue."),
    )
    bot_timeout_seconds = models.PositiveIntegerField(
        _("bot timeout (s)"),
        default=300,
        validators=[MinValueValidator(10), MaxValueValidator(86400)],
        help_text=_("A customer the bot has not answered for this long goes to the queue."),
    )
    handoff_keywords = models.CharField(
        _("hand-off keywords"),
        max_length=500,
        blank=True,
        help_text=_(
            "Comma-separated; a customer message that is one of them goes to the queue (e.g. agent, human)."
        ),
    )
    # rrmemory resumes after this agent; written under the routing lock.
    rr_last_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def members_see_queue(self) -> bool:
        """Whether the members' pages show this campaign's queue: only an enabled ringall campaign's
        members have a Pending list (inbox_lists). Other members show nothing of a queued conversation,
        its arrival or its assignment to someone else, so the events about it leave their group out:
        with hundreds of members that was most of the frames an arrival sent (docs/events.md)."""
        return self.enabled and self.strategy == Strategy.RINGALL


class ScheduleRange(models.Model):
    """Open hours on some weekdays, as minutes since local midnight: [start_minute, end_minute).

    end_minute may be 1440 ("24:00") so a day can be open up to midnight and the next day's range from
    00:00 continues it without a gap.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="schedule_ranges")
    weekdays = models.PositiveSmallIntegerField(help_text="Bit 0 = Monday … bit 6 = Sunday")
    start_minute = models.PositiveSmallIntegerField(validators=[MaxValueValidator(MINUTES_PER_DAY - 1)])
    end_minute = models.PositiveSmallIntegerField(validators=[MaxValueValidator(MINUTES_PER_DAY)])
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_minute__gt=models.F("start_minute")), name="range_not_inverted"
            ),
            models.CheckConstraint(
                condition=models.Q(weekdays__gt=0, weekdays__lt=128), name="range_has_weekdays"
            ),
        ]

    @property
    def weekday_list(self) -> list[int]:
        return [day for day in range(7) if self.weekdays & (1 << day)]


class Holiday(models.Model):
    """A closed local date in the campaign's time zone."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["campaign", "date"], name="holiday_unique_date")]


class CannedResponse(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="canned_responses")
    title = models.CharField(_("title"), max_length=100)
    text = models.TextField(_("text"), max_length=2000)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]


class Membership(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="memberships")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    position = models.PositiveSmallIntegerField(default=0)
    penalty = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "agent"], name="membership_unique_agent")]


class Disposition(models.Model):
    """How a conversation ended; optional, two levels (a category and its sub-dispositions)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="dispositions")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "parent", "name"],
                name="disposition_unique_name",
            )
        ]

    def __str__(self) -> str:
        return f"{self.parent.name} › {self.name}" if self.parent_id and self.parent else self.name


class BlockedContact(TimestampedModel):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="blocked_contacts")
    psid = models.CharField(_("PSID"), max_length=64)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["campaign", "psid"], name="blocked_unique_psid")]


class Integration(TimestampedModel):
    """A system that works through the API with its own tokens: a CRM, a bot, a reporting script.

    It acts as its own user (role `integration`), so every service that takes an actor takes it and
    every message it sends is authored by it; what it may see and do is limited to its campaigns.
    Revoking it deactivates that user, which ends its tokens at once.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="integration"
    )
    name = models.CharField(_("name"), max_length=100, unique=True)
    campaigns = models.ManyToManyField(Campaign, blank=True, related_name="integrations")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
