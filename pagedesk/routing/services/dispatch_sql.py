"""The hand-written SQL of one dispatch decision, with table names and constants filled in per
database vendor (docs/decisions/routing-locks.md). dispatch.py runs it.
"""

from __future__ import annotations

import functools

from pagedesk.accounts.models import Presence, User
from pagedesk.campaigns.models import Campaign, Membership
from pagedesk.conversations.models import Conversation, ConversationEvent
from pagedesk.routing.models import Assignment, Transfer, TransferState
from pagedesk.routing.services.primitives import ASSIGNED, QUEUED

# The dispatch transaction's statements. Hand-written rather than built by the ORM: a decision runs
# them once per queued customer, and with hundreds of members the ORM's query compilation and model
# instances cost more than the database work (docs/decisions/routing-locks.md). Only the columns
# routing needs are read. {names} are table names and constants from the models, filled in once by
# _dispatch_sql; values always go through %(name)s parameters.
_DISPATCH_TEMPLATES = {
    # The last served agent's ring position comes along for rrmemory (None when not a member).
    "lock_campaign": """
        SELECT c.enabled, c.strategy, c.max_interactions_per_agent, c.rr_last_agent_id, c.timezone,
               (SELECT p.position FROM {membership} p WHERE p.campaign_id = c.id AND p.agent_id = c.rr_last_agent_id)
        FROM {campaign} c WHERE c.id = %(campaign)s {lock_no_key}""",
    # The head, and whether anyone waits behind it (a pass ends without one more transaction).
    "lock_head": """
        SELECT h.id, h.version, h.transferred_by_id IS NOT NULL,
               EXISTS (SELECT 1 FROM {conversation} n
                       WHERE n.campaign_id = h.campaign_id AND n.state = '{queued}' AND n.id <> h.id)
        FROM {conversation} h WHERE h.campaign_id = %(campaign)s AND h.state = '{queued}'
        ORDER BY h.queue_order, h.id LIMIT 1 {lock_head}""",
    # Available members with their open assignments in every campaign (load counts across campaigns).
    # last_assigned_at only for leastrecent: parsing a datetime per member is most of the Python
    # cost of this read, and no other strategy looks at it.
    "candidates": """
        SELECT m.agent_id, m.position, m.penalty, NULL,
               (SELECT COUNT(*) FROM {conversation} l WHERE l.agent_id = m.agent_id AND l.state = '{assigned}')
        FROM {membership} m JOIN {user} u ON u.id = m.agent_id
        WHERE m.campaign_id = %(campaign)s AND u.presence = '{available}' AND u.is_active""",
    "candidates_leastrecent": """
        SELECT m.agent_id, m.position, m.penalty, u.last_assigned_at,
               (SELECT COUNT(*) FROM {conversation} l WHERE l.agent_id = m.agent_id AND l.state = '{assigned}')
        FROM {membership} m JOIN {user} u ON u.id = m.agent_id
        WHERE m.campaign_id = %(campaign)s AND u.presence = '{available}' AND u.is_active""",
    # fewest: plus this campaign's assignments since local midnight.
    "candidates_fewest": """
        SELECT m.agent_id, m.position, m.penalty, NULL,
               (SELECT COUNT(*) FROM {conversation} l WHERE l.agent_id = m.agent_id AND l.state = '{assigned}'),
               (SELECT COUNT(*) FROM {assignment} a
                WHERE a.campaign_id = m.campaign_id AND a.agent_id = m.agent_id AND a.at >= %(midnight)s)
        FROM {membership} m JOIN {user} u ON u.id = m.agent_id
        WHERE m.campaign_id = %(campaign)s AND u.presence = '{available}' AND u.is_active""",
    # Takes the agent's row lock; PostgreSQL re-checks the WHERE on the newest row version after any
    # wait, so no row means the agent left (Break, Offline, deactivated) meanwhile.
    "lock_agent": """
        UPDATE {user} SET last_assigned_at = %(at)s
        WHERE id = %(agent)s AND presence = '{available}' AND is_active""",
    # The re-count under the agent's lock: this statement starts after the lock was granted, so it
    # sees every assignment committed by whoever held the lock before. No row updated = full.
    "assign": """
        UPDATE {conversation}
        SET state = '{assigned}', agent_id = %(agent)s, assigned_at = COALESCE(assigned_at, %(at)s),
            version = version + 1
        WHERE id = %(conversation)s
          AND (SELECT COUNT(*) FROM {conversation} l WHERE l.agent_id = %(agent)s AND l.state = '{assigned}')
              < %(max_load)s""",
    "rr_pointer": "UPDATE {campaign} SET rr_last_agent_id = %(agent)s WHERE id = %(campaign)s",
    "accept_transfer": """
        UPDATE {transfer} SET state = '{accepted}', resolved_at = %(at)s
        WHERE conversation_id = %(conversation)s AND state = '{pending}'""",
    "insert_assignment": """
        INSERT INTO {assignment} (conversation_id, campaign_id, agent_id, how, at)
        VALUES (%(conversation)s, %(campaign)s, %(agent)s, 'routed', %(at)s)""",
    "insert_event": """
        INSERT INTO {event} (conversation_id, kind, actor_id, at, data)
        VALUES (%(conversation)s, 'assigned', NULL, %(at)s, %(event_data)s)""",
    # PostgreSQL: all the writes after the agent lock in one round trip (data-modifying CTEs share
    # one snapshot, taken after the lock was granted, like the separate statements on SQLite). The
    # other writes happen only when the conditional UPDATE assigned; the row count is the event's.
    "assign_all": """
        WITH assigned AS ({assign} RETURNING id){rr_pointer_cte}{accept_transfer_cte},
        recorded AS (
            INSERT INTO {assignment} (conversation_id, campaign_id, agent_id, how, at)
            SELECT id, %(campaign)s, %(agent)s, 'routed', %(at)s FROM assigned
        )
        INSERT INTO {event} (conversation_id, kind, actor_id, at, data)
        SELECT id, 'assigned', NULL, %(at)s, %(event_data)s FROM assigned""",
}


