"""Demo data: idempotent, so `make demo` can run again on an existing install without wiping anything."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from pagedesk.accounts.models import BreakReason, Role, User
from pagedesk.accounts.services import break_reason_create, user_create
from pagedesk.campaigns import schedule
from pagedesk.campaigns.models import Campaign
from pagedesk.campaigns.services import (
    CannedSpec,
    MemberSpec,
    campaign_create,
    campaign_set_supervisors,
    disposition_create,
    membership_set,
)
from pagedesk.messenger.direct import page_connection_activate_with_token
from pagedesk.messenger.models import TokenStatus

DEMO_CAMPAIGN = "Acme Support"
PERSONAS = [
    ("ada", Role.ADMIN, "Ada", "Lovelace"),
    ("sam", Role.SUPERVISOR, "Sam", "Supervisor"),
    ("alice", Role.AGENT, "Alice", "Agent"),
    ("bob", Role.AGENT, "Bob", "Agent"),
]


@dataclass
class DemoResult:
    created_users: list[str]
    campaign_created: bool


def demo_password(username: str) -> str:
    # Predictable on purpose: the demo prints them, and they only exist on a demo install.
    return f"{username}-pagedesk-demo"


def demo_activate(*, page_token: str) -> str:
    """Connect the demo campaign's page with a page token (the simulator seeds one); idempotent.

    Runs outside demo_load's transaction because it calls the Graph API (no HTTP inside transactions).
    """
    campaign = Campaign.objects.select_related("page_connection").get(name=DEMO_CAMPAIGN)
    if campaign.page_connection.token_status == TokenStatus.ACTIVE:
        return campaign.page_connection.page_name
    connection = page_connection_activate_with_token(campaign=campaign, page_token=page_token)
    return connection.page_name


@transaction.atomic
def demo_load() -> DemoResult:
    created: list[str] = []
    for username, role, first, last in PERSONAS:
        if not User.objects.filter(username=username).exists():
            user_create(
                username=username,
                role=role,
                password=demo_password(username),
                first_name=first,
                last_name=last,
                email=f"{username}@example.com",
            )
            created.append(username)
    for name in ("Lunch", "Training", "Meeting"):
        if not BreakReason.objects.filter(name=name).exists():
            break_reason_create(name=name)

    campaign_created = False
    if not Campaign.objects.filter(name=DEMO_CAMPAIGN).exists():
        campaign = campaign_create(
            fields={
                "name": DEMO_CAMPAIGN,
                "page_name": "Acme Support",
                "strategy": "rrmemory",
                "timezone": "Europe/Madrid",
                "max_interactions_per_agent": 3,
            },
            ranges=[schedule.Range(schedule.ALL_WEEKDAYS, 0, schedule.MINUTES_PER_DAY)],
            canned_responses=[
                CannedSpec("Greeting", "Hi {customer_first_name}, I'm {agent_first_name}. How can I help?"),
                CannedSpec("Thanks", "Thanks for writing to Acme, {customer_first_name}! Anything else?"),
                CannedSpec("Goodbye", "Have a great day! You can write to us any time."),
            ],
        )
        agents = User.objects.filter(username__in=["alice", "bob"]).order_by("username")
        membership_set(campaign=campaign, members=[MemberSpec(agent_id=a.pk) for a in agents])
        campaign_set_supervisors(
            campaign=campaign,
            supervisor_ids=list(User.objects.filter(username="sam").values_list("pk", flat=True)),
        )
        solved = disposition_create(campaign=campaign, name="Solved")
        disposition_create(campaign=campaign, name="Order status", parent=solved)
        disposition_create(campaign=campaign, name="Refund", parent=solved)
        disposition_create(campaign=campaign, name="Not solved")
        campaign_created = True
    return DemoResult(created_users=created, campaign_created=campaign_created)
