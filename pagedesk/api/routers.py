"""Mounts each resource's router exactly once (URL conf can be imported more than once in tests)."""

from __future__ import annotations

from pagedesk.api.accounts import router as accounts_router
from pagedesk.api.attachments import router as attachments_router
from pagedesk.api.campaigns import router as campaigns_router
from pagedesk.api.conversation_actions import router as conversation_actions_router
from pagedesk.api.integrations import router as integrations_router
from pagedesk.api.main import api
from pagedesk.api.monitoring import router as monitoring_router

_mounted = False


def mount_routers() -> None:
    global _mounted
    if _mounted:
        return
    _mounted = True
    api.add_router("/", accounts_router)
    api.add_router("/campaigns", campaigns_router)
    api.add_router("/campaigns", monitoring_router)
    api.add_router("/conversations", conversation_actions_router)
    api.add_router("/integrations", integrations_router)
    # The files the message shape links to (pagedesk.platform.shapes.attachment_shape).
    api.add_router("/", attachments_router)
