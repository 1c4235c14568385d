"""`pagedesk restore --from FILE`: put a `pagedesk backup` archive back into this install."""

from __future__ import annotations

import argparse
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from pagedesk.core.backup import backup_restore, pg_restore_command
from pagedesk.core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Restore a `pagedesk backup` archive into PAGEDESK_DATA_DIR and (embedded) its database. Stop "
        "pagedesk first; afterwards run `pagedesk migrate`."
    )
    # The target may be an empty data dir with no database yet: nothing to check.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--from", required=True, dest="source", metavar="FILE", help="The archive.")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Restore even though the target holds data (kept in <data dir>/replaced-<time>/).",
        )

    def handle(self, *args: object, source: str, force: bool, **options: object) -> None:
        try:
            result = backup_restore(source=Path(source), force=force)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            _("Restored the backup made at %(at)s by pagedesk %(version)s.")
            % {"at": result.backup_created_at, "version": result.pagedesk_version}
        )
        if result.database_restored:
            self.stdout.write(_("Database: restored."))
        self.stdout.write(
            ngettext("Attachments: %(count)s file.", "Attachments: %(count)s files.", result.media_files)
            % {"count": result.media_files}
        )
        if result.secrets:
            self.stdout.write(
                _("Keys restored into the data dir: %(names)s.") % {"names": ", ".join(result.secrets)}
            )
        if result.replaced_kept_in is not None:
            self.stdout.write(
                _("What was there before is kept in %(path)s; delete it once you no longer need it.")
                % {"path": result.replaced_kept_in}
            )
        if not result.database_restored:
            self.stdout.write(
                _(
                    "The PostgreSQL database was not touched: it is not in this archive. Restore it from "
                    "your pg_dump file (it asks for the password, or reads PGPASSWORD or ~/.pgpass), "
                    "e.g.\n  %(command)s"
                )
                % {"command": pg_restore_command()}
            )
        self.stdout.write(_("Next: run `pagedesk migrate`, then start pagedesk."))
