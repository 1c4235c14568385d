"""Mounts each app's router exactly once (URL conf can be imported more than once in tests)."""

from __future__ import annotations

_mounted = False


def mount_routers() -> None:
    global _mounted
    if _mounted:
        return
    _mounted = True
    # Routers are added here as apps gain an api.py.
