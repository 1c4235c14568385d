"""What a socket may hear: the answer's shape, the close codes, and the session check any policy needs.

Which groups a user may join is the domain's rule (routing/sockets.py); the consumer asks it through
the SocketPolicy that config/websockets.py gives it, so realtime knows no user, campaign or agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.utils.crypto import constant_time_compare

# Close codes the page knows (pagedesk/core/static/pagedesk/app.js): both send it to the login page.
LOGGED_OUT = 4401
FORBIDDEN = 4403


@dataclass(frozen=True)
class SocketAccess:
    groups: list[str]
    close_code: int | None = None


class SocketPolicy(Protocol):
    """What the websocket consumer asks of the layers above realtime. Each method runs in a worker
    thread (database_sync_to_async), so it may read and write the database."""

    def groups(self, *, user: Any) -> list[str]:
        """The groups a socket may hear, for the user the handshake just authenticated."""
        ...

    def access(self, *, user_id: int, session_key: str | None) -> SocketAccess:
        """The groups an open socket may hear now, read afresh, or the code it must close with."""
        ...

    def opened(self, *, user: Any) -> None:
        """A socket of this authenticated user was accepted."""
        ...

    def closed(self, *, user: Any) -> None:
        """A socket that `opened` was called for has closed."""
        ...


def session_is_users(session_key: str, user: Any) -> bool:
    """Whether the session still exists and belongs to `user` (not logged out, expired, or opened
    before a password change)."""
    data = import_module(settings.SESSION_ENGINE).SessionStore(session_key).load()
    if str(data.get(SESSION_KEY, "")) != str(user.pk):
        return False
    return constant_time_compare(str(data.get(HASH_SESSION_KEY, "")), user.get_session_auth_hash())
