"""Reads for campaigns."""

from __future__ import annotations

import datetime as dt
import unicodedata

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from pagedesk.accounts.models import ApiToken, User
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
from pagedesk.core import clock
from pagedesk.core.errors import ApplicationError, NotFound, PermissionDenied


def campaign_list_for_user(*, user: User) -> QuerySet[Campaign]:
    """Admins see every campaign, supervisors those they supervise, integrations those they were given
    (Integration.campaigns), agents those they are members of."""
    campaigns = (
        Campaign.objects.select_related("page_connection", "bot_integration__user")
        .annotate(
            members_count=Count("memberships", distinct=True),
            # Whether the bot is still given this campaign (campaign_bot_state reads it without a query).
            bot_in_scope=Exists(
                Integration.campaigns.through.objects.filter(
                    campaign_id=OuterRef("pk"), integration_id=OuterRef("bot_integration_id")
                )
            ),
        )
        .prefetch_related(
            Prefetch("schedule_ranges", queryset=ScheduleRange.objects.order_by("position", "id")),
            Prefetch("holidays", queryset=Holiday.objects.order_by("date")),
        )
        .order_by("name")
    )
    if user.is_admin:
        return campaigns
    if user.is_supervisor:
        return campaigns.filter(supervisors=user)
    if user.is_integration:
        return campaigns.filter(integrations__user=user)
    return campaigns.filter(memberships__agent=user)


def campaign_get_for_user(*, user: User, campaign_id: int, manage: bool = False) -> Campaign:
    """A campaign the user may see (or, with manage=True, change: admins only)."""
    if manage and not user.is_admin:
        raise PermissionDenied("forbidden", _("Only administrators can change campaigns."))
    campaign = campaign_list_for_user(user=user).filter(pk=campaign_id).first()
    if campaign is None:
        # An integration, another system, does not learn which campaign ids exist beyond its own.
        if not user.is_integration and Campaign.objects.filter(pk=campaign_id).exists():
            raise PermissionDenied("forbidden", _("You do not have access to this campaign."))
        raise NotFound("not_found", _("There is no campaign with that id."))
    return campaign


def campaign_bot(*, campaign: Campaign) -> Integration | None:
    """The bot that answers the campaign's new conversations first, or None: no bot set, or its
    integration revoked (its user deactivated) or no longer given this campaign. A campaign whose bot
    is gone behaves as one without a bot: its customers go straight to the queue.

    No query when the campaign has no bot; one otherwise.
    """
    if campaign.bot_integration_id is None:
        return None
    return (
        Integration.objects.select_related("user")
        .filter(
            pk=campaign.bot_integration_id,
            revoked_at__isnull=True,
            user__is_active=True,
            campaigns=campaign,
        )
        .first()
    )


def campaign_bot_state(*, campaign: Campaign) -> str:
    """ "none" (no bot set), "active", or why the bot set is not answering: "revoked" (the integration
    was revoked) or "out_of_scope" (the integration is no longer given this campaign). For the
    campaign page and the API; a campaign from campaign_list_for_user costs no query."""
    bot = campaign.bot_integration
    if bot is None:
        return "none"
    if bot.revoked_at is not None or not bot.user.is_active:
        return "revoked"
    in_scope = getattr(campaign, "bot_in_scope", None)
    if in_scope is None:
        in_scope = bot.campaigns.filter(pk=campaign.pk).exists()
    return "active" if in_scope else "out_of_scope"


def bot_choices(*, campaign: Campaign | None) -> QuerySet[Integration]:
    """What the campaign page offers as its bot: the integrations given this campaign and not revoked,
    plus the bot set now (even revoked since, so saving the page keeps it). A new campaign: none yet."""
    if campaign is None or campaign.pk is None:
        return Integration.objects.none()
    offered = Q(campaigns=campaign, revoked_at__isnull=True, user__is_active=True)
    if campaign.bot_integration_id is not None:
        offered |= Q(pk=campaign.bot_integration_id)
    return Integration.objects.filter(offered).distinct().order_by("name")


def handoff_keywords(*, campaign: Campaign) -> list[str]:
    """The campaign's hand-off keywords, normalised as customer texts are (`handoff_keyword_normal`)."""
    words = (handoff_keyword_normal(w) for w in campaign.handoff_keywords.split(","))
    return [w for w in words if w]


def handoff_keyword_normal(text: str) -> str:
    """A text as keywords compare: accents dropped, case folded, punctuation and runs of spaces made
    one space, trimmed. "  Agent!! " , "AGENT" and "agént" all read "agent"; "talk to a human" stays
    four words (a keyword is the whole message, never a word inside one)."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    kept = "".join(ch if ch.isalnum() else " " for ch in plain)
    return " ".join(kept.split())


def handoff_keyword_matches(*, campaign: Campaign, text: str) -> bool:
    """Whether a customer's message is one of the campaign's hand-off keywords."""
    if not campaign.handoff_keywords.strip() or not text.strip():
        return False
    return handoff_keyword_normal(text) in handoff_keywords(campaign=campaign)


def campaign_ranges(*, campaign: Campaign) -> list[schedule.Range]:
    return [schedule.Range(r.weekdays, r.start_minute, r.end_minute) for r in campaign.schedule_ranges.all()]


def campaign_is_open(*, campaign: Campaign, at: dt.datetime | None = None) -> bool:
    """Within the weekly schedule and not a holiday, in the campaign's time zone."""
    return schedule.is_open(
        ranges=campaign_ranges(campaign=campaign),
        holidays=[h.date for h in campaign.holidays.all()],
        timezone=campaign.timezone,
        at=at or clock.now(),
    )


