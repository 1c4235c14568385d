"""The pg_dump / pg_restore commands `pagedesk backup` and `restore` print on PostgreSQL: the configured
database's, ready to paste, and never with its password."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pagedesk.core import backup


@pytest.fixture
def database(monkeypatch):
    def configure(**db: object) -> None:
        monkeypatch.setattr(backup, "settings", SimpleNamespace(DATABASES={"default": db}))

    return configure


def test_pg_dump_names_the_configured_database_without_its_password(database):
    database(HOST="db.internal", PORT=6432, USER="pagedesk", PASSWORD="s3cret", NAME="pagedesk")
    command = backup.pg_dump_command(file="nightly.dump")
    assert command == (
        "pg_dump --format=custom --host=db.internal --port=6432 --username=pagedesk --dbname=pagedesk "
        "--file=nightly.dump"
    )
    assert "s3cret" not in backup.pg_restore_command(file="nightly.dump")


def test_what_is_not_configured_is_left_to_libpq_and_awkward_names_are_quoted_for_the_shell(database):
    database(HOST="", PORT="", USER="", PASSWORD="", NAME="pagedesk prod")
    assert backup.pg_restore_command(file="x.dump") == (
        "pg_restore --clean --if-exists --no-owner '--dbname=pagedesk prod' x.dump"
    )
