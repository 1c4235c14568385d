"""Mounts each resource's router exactly once (URL conf can be imported more than once in tests)."""

from __future__ import annotations

from pagedesk.api.accounts import router as accounts_router
from pagedesk.api.campaigns import router as campaigns_router
from pagedesk.api.contacts import router as contacts_router
from pagedesk.api.conversation_actions import router as conversation_actions_router
from pagedesk.api.conversation_signals import router as conversation_signals_router
from pagedesk.api.conversations import router as conversations_router
from pagedesk.api.handoff import router as handoff_router
from pagedesk.api.integrations import router as integrations_router
from pagedesk.api.main import api
from pagedesk.api.monitoring import router as monitoring_router
from pagedesk.api.page_actions import router as page_actions_router
from pagedesk.api.pages import router as pages_router
from pagedesk.api.recordings import router as recordings_router
from pagedesk.api.webhooks import router as webhooks_router

_mounted = False


def mount_routers() -> None:
    global _mounted
    if _mounted:
        return
    _mounted = True
    api.add_router("/", accounts_router)
    api.add_router("/campaigns", campaigns_router)
    api.add_router("/campaigns", monitoring_router)
    api.add_router("/webhooks", webhooks_router)
    api.add_router("/conversations", handoff_router)
    api.add_router("/", conversations_router)
    api.add_router("/", contacts_router)
    api.add_router("/", recordings_router)
    api.add_router("/", pages_router)
    api.add_router("/conversations", conversation_signals_router)
    api.add_router("/pages", page_actions_router)
    api.add_router("/conversations", conversation_actions_router)
    api.add_router("/integrations", integrations_router)
