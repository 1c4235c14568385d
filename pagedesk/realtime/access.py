"""Open sockets lose what a user may no longer see, at once (issue 13).

A socket's groups were computed when it connected, and re-computed only when its page asked. Now the
services that change what a user may see — memberships, supervised campaigns, role, `is_active`, the
password — call `access_changed` inside their transaction, and logging out calls `session_ended`:

1. Before the commit, an `access.hold` goes to the users' `user.<id>` groups and the service waits until
   the channel layer has taken it. Each of their sockets' hubs then keeps that socket's frames back
   from the moment the message arrives (realtime/hub.py). Any event published after the change is
   visible was handed to the layer after the hold, so it reaches the hub after it and is held too.
2. After the commit, `access.changed` makes each socket's consumer re-read the user's groups (the
   change is visible now): it joins and leaves groups, sends the held frames of the groups it still
   has, drops the others, and tells the page to re-fetch its snapshot. A user made inactive, or whose
   session ended (logged out, password changed), is disconnected (4403, 4401) and the page goes to
   the login page.
If the transaction rolls back, no `access.changed` comes; the consumer re-reads on its own after
`HOLD_SECONDS` (realtime/consumers.py), finds nothing changed and sends what it held.
"""

from __future__ import annotations

from collections.abc import Iterable

from pagedesk.realtime import groups
from pagedesk.realtime.publish import control_publish, control_send_now


def access_changed(*, user_ids: Iterable[int] = (), admins: bool = False) -> None:
    """Call inside the transaction that changes what these users (or every admin) may see."""
    to = [groups.user(user_id) for user_id in sorted(set(user_ids))]
    if admins:
        to.append(groups.admins())
    if not to:
        return
    control_send_now("hold", to=to)
    control_publish("changed", to=to)


def session_ended(*, user_id: int, session_key: str) -> None:
    """The sockets opened with this session close (4401): the user logged out."""
    control_publish("session_ended", to=[groups.user(user_id)], session_key=session_key)
