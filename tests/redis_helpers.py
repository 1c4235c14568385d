"""Redis for the tests that run against a real one: whether it is there, and the channel layer on it.

Shared by the realtime delivery tests and the worker wake-up tests; a test marked `needs_redis` is
skipped when nothing listens on 127.0.0.1:6379.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import pytest

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


needs_redis = pytest.mark.skipif(not redis_reachable(), reason="Redis is not running on 127.0.0.1:6379")


def use_redis_layer(settings: Any, name: str) -> str:
    """Point the test's CHANNEL_LAYERS at the Redis pub/sub layer on REDIS_URL; returns its prefix.

    Pub/sub channels leave no keys behind; the prefix (the test's `name` and this process's id) keeps
    parallel runs apart.
    """
    prefix = f"pagedesk-test-{name}-{os.getpid()}"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": prefix},
        }
    }
    return prefix
