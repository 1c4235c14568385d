"""Mounts each app's router exactly once (URL conf can be imported more than once in tests)."""

from __future__ import annotations

from pagedesk.api.main import api

_mounted = False


def mount_routers() -> None:
    global _mounted
    if _mounted:
        return
    _mounted = True
    from pagedesk.accounts.api import router as accounts_router
    from pagedesk.campaigns.api import router as campaigns_router
    from pagedesk.monitoring.api import router as monitoring_router

    api.add_router("/", accounts_router)
    api.add_router("/campaigns", campaigns_router)
    api.add_router("/campaigns", monitoring_router)
