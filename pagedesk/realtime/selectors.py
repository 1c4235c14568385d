"""Which audience groups a user may join; the websocket consumer asks here and nowhere else."""

from __future__ import annotations

from pagedesk.accounts.models import User
from pagedesk.campaigns.models import Campaign
from pagedesk.realtime import groups


def groups_for_user(*, user: User) -> list[str]:
    if user.is_admin:
        campaign_ids = list(Campaign.objects.values_list("pk", flat=True))
        return [groups.admins(), *(groups.supervisors(cid) for cid in campaign_ids)]
    if user.is_supervisor:
        campaign_ids = list(user.supervised_campaigns.values_list("pk", flat=True))
        return [groups.supervisor(user.pk), *(groups.supervisors(cid) for cid in campaign_ids)]
    campaign_ids = list(user.memberships.values_list("campaign_id", flat=True))
    return [groups.agent(user.pk), *(groups.campaign_queue(cid) for cid in campaign_ids)]