_RR_POINTER_CTE = """, pointer AS ({rr_pointer} AND EXISTS (SELECT 1 FROM assigned))"""


_ACCEPT_TRANSFER_CTE = """, accepted AS ({accept_transfer} AND EXISTS (SELECT 1 FROM assigned))"""


@functools.cache
def _dispatch_sql(vendor: str) -> dict[str, str]:
    """The statements with table names and constants filled in; `assign_all:<rr>:<transfer>` are the
    PostgreSQL variants with or without the rrmemory pointer and the pending-transfer update."""
    pg = vendor == "postgresql"
    names = {
        "campaign": Campaign._meta.db_table,
        "conversation": Conversation._meta.db_table,
        "membership": Membership._meta.db_table,
        "user": User._meta.db_table,
        "assignment": Assignment._meta.db_table,
        "transfer": Transfer._meta.db_table,
        "event": ConversationEvent._meta.db_table,
        "queued": QUEUED,
        "assigned": ASSIGNED,
        "available": Presence.AVAILABLE,
        "accepted": TransferState.ACCEPTED,
        "pending": TransferState.PENDING,
        # SQLite has no row locks: the IMMEDIATE transaction already holds the database's write lock.
        "lock_no_key": "FOR NO KEY UPDATE" if pg else "",
        "lock_head": "FOR UPDATE OF h" if pg else "",
    }
    sql = {key: template.format_map(_KeepMissing(names)) for key, template in _DISPATCH_TEMPLATES.items()}
    combined = sql.pop("assign_all")
    for rr in (False, True):
        for accept in (False, True):
            sql[f"assign_all:{rr:d}:{accept:d}"] = combined.format(
                assign=sql["assign"],
                rr_pointer_cte=_RR_POINTER_CTE.format(rr_pointer=sql["rr_pointer"]) if rr else "",
                accept_transfer_cte=(
                    _ACCEPT_TRANSFER_CTE.format(accept_transfer=sql["accept_transfer"]) if accept else ""
                ),
            )
    return {key: " ".join(statement.split()) for key, statement in sql.items()}


class _KeepMissing(dict[str, str]):
    """format_map leaves the placeholders it has no value for, for the second pass."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
