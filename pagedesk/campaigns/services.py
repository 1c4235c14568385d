"""Writes for campaigns and everything configured per campaign.

Each public function is one transaction: a campaign saved with its schedule, holidays and canned
responses either lands whole or not at all.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, ProtectedError
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from pagedesk.accounts.models import ApiToken, Role, User
from pagedesk.accounts.services import api_token_create, api_token_revoke, user_create, user_update
from pagedesk.campaigns import schedule
from pagedesk.campaigns.models import (
    BlockedContact,
    Campaign,
    CannedResponse,
    Disposition,
    Holiday,
    Integration,
    Membership,
    ScheduleRange,
)
from pagedesk.campaigns.selectors import handoff_keyword_normal
from pagedesk.campaigns.signals import campaign_changed, campaign_created
from pagedesk.core import clock
from pagedesk.core.errors import ApplicationError, from_validation_error
from pagedesk.realtime import groups
from pagedesk.realtime.access import access_changed
from pagedesk.realtime.events import CampaignChanged
from pagedesk.realtime.publish import publish

# Every editable scalar field of a campaign; the form, the API and the services agree on this list.
CAMPAIGN_FIELDS = (
    "name",
    "page_name",
    "enabled",
    "strategy",
    "timezone",
    "service_level_target",
    "sl_threshold_seconds",
    "dropout_threshold_seconds",
    "chat_time_threshold_seconds",
    "acd_threshold",
    "max_interactions_per_agent",
    "wrap_up_seconds",
    "after_hours_message",
    "human_agent_enabled",
    "close_queue_at_schedule_end",
    "transfer_timeout_seconds",
    "bot_integration",
    "bot_timeout_seconds",
    "handoff_keywords",
)
# Bot first: a keyword is a whole customer message, so a handful of short ones is all that makes sense.
HANDOFF_KEYWORDS_MAX = 20
HANDOFF_KEYWORD_LENGTH_MAX = 50
TEXT_LIMITS = {"canned_title": 100, "canned_text": 2000, "holiday_name": 100, "note": 300, "psid": 64}


@dataclass(frozen=True)
class HolidaySpec:
    date: dt.date
    name: str = ""


@dataclass(frozen=True)
class CannedSpec:
    title: str
    text: str


@dataclass(frozen=True)
class MemberSpec:
    agent_id: int
    penalty: int = 0


def _default_schedule() -> list[schedule.Range]:
    return [schedule.Range(schedule.DEFAULT_WEEKDAYS, schedule.DEFAULT_START, schedule.DEFAULT_END)]


def _clean(obj: object, *, exclude: Sequence[str] = ()) -> None:
    try:
        obj.full_clean(exclude=list(exclude), validate_unique=True)  # type: ignore[attr-defined]
    except ValidationError as exc:
        raise from_validation_error(exc) from None


def _changed(
    campaign: Campaign, *, agent_ids: Iterable[int] = (), supervisor_ids: Iterable[int] = ()
) -> None:
    """Tell the pages that show the campaign, and the users who joined or left it (after commit).

    Members hear it too (strategy, enabled, canned responses and dispositions shape their inbox), and
    so do agents and supervisors added or removed: their sockets re-join their groups on it
    (realtime/consumers.py, "resubscribe"), so a new member hears the campaign's queue without a reload.
    """
    agent_ids, supervisor_ids = list(agent_ids), list(supervisor_ids)
    publish(
        CampaignChanged(campaign_id=campaign.pk),
        to=[
            groups.admins(),
            groups.supervisors(campaign.pk),
            groups.campaign_queue(campaign.pk),
            *(groups.agent(agent_id) for agent_id in agent_ids),
            *(groups.supervisor(user_id) for user_id in supervisor_ids),
        ],
    )
    # Their open sockets hear nothing more of the campaign from here and re-read their groups as this
    # commits (realtime/access.py). After the publish above, so that campaign.changed (held meanwhile)
    # reaches the page before the server's own "resubscribed".
    access_changed(user_ids=[*agent_ids, *supervisor_ids])
    # Members, max interactions, enabled or strategy may have changed: routing re-routes the queue
    # after commit (issue 5; routing/receivers.py).
    campaign_changed.send(sender=Campaign, campaign=campaign)


def _check_fields(fields: dict[str, object]) -> None:
    unknown = set(fields) - set(CAMPAIGN_FIELDS)
    if unknown:
        raise ApplicationError(
            "unknown_field", _("Unknown field(s): %(f)s.") % {"f": ", ".join(sorted(unknown))}
        )


def _check_bot(campaign: Campaign, *, bot_chosen: bool) -> None:
    """A bot being chosen must be an integration given this campaign and not revoked (one revoked
    later stays set, shown as revoked, and the campaign queues as without a bot: campaign_bot_state);
    keywords must be words."""
    bot = campaign.bot_integration
    if bot is not None and bot_chosen:
        if bot.revoked_at is not None:
            raise ApplicationError(
                "bot_revoked",
                _("The integration “%(name)s” is revoked; choose another bot or none.") % {"name": bot.name},
                field="bot_integration",
            )
        if campaign.pk is None or not bot.campaigns.filter(pk=campaign.pk).exists():
            raise ApplicationError(
                "bot_not_in_scope",
                _(
                    "The integration “%(name)s” is not given this campaign: add the campaign to the "
                    "integration's campaigns first (Integrations page), then choose it as the bot."
                )
                % {"name": bot.name},
                field="bot_integration",
            )
    raw = [w.strip() for w in campaign.handoff_keywords.split(",") if w.strip()]
    if len(raw) > HANDOFF_KEYWORDS_MAX:
        raise ApplicationError(
            "invalid_keywords",
            _("At most %(n)d hand-off keywords; you gave %(given)d.")
            % {"n": HANDOFF_KEYWORDS_MAX, "given": len(raw)},
            field="handoff_keywords",
        )
    for word in raw:
        if len(word) > HANDOFF_KEYWORD_LENGTH_MAX:
            raise ApplicationError(
                "invalid_keywords",
                _("The hand-off keyword “%(w)s…” is too long: at most %(n)d characters.")
                % {"w": word[:20], "n": HANDOFF_KEYWORD_LENGTH_MAX},
                field="handoff_keywords",
            )
        if not handoff_keyword_normal(word):
            raise ApplicationError(
                "invalid_keywords",
                _("The hand-off keyword “%(w)s” has no letters or digits; customers could never type it.")
                % {"w": word},
                field="handoff_keywords",
            )
    campaign.handoff_keywords = ", ".join(raw)


def _check_name_free(name: str, *, exclude_pk: int | None) -> None:
    clash = Campaign.objects.filter(name__iexact=name.strip())
    if exclude_pk:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ApplicationError(
            "duplicate_name",
            _("A campaign named “%(name)s” already exists.") % {"name": name.strip()},
            status=409,
            field="name",
        )


def campaign_create(
    *,
    fields: dict[str, object],
    ranges: Sequence[schedule.Range] | None = None,
    holidays: Sequence[HolidaySpec] = (),
    canned_responses: Sequence[CannedSpec] = (),
) -> Campaign:
    """Create a campaign; without ranges it gets the default schedule, Mon–Fri 09:00–18:00."""
    _check_fields(fields)
    campaign = Campaign(**fields)
    campaign.name = campaign.name.strip()
    campaign.page_name = campaign.page_name.strip()
    _check_name_free(campaign.name, exclude_pk=None)
    _clean(campaign)
    _check_bot(campaign, bot_chosen=True)
    try:
        with transaction.atomic():
            campaign.save()
            campaign_created.send(sender=Campaign, campaign=campaign)  # messenger adds its page connection
            _replace_ranges(campaign, list(ranges) if ranges is not None else _default_schedule())
            _replace_holidays(campaign, holidays)
            _replace_canned(campaign, canned_responses)
            _changed(campaign)
            access_changed(admins=True)  # admins' sockets join the new campaign's groups
    except IntegrityError:
        # Two admins saving the same name at once: the unique index decides.
        raise ApplicationError(
            "duplicate_name", _("A campaign with that name already exists."), status=409, field="name"
        ) from None
    return campaign


def campaign_update(
    *,
    campaign: Campaign,
    fields: dict[str, object],
    ranges: Sequence[schedule.Range] | None = None,
    holidays: Sequence[HolidaySpec] | None = None,
    canned_responses: Sequence[CannedSpec] | None = None,
) -> Campaign:
    """Update any subset of fields; lists given replace the stored ones. Disabling keeps every row."""
    _check_fields(fields)
    bot_chosen = (
        "bot_integration" in fields
        and getattr(fields["bot_integration"], "pk", None) != campaign.bot_integration_id
    )
    for name, value in fields.items():
        setattr(
            campaign,
            name,
            value.strip() if isinstance(value, str) and name in {"name", "page_name"} else value,
        )
    _check_name_free(campaign.name, exclude_pk=campaign.pk)
    _clean(campaign)
    _check_bot(campaign, bot_chosen=bot_chosen)
    try:
        with transaction.atomic():
            campaign.save()
            if ranges is not None:
                _replace_ranges(campaign, ranges)
            if holidays is not None:
                _replace_holidays(campaign, holidays)
            if canned_responses is not None:
                _replace_canned(campaign, canned_responses)
            _changed(campaign)
    except IntegrityError:
        raise ApplicationError(
            "duplicate_name", _("A campaign with that name already exists."), status=409, field="name"
        ) from None
    return campaign


def campaign_delete(*, campaign: Campaign) -> None:
    """Delete a campaign that never had a conversation. One with history can only be disabled, since
    deleting it would erase the transcripts and metrics its conversations carry."""
    refusal = ApplicationError(
        "campaign_has_conversations",
        _(
            "“%(name)s” has conversations, so deleting it would erase their history. Disable it instead (enabled=false)."
        )
        % {"name": campaign.name},
        status=409,
    )
    if campaign.conversations.exists():
        raise refusal
    campaign_id = campaign.pk
    try:
        with transaction.atomic():
            access_changed(
                user_ids=[
                    *campaign.memberships.values_list("agent_id", flat=True),
                    *campaign.supervisors.values_list("pk", flat=True),
                ],
                admins=True,
            )
            campaign.delete()
            publish(
                CampaignChanged(campaign_id=campaign_id),
                to=[groups.admins(), groups.supervisors(campaign_id)],
            )
    except ProtectedError:
        # A conversation arrived between the check and the delete: the PROTECT foreign key decides.
        raise refusal from None


def campaign_set_schedule(*, campaign: Campaign, ranges: Sequence[schedule.Range]) -> None:
    with transaction.atomic():
        _replace_ranges(campaign, ranges)
        _changed(campaign)


def campaign_set_holidays(*, campaign: Campaign, holidays: Sequence[HolidaySpec]) -> None:
    with transaction.atomic():
        _replace_holidays(campaign, holidays)
        _changed(campaign)


def _replace_ranges(campaign: Campaign, ranges: Sequence[schedule.Range]) -> None:
    errors = schedule.validate_ranges(ranges)
    if errors:
        raise ApplicationError(
            "invalid_schedule", " ".join(errors), field="schedule", fields={"schedule": errors}
        )
    campaign.schedule_ranges.all().delete()
    ScheduleRange.objects.bulk_create(
        ScheduleRange(
            campaign=campaign,
            weekdays=r.weekdays,
            start_minute=r.start_minute,
            end_minute=r.end_minute,
            position=i,
        )
        for i, r in enumerate(ranges)
    )


def _replace_holidays(campaign: Campaign, holidays: Sequence[HolidaySpec]) -> None:
    seen: set[dt.date] = set()
    for holiday in holidays:
        if holiday.date in seen:
            raise ApplicationError(
                "duplicate_holiday",
                _("%(date)s is listed twice as a closed date.") % {"date": holiday.date.isoformat()},
                field="holidays",
            )
        if len(holiday.name) > TEXT_LIMITS["holiday_name"]:
            raise ApplicationError(
                "too_long", _("A holiday name is longer than 100 characters."), field="holidays"
            )
        seen.add(holiday.date)
    campaign.holidays.all().delete()
    Holiday.objects.bulk_create(
        Holiday(campaign=campaign, date=h.date, name=h.name.strip()) for h in holidays
    )


# What a canned response may say in braces; the inbox fills them in (inbox.selectors.fill_placeholders).
CANNED_PLACEHOLDERS = ("customer_first_name", "agent_first_name")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _check_canned(spec: CannedSpec) -> None:
    unknown = sorted({name for name in _PLACEHOLDER.findall(spec.text) if name not in CANNED_PLACEHOLDERS})
    if unknown:
        # An unknown one reached the customer as it was typed ("Hi {customer_name}").
        raise ApplicationError(
            "unknown_placeholder",
            _("Unknown placeholder %(unknown)s: a canned response may use %(known)s.")
            % {
                "unknown": ", ".join(f"{{{name}}}" for name in unknown),
                "known": " ".join(f"{{{name}}}" for name in CANNED_PLACEHOLDERS),
            },
            field="canned_responses",
        )
    if not spec.title.strip() or not spec.text.strip():
        raise ApplicationError(
            "invalid_canned_response",
            _("Each canned response needs a title and a text."),
            field="canned_responses",
        )
    if len(spec.title) > TEXT_LIMITS["canned_title"] or len(spec.text) > TEXT_LIMITS["canned_text"]:
        raise ApplicationError(
            "too_long",
            _("A canned response title is limited to 100 characters and its text to 2,000."),
            field="canned_responses",
        )


def _replace_canned(campaign: Campaign, canned: Sequence[CannedSpec]) -> None:
    for spec in canned:
        _check_canned(spec)
    campaign.canned_responses.all().delete()
    CannedResponse.objects.bulk_create(
        CannedResponse(campaign=campaign, title=s.title.strip(), text=s.text.strip(), position=i)
        for i, s in enumerate(canned)
    )


def canned_response_create(*, campaign: Campaign, title: str, text: str) -> CannedResponse:
    spec = CannedSpec(title=title, text=text)
    _check_canned(spec)
    with transaction.atomic():
        position = campaign.canned_responses.count()
        canned = CannedResponse.objects.create(
            campaign=campaign, title=title.strip(), text=text.strip(), position=position
        )
        _changed(campaign)
    return canned


def canned_response_update(
    *, canned: CannedResponse, title: str | None = None, text: str | None = None
) -> CannedResponse:
    spec = CannedSpec(
        title=canned.title if title is None else title, text=canned.text if text is None else text
    )
    _check_canned(spec)
    canned.title, canned.text = spec.title.strip(), spec.text.strip()
    with transaction.atomic():
        canned.save()
        _changed(canned.campaign)
    return canned


def canned_response_delete(*, canned: CannedResponse) -> None:
    with transaction.atomic():
        campaign = canned.campaign
        canned.delete()
        _renumber(campaign.canned_responses.all())
        _changed(campaign)


def canned_response_reorder(*, campaign: Campaign, ordered_ids: Sequence[int]) -> None:
    with transaction.atomic():
        existing = {c.pk: c for c in campaign.canned_responses.all()}
        if sorted(ordered_ids) != sorted(existing):
            raise ApplicationError(
                "invalid_order", _("The new order must list each of this campaign's canned responses once.")
            )
        for position, pk in enumerate(ordered_ids):
            existing[pk].position = position
        CannedResponse.objects.bulk_update(existing.values(), ["position"])
        _changed(campaign)


def _renumber(rows) -> None:
    rows = list(rows)
    for position, row in enumerate(rows):
        row.position = position
    if rows:
        type(rows[0]).objects.bulk_update(rows, ["position"])


def _agents_by_id(agent_ids: Sequence[int]) -> dict[int, User]:
    agents = {u.pk: u for u in User.objects.filter(pk__in=agent_ids)}
    for agent_id in agent_ids:
        user = agents.get(agent_id)
        if user is None:
            raise ApplicationError(
                "unknown_agent", _("There is no user with id %(id)s.") % {"id": agent_id}, field="members"
            )
        if user.role != Role.AGENT:
            raise ApplicationError(
                "not_an_agent",
                _("%(name)s is not an agent; only agents can be members.") % {"name": user.name},
                field="members",
            )
    return agents


def _check_penalty(penalty: int) -> None:
    if not 0 <= penalty <= 100:
        raise ApplicationError("invalid_penalty", _("Penalty must be between 0 and 100."), field="penalty")


def membership_set(*, campaign: Campaign, members: Sequence[MemberSpec]) -> list[Membership]:
    """Replace the member list; the given order is the member order used by linear routing."""
    ids = [m.agent_id for m in members]
    if len(ids) != len(set(ids)):
        raise ApplicationError("duplicate_member", _("An agent is listed twice."), field="members")
    for member in members:
        _check_penalty(member.penalty)
    _agents_by_id(ids)
    with transaction.atomic():
        before = set(campaign.memberships.values_list("agent_id", flat=True))
        campaign.memberships.exclude(agent_id__in=ids).delete()
        existing = {m.agent_id: m for m in campaign.memberships.all()}
        result = []
        for position, spec in enumerate(members):
            membership = existing.get(spec.agent_id) or Membership(campaign=campaign, agent_id=spec.agent_id)
            membership.position = position
            membership.penalty = spec.penalty
            membership.save()
            result.append(membership)
        _changed(campaign, agent_ids=before.symmetric_difference(ids))
    return result


def membership_add(*, campaign: Campaign, agent_id: int, penalty: int = 0) -> Membership:
    _check_penalty(penalty)
    _agents_by_id([agent_id])
    with transaction.atomic():
        if campaign.memberships.filter(agent_id=agent_id).exists():
            raise ApplicationError(
                "duplicate_member", _("That agent is already a member."), status=409, field="agent"
            )
        membership = Membership.objects.create(
            campaign=campaign, agent_id=agent_id, penalty=penalty, position=campaign.memberships.count()
        )
        _changed(campaign, agent_ids=[agent_id])
    return membership


def membership_update(
    *, membership: Membership, penalty: int | None = None, position: int | None = None
) -> Membership:
    with transaction.atomic():
        if penalty is not None:
            _check_penalty(penalty)
            membership.penalty = penalty
            membership.save(update_fields=["penalty"])
        if position is not None:
            rows = [m for m in membership.campaign.memberships.all() if m.pk != membership.pk]
            position = max(0, min(position, len(rows)))
            rows.insert(position, membership)
            _renumber(rows)
            membership.position = position
        _changed(membership.campaign)
    return membership


def membership_remove(*, membership: Membership) -> None:
    with transaction.atomic():
        campaign = membership.campaign
        membership.delete()
        _renumber(campaign.memberships.all())
        _changed(campaign, agent_ids=[membership.agent_id])


def campaign_set_supervisors(*, campaign: Campaign, supervisor_ids: Sequence[int]) -> None:
    users = list(User.objects.filter(pk__in=supervisor_ids))
    if len(users) != len(set(supervisor_ids)):
        raise ApplicationError(
            "unknown_user", _("One of the supervisors does not exist."), field="supervisors"
        )
    if any(u.role != Role.SUPERVISOR for u in users):
        raise ApplicationError(
            "not_a_supervisor", _("Only users with the supervisor role can supervise."), field="supervisors"
        )
    with transaction.atomic():
        before = set(campaign.supervisors.values_list("pk", flat=True))
        campaign.supervisors.set(users)
        _changed(campaign, supervisor_ids=before.symmetric_difference(u.pk for u in users))


def disposition_create(*, campaign: Campaign, name: str, parent: Disposition | None = None) -> Disposition:
    name = name.strip()
    if not name:
        raise ApplicationError("invalid_name", _("A disposition needs a name."), field="name")
    if len(name) > 100:
        raise ApplicationError(
            "too_long", _("A disposition name is limited to 100 characters."), field="name"
        )
    if parent is not None:
        if parent.campaign_id != campaign.pk:
            raise ApplicationError(
                "invalid_parent", _("The parent belongs to another campaign."), field="parent"
            )
        if parent.parent_id is not None:
            raise ApplicationError(
                "too_deep", _("Dispositions have two levels; choose a top-level parent."), field="parent"
            )
    siblings = campaign.dispositions.filter(parent=parent)
    if siblings.filter(name__iexact=name).exists():
        raise ApplicationError(
            "duplicate_name",
            _("“%(name)s” already exists at this level.") % {"name": name},
            status=409,
            field="name",
        )
    with transaction.atomic():
        disposition = Disposition.objects.create(
            campaign=campaign, parent=parent, name=name, position=siblings.count()
        )
        _changed(campaign)
    return disposition


def disposition_rename(*, disposition: Disposition, name: str) -> Disposition:
    name = name.strip()
    if not name or len(name) > 100:
        raise ApplicationError(
            "invalid_name", _("A disposition needs a name of at most 100 characters."), field="name"
        )
    clash = Disposition.objects.filter(
        campaign_id=disposition.campaign_id, parent_id=disposition.parent_id, name__iexact=name
    ).exclude(pk=disposition.pk)
    if clash.exists():
        raise ApplicationError(
            "duplicate_name",
            _("“%(name)s” already exists at this level.") % {"name": name},
            status=409,
            field="name",
        )
    with transaction.atomic():
        disposition.name = name
        disposition.save(update_fields=["name"])
        _changed(disposition.campaign)
    return disposition


def disposition_delete(*, disposition: Disposition) -> None:
    """Delete a disposition (and its sub-dispositions) that no conversation was closed with. One in use
    is refused: the conversations' foreign key would be cleared, and their transcripts, the recordings'
    filter and the CSV would lose how they ended. Renaming keeps the history."""
    with transaction.atomic():
        ids = [disposition.pk, *disposition.children.values_list("pk", flat=True)]
        used = Disposition.objects.filter(pk__in=ids).aggregate(n=Count("closed_conversations"))["n"]
        if used:
            raise ApplicationError(
                "disposition_in_use",
                ngettext(
                    "“%(name)s” is the disposition of %(n)d conversation; deleting it would erase it from its "
                    "history. Rename it instead.",
                    "“%(name)s” is the disposition of %(n)d conversations; deleting it would erase it from their "
                    "history. Rename it instead.",
                    used,
                )
                % {"name": str(disposition), "n": used},
                status=409,
            )
        campaign = disposition.campaign
        disposition.delete()
        _changed(campaign)


def blocked_contact_add(
    *, campaign: Campaign, psid: str, note: str = "", by: User | None = None
) -> BlockedContact:
    psid = psid.strip()
    if not psid or not psid.isdigit() or len(psid) > TEXT_LIMITS["psid"]:
        raise ApplicationError(
            "invalid_psid", _("A PSID is the customer's page-scoped id: digits only, up to 64."), field="psid"
        )
    if len(note) > TEXT_LIMITS["note"]:
        raise ApplicationError("too_long", _("The note is limited to 300 characters."), field="note")
    try:
        with transaction.atomic():
            blocked = BlockedContact.objects.create(
                campaign=campaign, psid=psid, note=note.strip(), created_by=by
            )
            _changed(campaign)
    except IntegrityError:
        raise ApplicationError(
            "duplicate_psid", _("That PSID is already blocked in this campaign."), status=409, field="psid"
        ) from None
    return blocked


def blocked_contact_remove(*, blocked: BlockedContact) -> None:
    with transaction.atomic():
        campaign = blocked.campaign
        blocked.delete()
        _changed(campaign)


# --- Integrations (issue 15) ------------------------------------------------------------------------
# An integration acts as its own user of role `integration` (campaigns.models.Integration): its tokens
# are that user's ApiTokens, so the API's one token check serves both, and revoking it deactivates
# that user, which refuses every token of it at once (accounts.selectors.user_get_by_api_token).

INTEGRATION_NAME_MAX = 100


def _integration_campaigns(campaign_ids: Sequence[int]) -> list[Campaign]:
    ids = list(dict.fromkeys(campaign_ids))
    if not ids:
        raise ApplicationError(
            "campaigns_required",
            _("Choose at least one campaign the integration may work in."),
            field="campaigns",
        )
    campaigns = list(Campaign.objects.filter(pk__in=ids))
    missing = sorted(set(ids) - {c.pk for c in campaigns})
    if missing:
        raise ApplicationError(
            "invalid_campaign",
            _("There is no campaign with id %(ids)s.") % {"ids": ", ".join(map(str, missing))},
            field="campaigns",
        )
    return campaigns


def _integration_username(name: str) -> str:
    """`integration-<slug>`, unique: a second name with the same slug gets a number."""
    base = f"integration-{slugify(name)[:40] or 'api'}"
    username, n = base, 1
    while User.objects.filter(username__iexact=username).exists():
        n += 1
        username = f"{base}-{n}"
    return username


def integration_create(*, name: str, campaign_ids: Sequence[int], created_by: User | None) -> Integration:
    """Create an integration and its user (role integration, no usable password: it never logs in)."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError("invalid_name", _("Give the integration a name."), field="name", status=422)
    if len(name) > INTEGRATION_NAME_MAX:
        raise ApplicationError(
            "invalid_name",
            _("The name can be up to %(max)s characters.") % {"max": INTEGRATION_NAME_MAX},
            field="name",
            status=422,
        )
    if Integration.objects.filter(name__iexact=name).exists():
        raise ApplicationError(
            "duplicate_name",
            _("An integration named “%(name)s” already exists.") % {"name": name},
            field="name",
            status=409,
        )
    campaigns = _integration_campaigns(campaign_ids)
    with transaction.atomic():
        user = user_create(
            username=_integration_username(name), role=Role.INTEGRATION, password=None, display_name=name
        )
        try:
            with transaction.atomic():
                integration = Integration.objects.create(user=user, name=name, created_by=created_by)
        except IntegrityError:
            raise ApplicationError(
                "duplicate_name",
                _("An integration named “%(name)s” already exists.") % {"name": name},
                field="name",
                status=409,
            ) from None
        integration.campaigns.set(campaigns)
    return integration


