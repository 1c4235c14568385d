"""`pagedesk backup --to FILE`: the database (embedded SQLite) and the attachments in one archive."""

from __future__ import annotations

import argparse
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from pagedesk.core.backup import backup_create, pg_dump_command
from pagedesk.core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Write a backup archive (tar.gz) of this install while it keeps serving: the SQLite database and "
        "the attachments; on PostgreSQL the attachments only (back the database up with pg_dump)."
    )
    # A backup must run against a database whatever state it is in; the checks could refuse it.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--to", required=True, metavar="FILE", help="The archive to write.")
        parser.add_argument("--force", action="store_true", help="Overwrite FILE if it exists.")

    def handle(self, *args: object, to: str, force: bool, **options: object) -> None:
        try:
            result = backup_create(to=Path(to), force=force)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        if result.database_included:
            self.stdout.write(
                ngettext(
                    "Backed up the database and %(count)s attachment file to %(path)s (%(size)s bytes).",
                    "Backed up the database and %(count)s attachment files to %(path)s (%(size)s bytes).",
                    result.media_files,
                )
                % {"count": result.media_files, "path": result.path, "size": result.size}
            )
        else:
            self.stdout.write(
                _(
                    "The database is PostgreSQL: this archive does NOT hold it. Back it up with pg_dump "
                    "just before this command, so every attachment its rows name is in the archive (it "
                    "asks for the password, or reads PGPASSWORD or ~/.pgpass):\n  %(command)s"
                )
                % {"command": pg_dump_command()}
            )
            self.stdout.write(
                ngettext(
                    "Backed up %(count)s attachment file to %(path)s (%(size)s bytes).",
                    "Backed up %(count)s attachment files to %(path)s (%(size)s bytes).",
                    result.media_files,
                )
                % {"count": result.media_files, "path": result.path, "size": result.size}
            )
