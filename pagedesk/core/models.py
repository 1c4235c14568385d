from __future__ import annotations

from django.db import models

from pagedesk.core import clock


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(default=clock.now, editable=False)
    updated_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self.updated_at = clock.now()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "updated_at"}
        super().save(*args, **kwargs)


class WorkerHeartbeat(models.Model):
    """A task worker's proof of life: written before its first claim, then every few seconds.

    A RUNNING task row whose worker stopped beating for the lease is reclaimed (core.leases).
    Times are wall-clock UTC, like django-tasks-db's own `started_at`: never the test clock.
    """

    worker_id = models.CharField(primary_key=True, max_length=64)
    hostname = models.CharField(max_length=255, blank=True)
    pid = models.IntegerField(null=True)
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.worker_id} ({self.hostname}:{self.pid})"
