"""The full-text index over message text: PostgreSQL GIN on to_tsvector('simple', text), SQLite FTS5.

The index lives beside conversations_message rather than in a model: on PostgreSQL it is an
expression index the planner uses when a query repeats the same expression (MATCH_SQL below); on
SQLite it is an external-content FTS5 table kept in sync by triggers. `fts_ensure` is idempotent and
runs from the migration and again after every `migrate` (post_migrate), because Django's SQLite
schema editor rebuilds a table to alter it, which silently drops that table's triggers.

PostgreSQL also stores each message's vector in a generated column, `text_search` (same expression,
computed on write). A common word is searched by probing conversations' messages one by one (see
selectors.text_match_condition); recomputing to_tsvector for every probed message made that probe
cost ~5x more (at 1 M messages, a capped count: 120 ms → 25 ms). The column is kept by PostgreSQL
itself on every insert and update, so nothing else has to remember it. One consequence for later
migrations: PostgreSQL refuses to change the type of `text` while the column depends on it (drop the
column first; fts_ensure re-creates it).
"""

from __future__ import annotations

import re

from django.db.backends.base.base import BaseDatabaseWrapper

FTS_TABLE = "recordings_message_fts"
# FTS5's vocabulary (word → number of messages containing it): the SQLite plan choice's statistics.
FTS_VOCAB_TABLE = "recordings_message_fts_vocab"
PG_INDEX = "recordings_message_text_fts"
PG_VECTOR_COLUMN = "text_search"

# The conversation ids whose messages match, through the GIN index; the one parameter is the user's
# text. Used as `id = ANY(ARRAY(...))`: the array is built once and its ids are looked up by primary
# key, where `id IN (...)` let the planner hash the matches and scan every conversation to probe them.
PG_MATCH_SQL = (
    "SELECT conversation_id FROM conversations_message "
    "WHERE to_tsvector('simple', text) @@ plainto_tsquery('simple', %s)"
)
# The same match for one message row, on the stored vector (the walk's per-conversation probe).
PG_MESSAGE_MATCHES_SQL = "text_search @@ plainto_tsquery('simple', %s)"
# What the planner expects that match to return, from the index's statistics (most common lexemes and
# their frequencies, gathered by ANALYZE): EXPLAIN reads no rows.
PG_ESTIMATE_SQL = (
    "EXPLAIN (FORMAT JSON) SELECT 1 FROM conversations_message "
    "WHERE to_tsvector('simple', text) @@ plainto_tsquery('simple', %s)"
)
# The conversation ids whose messages match (SQLite); the parameter is a quoted FTS5 query (fts_query).
SQLITE_MATCH_SQL = (
    "SELECT m.conversation_id FROM conversations_message m "
    "WHERE m.id IN (SELECT rowid FROM recordings_message_fts WHERE recordings_message_fts MATCH %s)"
)

# One message row's match (the walk's probe), `{pk}` being that row's id: FTS5 seeks the id in each
# word's document list instead of listing every match. (`id IN (SELECT rowid ... MATCH)` here instead
# is planned as a list rebuilt per probe: minutes for a common word.)
SQLITE_MESSAGE_MATCHES_SQL = (
    "EXISTS (SELECT 1 FROM recordings_message_fts WHERE recordings_message_fts MATCH %s AND rowid = {pk})"
)

_SQLITE_TRIGGERS = [
    """CREATE TRIGGER IF NOT EXISTS recordings_message_fts_ai AFTER INSERT ON conversations_message BEGIN
        INSERT INTO recordings_message_fts(rowid, text) VALUES (new.id, new.text);
    END""",
    """CREATE TRIGGER IF NOT EXISTS recordings_message_fts_ad AFTER DELETE ON conversations_message BEGIN
        INSERT INTO recordings_message_fts(recordings_message_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END""",
    """CREATE TRIGGER IF NOT EXISTS recordings_message_fts_au AFTER UPDATE OF text ON conversations_message BEGIN
        INSERT INTO recordings_message_fts(recordings_message_fts, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO recordings_message_fts(rowid, text) VALUES (new.id, new.text);
    END""",
]


