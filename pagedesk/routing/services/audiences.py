"""Who hears routing's events: supervisors always, the agents concerned, and a campaign's members
only when their pages show its queue (ringall); plus the queue-length and closed events every
routing change sends (docs/events.md).
"""

from __future__ import annotations

from pagedesk.campaigns.models import Campaign
from pagedesk.conversations.models import Conversation
from pagedesk.realtime import groups
from pagedesk.realtime.events import ConversationClosed, Event, QueueChanged
from pagedesk.realtime.publish import publish
from pagedesk.routing.services.primitives import QUEUED


def _queue_length(campaign_id: int) -> int:
    return Conversation.objects.filter(campaign_id=campaign_id, state=QUEUED).count()


def _audience(campaign: Campaign, *agent_ids: int | None) -> list[str]:
    return _audience_of(campaign.pk, *agent_ids, members=campaign.members_see_queue)


def _audience_of(campaign_id: int, *agent_ids: int | None, members: bool) -> list[str]:
    """Supervisors always, the agents named, and the members' queue group when their pages show
    the queue."""
    to = [groups.supervisors(campaign_id), *(groups.agent(a) for a in agent_ids if a)]
    if members:
        to.append(groups.campaign_queue(campaign_id))
    return to


def _publish(campaign: Campaign, event: Event, *agent_ids: int | None) -> None:
    publish(event, to=_audience(campaign, *agent_ids))


def _publish_queue_changed(campaign: Campaign, *, members: bool = False) -> None:
    """The new queue length, for the board. Members hear it only with members=True: every other
    change of a queue they see also sends them a conversation event in the same transaction
    (queued, assigned, transferred, abandoned, closed), on which their Pending list and its count
    re-fetch anyway; a second event would be one more frame per member and one more re-fetch."""
    publish(
        QueueChanged(campaign_id=campaign.pk, length=_queue_length(campaign.pk)),
        to=_audience_of(campaign.pk, members=members and campaign.members_see_queue),
    )


def _publish_closed(campaign: Campaign, conversation: Conversation, *, agent_id: int | None) -> None:
    _publish(
        campaign,
        ConversationClosed(
            conversation_id=conversation.pk,
            campaign_id=campaign.pk,
            agent_id=agent_id,
            state=conversation.state,
            version=conversation.version,
        ),
        agent_id,
    )