def _require_not_revoked(integration: Integration) -> None:
    if integration.revoked_at is not None:
        raise ApplicationError(
            "integration_revoked",
            _("The integration “%(name)s” was revoked; create a new one instead.")
            % {"name": integration.name},
            status=409,
        )


def integration_update_campaigns(*, integration: Integration, campaign_ids: Sequence[int]) -> Integration:
    """The campaigns the integration may work in from now on (its scope is read on every request)."""
    _require_not_revoked(integration)
    campaigns = _integration_campaigns(campaign_ids)
    with transaction.atomic():
        integration.campaigns.set(campaigns)
        integration.updated_at = clock.now()
        integration.save(update_fields=["updated_at"])
    return integration


def integration_token_create(*, integration: Integration, name: str = "") -> tuple[ApiToken, str]:
    """A new token for the integration; the raw value is returned once and never stored."""
    _require_not_revoked(integration)
    return api_token_create(user=integration.user, name=name.strip() or integration.name)


def integration_token_revoke(*, integration: Integration, token: ApiToken) -> None:
    if token.user_id != integration.user_id:
        raise ApplicationError("not_found", _("The integration has no such token."), status=404)
    if token.revoked_at is None:
        api_token_revoke(token=token)


def integration_revoke(*, integration: Integration) -> Integration:
    """End the integration: its user is deactivated, so every token of it is refused from now on, and
    its tokens are marked revoked too, so the pages say so. Its messages stay, authored by it."""
    if integration.revoked_at is not None:
        return integration
    now = clock.now()
    with transaction.atomic():
        user_update(user=integration.user, is_active=False)
        ApiToken.objects.filter(user=integration.user, revoked_at__isnull=True).update(revoked_at=now)
        integration.revoked_at = now
        integration.updated_at = now
        integration.save(update_fields=["revoked_at", "updated_at"])
    return integration
