from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_fulltext(sender: AppConfig, using: str = "default", **kwargs: object) -> None:
    from django.db import connections

    # lazy (app loading): fts imports models, which are not ready when this module is imported.
    from pagedesk.recordings.fts import fts_ensure

    fts_ensure(connections[using])


class RecordingsConfig(AppConfig):
    name = "pagedesk.recordings"
    label = "recordings"

    def ready(self) -> None:
        # Re-create triggers a later table rebuild of conversations_message may have dropped (see fts.py).
        post_migrate.connect(_ensure_fulltext, sender=self, dispatch_uid="recordings-fulltext")
