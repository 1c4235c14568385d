"""Database helpers shared by the services."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from django.db import models

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
