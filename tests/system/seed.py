"""Seed a system-test database (run as a subprocess with the cluster's environment, after migrate).

A ringall campaign open around the clock on the simulator's "Acme Support" page, with its seed page
token, and agents who are available, each with a logged-in session. While nobody takes a conversation
it stays queued, and each of its messages reaches every member's socket (docs/events.md "Ringall
members"): the agents who should see every message are all of them.

Usage: python tests/system/seed.py OUT.json AGENTS
"""

from __future__ import annotations

import json
import os
import sys

PAGE_ID = "1000000000000001"  # the simulator's seeded "Acme Support"
PAGE_TOKEN = "EAASIMacmeSupportSeedPageToken0000000000000001"


def main() -> None:
    out, agents = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pagedesk.config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from pagedesk.accounts.models import Presence, User
    from pagedesk.campaigns import schedule
    from pagedesk.campaigns.services import MemberSpec, campaign_create, membership_set
    from pagedesk.messenger.models import PageConnection, TokenStatus
    from pagedesk.messenger.tokens import page_token_set

    users = [
        User.objects.create(
            username=f"agent{i}", role="agent", first_name=f"Agent{i}", presence=Presence.AVAILABLE
        )
        for i in range(agents)
    ]
    campaign = campaign_create(
        fields={"name": "Acme Support", "page_name": "Acme Support", "strategy": "ringall"},
        ranges=[schedule.Range(schedule.ALL_WEEKDAYS, 0, schedule.MINUTES_PER_DAY)],
    )
    membership_set(campaign=campaign, members=[MemberSpec(agent_id=u.pk) for u in users])
    connection = PageConnection.objects.get(campaign=campaign)  # campaign_create made it, empty
    connection.page_id, connection.page_name, connection.token_status = (
        PAGE_ID,
        "Acme Support",
        TokenStatus.ACTIVE,
    )
    page_token_set(page_connection=connection, token=PAGE_TOKEN)
    connection.save()
    sessions = []
    for user in users:
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        sessions.append(store.session_key)
    with open(out, "w") as handle:
        json.dump({"cookie": settings.SESSION_COOKIE_NAME, "sessions": sessions, "page_id": PAGE_ID}, handle)


if __name__ == "__main__":
    main()