# The recordings list is "newest first" over all (or one campaign's) conversations; without these the
# first page of a common search term sorts every match. Raw SQL beside the full-text index for the same
# reason: the conversations app owns the model, and a SQLite table rebuild would drop unknown indexes
# (fts_ensure re-creates them after every migrate).
_LIST_INDEXES = [
    "CREATE INDEX IF NOT EXISTS recordings_conv_created_idx ON conversations_conversation (created_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS recordings_conv_campaign_created_idx "
    "ON conversations_conversation (campaign_id, created_at DESC, id DESC)",
    # The board's "completed today" per agent (monitoring.selectors), without scanning their history.
    "CREATE INDEX IF NOT EXISTS recordings_conv_agent_closed_idx ON conversations_conversation (agent_id, state, closed_at)",
]


class FullTextUnavailable(RuntimeError):
    pass


def sqlite_has_fts5(connection: BaseDatabaseWrapper) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sqlite_compileoption_used('ENABLE_FTS5')")
        (enabled,) = cursor.fetchone()
        if enabled:
            return True
        try:  # some builds load FTS5 without the compile option being reported
            cursor.execute("CREATE VIRTUAL TABLE temp.pagedesk_fts5_probe USING fts5(x)")
            cursor.execute("DROP TABLE temp.pagedesk_fts5_probe")
        except Exception:
            return False
        return True


def fts_ensure(connection: BaseDatabaseWrapper) -> None:
    """Create the index (and, on SQLite, its triggers) if missing; rebuild when triggers were lost."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE INDEX IF NOT EXISTS recordings_message_text_fts ON conversations_message "
                "USING gin (to_tsvector('simple', text))"
            )
            # Rewrites the table once (the column is computed for every existing row).
            cursor.execute(
                "ALTER TABLE conversations_message ADD COLUMN IF NOT EXISTS text_search tsvector "
                "GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED"
            )
            for statement in _LIST_INDEXES:
                cursor.execute(statement)
        return
    if connection.vendor != "sqlite":
        return
    if not sqlite_has_fts5(connection):
        raise FullTextUnavailable(
            "This SQLite library was built without FTS5, which recordings search needs. "
            "Use Python's bundled sqlite3 (it has FTS5) or PostgreSQL."
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
            ["recordings_message_fts_a%"],
        )
        (triggers,) = cursor.fetchone()
        cursor.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS recordings_message_fts USING fts5("
            "text, content='conversations_message', content_rowid='id', "
            "tokenize='unicode61 remove_diacritics 2')"
        )
        cursor.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS recordings_message_fts_vocab "
            "USING fts5vocab(recordings_message_fts, 'row')"
        )
        for statement in _SQLITE_TRIGGERS + _LIST_INDEXES:
            cursor.execute(statement)
        if triggers < len(_SQLITE_TRIGGERS):
            # Rows written while the triggers were missing (or before the index existed) get indexed now.
            cursor.execute("INSERT INTO recordings_message_fts(recordings_message_fts) VALUES ('rebuild')")


def fts_drop(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP INDEX IF EXISTS recordings_message_text_fts")
            cursor.execute("ALTER TABLE conversations_message DROP COLUMN IF EXISTS text_search")
            cursor.execute("DROP INDEX IF EXISTS recordings_conv_created_idx")
            cursor.execute("DROP INDEX IF EXISTS recordings_conv_campaign_created_idx")
            cursor.execute("DROP INDEX IF EXISTS recordings_conv_agent_closed_idx")
        elif connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER IF EXISTS recordings_message_fts_ai")
            cursor.execute("DROP TRIGGER IF EXISTS recordings_message_fts_ad")
            cursor.execute("DROP TRIGGER IF EXISTS recordings_message_fts_au")
            cursor.execute("DROP TABLE IF EXISTS recordings_message_fts_vocab")
            cursor.execute("DROP TABLE IF EXISTS recordings_message_fts")
            cursor.execute("DROP INDEX IF EXISTS recordings_conv_created_idx")
            cursor.execute("DROP INDEX IF EXISTS recordings_conv_campaign_created_idx")
            cursor.execute("DROP INDEX IF EXISTS recordings_conv_agent_closed_idx")


_TOKEN = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str:
    """User text → an FTS5 query matching every word (AND), each quoted so no FTS5 syntax leaks in.

    Words are split like the 'simple' PostgreSQL configuration splits them, so both engines find the
    same conversations for the same input.
    """
    return " ".join(f'"{token}"' for token in _TOKEN.findall(text))


def search_terms(text: str) -> list[str]:
    return _TOKEN.findall(text)
