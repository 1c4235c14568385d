"""Database helpers shared by the services."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from django.db import close_old_connections, connections, models, router

M = TypeVar("M", bound=models.Model)


def lock_objects(queryset: models.QuerySet[M]) -> list[M]:
    """Lock rows in primary-key order and return them.

    Every service that locks more than one row goes through here, so concurrent transactions always
    take locks in the same order and cannot deadlock each other. On PostgreSQL this is
    SELECT … ORDER BY id FOR UPDATE OF the model's own table; on SQLite the surrounding IMMEDIATE
    transaction already holds the database write lock, and `select_for_update` is a no-op.
    Caller must be inside `transaction.atomic()`.
    """
    return list(queryset.order_by("pk").select_for_update(of=("self",)))


def ids(objects: Iterable[models.Model]) -> list[int]:
    return [obj.pk for obj in objects]


def sqlite_connections_keep() -> None:
    """Mark this thread's SQLite connections persistent, then close what Django would close anyway.

    For threads that live as long as the process (the task workers, the webhook threads). With
    CONN_MAX_AGE = 0, close_old_connections() reopens SQLite on every task or request: 1.5–2 ms of
    connect and PRAGMAs, on the way from a customer's message to the agents' screens (profiled with
    bench/inbound_to_agent.py). CONN_MAX_AGE itself stays 0: under ASGI each request context gets a
    new thread, whose connection would leak. An unusable connection (after an error) is still
    closed, and PostgreSQL connections still go back to their pool.
    """
    sqlite_connections_persist()
    close_old_connections()


def sqlite_connections_persist() -> None:
    """Mark this thread's SQLite connections persistent, for a caller whose request_finished signal
    runs close_old_connections itself (the webhook threads); see `sqlite_connections_keep`."""
    for db in connections.all(initialized_only=True):
        if db.vendor == "sqlite":
            db.close_at = None


class ConnectionClosingExecutor(ThreadPoolExecutor):
    """An event loop's default executor whose jobs close the database connections they opened.

    Under ASGI, Django renders an error page off the request's thread: `response_for_exception` runs
    under sync_to_async(thread_sensitive=False), on the loop's default executor (every 404, the
    browsers' /favicon.ico for one). The page's context reads the session and the user, so that thread
    opens a connection of its own, and nothing closes it: request_finished runs on the request's thread.
    On PostgreSQL each such thread kept a connection checked out of the pool (16 at most) for the life
    of the process. Found by the e2e runs, which could not drop their test database.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        def job() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                connections.close_all()

        return super().submit(job)


_executor_loop: asyncio.AbstractEventLoop | None = None


def default_executor_install() -> None:
    """Give the running loop a ConnectionClosingExecutor as its default executor (once per loop)."""
    global _executor_loop
    loop = asyncio.get_running_loop()
    if loop is not _executor_loop:
        loop.set_default_executor(ConnectionClosingExecutor(thread_name_prefix="pagedesk-default"))
        _executor_loop = loop


def rows_insert(
    model: type[models.Model], *, fields: list[str], rows: list[list[Any]], returning_pk: bool = False
) -> int | None:
    """INSERT rows of `model` (values in `fields` order, Python values) with one prepared statement,
    without the ORM's per-call SQL compiling; returns the pk of a single row when asked.

    For the few inserts on a hot path (the webhook outbox in the customer's transaction): profiled,
    `Model.objects.create` and `bulk_create` spent most of their time building the statement, not in
    the database. Values are prepared by each field (`get_db_prep_save`), as the ORM would. Only
    identifiers of the model itself go into the SQL text (quoted); every value is a parameter.
    """
    connection = connections[router.db_for_write(model) or "default"]
    meta = model._meta
    columns: list[Any] = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
        quote(meta.db_table),
        ", ".join(quote(column.column) for column in columns),
        ", ".join(["%s"] * len(columns)),
    )
    prepared = [
        [column.get_db_prep_save(value, connection) for column, value in zip(columns, row, strict=True)]
        for row in rows
    ]
    with connection.cursor() as cursor:
        if returning_pk:
            if len(prepared) != 1:
                raise ValueError("returning_pk needs exactly one row")
            pk_column: Any = meta.pk.column
            cursor.execute(f"{sql} RETURNING {quote(pk_column)}", prepared[0])
            return int(cursor.fetchone()[0])
        cursor.executemany(sql, prepared)
    return None