def campaign_next_schedule_change(*, campaign: Campaign, at: dt.datetime | None = None) -> dt.datetime | None:
    return schedule.next_change(
        ranges=campaign_ranges(campaign=campaign),
        holidays=[h.date for h in campaign.holidays.all()],
        timezone=campaign.timezone,
        at=at or clock.now(),
    )


def membership_list(*, campaign: Campaign) -> QuerySet[Membership]:
    """Members in routing order, with their agent rows (presence included)."""
    return campaign.memberships.select_related("agent", "agent__break_reason").order_by("position", "id")


def membership_get(*, campaign: Campaign, agent_id: int) -> Membership:
    membership = campaign.memberships.select_related("agent", "campaign").filter(agent_id=agent_id).first()
    if membership is None:
        raise NotFound("not_found", _("Agent %(id)s is not a member of this campaign.") % {"id": agent_id})
    return membership


def supervisor_list(*, campaign: Campaign) -> QuerySet[User]:
    return campaign.supervisors.order_by("username")


def canned_response_list(*, campaign: Campaign) -> QuerySet[CannedResponse]:
    return campaign.canned_responses.order_by("position", "id")


def canned_response_get(*, campaign: Campaign, canned_id: int) -> CannedResponse:
    canned = campaign.canned_responses.select_related("campaign").filter(pk=canned_id).first()
    if canned is None:
        raise NotFound(
            "not_found", _("This campaign has no canned response with id %(id)s.") % {"id": canned_id}
        )
    return canned


def disposition_tree(*, campaign: Campaign) -> list[Disposition]:
    """Top-level dispositions in order, each with `children` prefetched in order (two levels)."""
    return list(
        campaign.dispositions.filter(parent__isnull=True)
        .prefetch_related(Prefetch("children", queryset=Disposition.objects.order_by("position", "id")))
        .order_by("position", "id")
    )


def disposition_get(*, campaign: Campaign, disposition_id: int, field: str | None = None) -> Disposition:
    """A disposition of this campaign. With `field`, an unknown id is bad input on that field (422)."""
    disposition = campaign.dispositions.select_related("campaign").filter(pk=disposition_id).first()
    if disposition is None:
        message = _("This campaign has no disposition with id %(id)s.") % {"id": disposition_id}
        if field:
            raise ApplicationError("unknown_disposition", message, status=400, field=field)
        raise NotFound("not_found", message)
    return disposition


def blocked_contact_list(*, campaign: Campaign) -> QuerySet[BlockedContact]:
    return campaign.blocked_contacts.order_by("-created_at", "-id")


def blocked_contact_get(*, campaign: Campaign, blocked_id: int) -> BlockedContact:
    blocked = campaign.blocked_contacts.select_related("campaign").filter(pk=blocked_id).first()
    if blocked is None:
        raise NotFound(
            "not_found", _("This campaign has no blocked contact with id %(id)s.") % {"id": blocked_id}
        )
    return blocked


def agent_get_for_user(*, user: User, agent_id: int) -> User:
    """An agent whose presence `user` may read and set (the same rule for both).

    Admins: any agent. Supervisors: agents who are members of a campaign they supervise. Agents: only
    themselves. An existing agent outside that scope is a 403 and an unknown id a 404, the same rule as
    campaign_get_for_user.
    """
    agent = User.objects.select_related("break_reason").filter(pk=agent_id).first()
    if agent is None:
        raise NotFound("not_found", _("There is no agent with id %(id)s.") % {"id": agent_id})
    if user.is_admin:
        allowed = True
    elif user.is_supervisor:
        allowed = Membership.objects.filter(agent=agent, campaign__supervisors=user).exists()
    else:
        allowed = agent.pk == user.pk
    if not allowed:
        raise PermissionDenied(
            "forbidden", _("You can only see and change the presence of agents in campaigns you supervise.")
        )
    if not agent.is_agent:
        if agent.pk == user.pk:
            raise PermissionDenied("not_an_agent", _("Only agents have a presence."))
        raise NotFound(
            "not_an_agent", _("%(name)s is not an agent; only agents have a presence.") % {"name": agent.name}
        )
    return agent


# --- Integrations -----------------------------------------------------------------------------------


def integration_list() -> QuerySet[Integration]:
    """Every integration with its user, campaigns and tokens (newest token first): three queries."""
    return Integration.objects.select_related("user", "created_by").prefetch_related(
        Prefetch("campaigns", queryset=Campaign.objects.order_by("name")),
        Prefetch("user__api_tokens", queryset=ApiToken.objects.order_by("-created_at", "-id")),
    )


def integration_get(*, integration_id: int, field: str | None = None) -> Integration:
    """`field`: the request field that named it, for a refusal that points at it."""
    integration = integration_list().filter(pk=integration_id).first()
    if integration is None:
        raise NotFound(
            "not_found", _("There is no integration with id %(id)s.") % {"id": integration_id}, field=field
        )
    return integration


def integration_get_by_name(*, name: str) -> Integration | None:
    return integration_list().filter(name__iexact=name.strip()).first()


def integration_token_get(*, integration: Integration, token_id: int) -> ApiToken:
    token = ApiToken.objects.filter(pk=token_id, user_id=integration.user_id).first()
    if token is None:
        raise NotFound("not_found", _("The integration has no token with id %(id)s.") % {"id": token_id})
    return token


def integration_campaign_ids(*, user: User) -> list[int]:
    """The campaigns an integration's user may work in; none once it is revoked."""
    return list(
        Campaign.objects.filter(integrations__user=user, integrations__revoked_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
