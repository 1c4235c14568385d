"""`pagedesk backup` / `pagedesk restore` (issue 16): what the archive holds, and every refusal.

These run the commands in-process against the test database, so they run on whichever the test run has:
on SQLite the archive carries a snapshot of it, on PostgreSQL only the attachments and the pg_dump advice.
A successful restore of a database replaces the database under the test's feet, so those run in
subprocesses on data dirs of their own (here for the schema, tests/integration/test_backup_under_load.py
for the load).
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import sqlite3
import stat
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from pagedesk.core import backup
from tests.embedded_instance import embedded_env, pagedesk

on_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="the embedded (SQLite) database")
on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="DATABASE_URL=postgres://…")
PICTURE = b"\x89PNG\r\n" + bytes(range(256)) * 40


@pytest.fixture
def data_dir(tmp_path, settings) -> Path:
    """A data dir of the test's own with one attachment file and the two keys embedded mode makes."""
    root = tmp_path / "data"
    settings.DATA_DIR = root
    settings.MEDIA_ROOT = root / "media"
    (root / "media" / "attachments" / "2026" / "12" / "07").mkdir(parents=True)
    (root / "media" / "attachments" / "2026" / "12" / "07" / "carla.png").write_bytes(PICTURE)
    (root / "secret_key").write_text("the-secret-key")
    (root / "token_key").write_text("the-token-key")
    return root


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


def manifest_of(archive: Path) -> dict:
    return json.loads(members(archive)["manifest.json"])


def rewrite(
    archive: Path, to: Path, change: Callable[[dict[str, bytes]], None], *, fix_checksums: bool
) -> Path:
    """A copy of `archive` with its members changed; `fix_checksums` makes the manifest agree again."""
    content = members(archive)
    change(content)
    if fix_checksums and "manifest.json" in content:
        manifest = json.loads(content["manifest.json"])
        for name, body in content.items():
            if name in manifest["files"]:
                manifest["files"][name] = {"size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
        content["manifest.json"] = json.dumps(manifest).encode()
    with tarfile.open(to, "w:gz") as tar:
        for name, body in content.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return to


@pytest.fixture
def archive(db, data_dir, tmp_path) -> Path:
    path = tmp_path / "pagedesk.tar.gz"
    run("backup", "--to", str(path))
    # The restore tests' target: a fresh, empty data dir.
    (data_dir / "media").rename(tmp_path / "source-media")
    return path


# --- backing up ----------------------------------------------------------------------------------------


def test_the_archive_holds_the_attachments_keys_and_a_manifest_with_their_checksums(db, data_dir, tmp_path):
    path = tmp_path / "out" / "pagedesk.tar.gz"
    path.parent.mkdir()
    said = run("backup", "--to", str(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it carries the token key
    assert sorted(os.listdir(path.parent)) == ["pagedesk.tar.gz"]  # no .partial left
    content = members(path)
    manifest = json.loads(content["manifest.json"])
    assert content["media/attachments/2026/12/07/carla.png"] == PICTURE
    assert content["secrets/token_key"] == b"the-token-key"
    assert manifest["format"] == backup.FORMAT
    assert manifest["database_vendor"] == connection.vendor
    assert manifest["counts"] == {"media_files": 1, "secrets": 2}
    assert manifest["created_at"].endswith("+00:00")
    assert "0001_initial" in manifest["migrations"]["conversations"]
    for name, body in content.items():
        if name != "manifest.json":
            assert manifest["files"][name] == {"size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    if connection.vendor == "sqlite":
        assert manifest["database_included"] is True
        assert manifest["database_sha256"] == manifest["files"][backup.DATABASE_MEMBER]["sha256"]
        assert "Backed up the database and 1 attachment file to" in said
    else:
        assert manifest["database_included"] is False and backup.DATABASE_MEMBER not in content
        assert "pg_dump" in manifest["database_note"]
        assert "does NOT hold it" in said


@on_postgres
def test_on_postgresql_it_prints_the_pg_dump_command_for_the_database_without_its_password(
    db, data_dir, tmp_path, monkeypatch
):
    from django.conf import settings

    monkeypatch.setitem(settings.DATABASES["default"], "PASSWORD", "s3cret-password")
    said = run("backup", "--to", str(tmp_path / "a.tar.gz"))
    db_settings = settings.DATABASES["default"]
    assert f"pg_dump --format=custom {' '.join(backup._pg_connection_args())} --file=" in said
    assert f"--dbname={db_settings['NAME']}" in said
    assert "s3cret-password" not in said


@on_sqlite
def test_the_snapshot_holds_commits_that_are_still_only_in_the_wal(tmp_path, settings):
    """A copy of the database file would miss them: the snapshot goes through SQLite's backup API."""
    live = tmp_path / "live.sqlite3"
    writer = sqlite3.connect(live, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # the app's commits sit in the -wal until a checkpoint
    writer.execute("CREATE TABLE t (x)")
    writer.execute("INSERT INTO t VALUES (1), (2), (3)")
    copy = tmp_path / "copy.sqlite3"
    # The open writer keeps the -wal un-checkpointed, as the serving app's connections do.
    backup._sqlite_snapshot(source=live, to=copy)
    writer.close()
    snapshot = sqlite3.connect(copy)
    assert snapshot.execute("SELECT count(*) FROM t").fetchone() == (3,)
    assert snapshot.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    snapshot.close()


def test_an_existing_file_is_kept_unless_forced(db, data_dir, tmp_path):
    path = tmp_path / "pagedesk.tar.gz"
    path.write_bytes(b"last night's backup")
    with pytest.raises(CommandError, match=r"already exists. Choose another name, or add --force"):
        run("backup", "--to", str(path))
    assert path.read_bytes() == b"last night's backup"
    run("backup", "--to", str(path), "--force")
    assert manifest_of(path)["counts"]["media_files"] == 1


def test_a_missing_folder_or_a_folder_as_target_is_a_clear_message(db, data_dir, tmp_path):
    with pytest.raises(CommandError, match=r"The folder .*nowhere does not exist"):
        run("backup", "--to", str(tmp_path / "nowhere" / "a.tar.gz"))
    with pytest.raises(CommandError, match="is a folder; give the path of the archive file"):
        run("backup", "--to", str(tmp_path))


def test_a_folder_it_may_not_write_to_is_a_clear_message(db, data_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(backup.os, "access", lambda path, mode: False)  # root may write anywhere here
    with pytest.raises(CommandError, match="No permission to write in"):
        run("backup", "--to", str(tmp_path / "a.tar.gz"))


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (errno.ENOSPC, "The disk is full"),
        (errno.EACCES, "No permission to use"),
        (errno.EIO, "Could not use .*: Input/output error"),
    ],
)
def test_a_disk_error_while_writing_is_a_message_and_leaves_no_partial_file(
    db, data_dir, tmp_path, monkeypatch, failure, message
):
    real_add = backup._add_file

    def add_then_fail(archive, path, name):
        if name.startswith(backup.MEDIA_PREFIX):
            raise OSError(failure, os.strerror(failure), str(tmp_path / "a.tar.gz.partial"))
        return real_add(archive, path, name)

    monkeypatch.setattr(backup, "_add_file", add_then_fail)
    with pytest.raises(CommandError, match=message):
        run("backup", "--to", str(tmp_path / "a.tar.gz"))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("a.tar.gz")] == []


# --- restoring: refusals --------------------------------------------------------------------------------


def assert_nothing_restored(data_dir: Path) -> None:
    assert not (data_dir / "media").exists() or not any((data_dir / "media").rglob("*.png"))
    assert (data_dir / "token_key").read_text() == "the-token-key"
    assert [p.name for p in data_dir.iterdir() if p.name.startswith((".restore-", "replaced-"))] == []


def test_a_missing_archive_is_a_message(db, data_dir, tmp_path):
    with pytest.raises(CommandError, match="There is no backup file at"):
        run("restore", "--from", str(tmp_path / "nope.tar.gz"))


def test_a_truncated_archive_is_refused(archive, data_dir, tmp_path):
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(CommandError, match="is not a usable pagedesk backup: it is damaged or incomplete"):
        run("restore", "--from", str(truncated))
    assert_nothing_restored(data_dir)


def test_something_that_is_not_an_archive_is_refused(archive, data_dir, tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"this is not a backup\n" * 100)
    with pytest.raises(CommandError, match="damaged or incomplete"):
        run("restore", "--from", str(junk))
    assert_nothing_restored(data_dir)


def test_an_archive_without_its_manifest_is_refused(archive, data_dir, tmp_path):
    cut = rewrite(archive, tmp_path / "cut.tar.gz", lambda c: c.pop("manifest.json"), fix_checksums=False)
    with pytest.raises(CommandError, match="it has no manifest"):
        run("restore", "--from", str(cut))
    assert_nothing_restored(data_dir)


def test_a_file_that_does_not_match_its_checksum_is_refused(archive, data_dir, tmp_path):
    def tamper(content: dict[str, bytes]) -> None:
        content["media/attachments/2026/12/07/carla.png"] = PICTURE[:-1] + b"!"

    altered = rewrite(archive, tmp_path / "altered.tar.gz", tamper, fix_checksums=False)
    with pytest.raises(CommandError, match=r"carla.png does not match its checksum"):
        run("restore", "--from", str(altered))
    assert_nothing_restored(data_dir)


def test_a_file_the_manifest_does_not_list_or_a_path_outside_the_data_dir_is_refused(
    archive, data_dir, tmp_path
):
    def smuggle(name: str) -> Callable[[dict[str, bytes]], None]:
        return lambda content: content.update({name: b"x"})

    extra = rewrite(archive, tmp_path / "extra.tar.gz", smuggle("media/extra.txt"), fix_checksums=False)
    with pytest.raises(CommandError, match=r"media/extra.txt is not in its manifest"):
        run("restore", "--from", str(extra))
    escape = rewrite(archive, tmp_path / "escape.tar.gz", smuggle("media/../../evil"), fix_checksums=True)
    with pytest.raises(CommandError, match="unexpected entry"):
        run("restore", "--from", str(escape))
    assert not (data_dir.parent / "evil").exists()
    assert_nothing_restored(data_dir)


def test_an_archive_from_a_newer_format_is_refused(archive, data_dir, tmp_path):
    def newer(content: dict[str, bytes]) -> None:
        manifest = json.loads(content["manifest.json"])
        manifest["format"] = backup.FORMAT + 1
        content["manifest.json"] = json.dumps(manifest).encode()

    future = rewrite(archive, tmp_path / "future.tar.gz", newer, fix_checksums=False)
    with pytest.raises(CommandError, match=r"was written by a newer pagedesk .* Upgrade pagedesk"):
        run("restore", "--from", str(future))
    assert_nothing_restored(data_dir)


def test_a_database_with_a_migration_this_code_does_not_know_is_refused(archive, data_dir, tmp_path):
    def from_the_future(content: dict[str, bytes]) -> None:
        manifest = json.loads(content["manifest.json"])
        manifest["migrations"]["conversations"].append("9999_from_the_future")
        content["manifest.json"] = json.dumps(manifest).encode()
        if backup.DATABASE_MEMBER in content:  # the database's own table is what is checked
            scratch = tmp_path / "future.sqlite3"
            scratch.write_bytes(content[backup.DATABASE_MEMBER])
            db = sqlite3.connect(scratch)
            db.execute(
                "INSERT INTO django_migrations (app, name, applied) VALUES "
                "('conversations', '9999_from_the_future', '2027-01-01')"
            )
            db.commit()
            db.close()
            content[backup.DATABASE_MEMBER] = scratch.read_bytes()

    future = rewrite(archive, tmp_path / "future.tar.gz", from_the_future, fix_checksums=True)
    with pytest.raises(
        CommandError, match=r"migration conversations.9999_from_the_future, which this version"
    ):
        run("restore", "--from", str(future))
    assert_nothing_restored(data_dir)


@on_sqlite
def test_a_database_that_holds_data_is_not_replaced_without_force(archive, data_dir, alice):
    with pytest.raises(CommandError, match=r"The configured database already holds data.*add --force"):
        run("restore", "--from", str(archive))
    assert_nothing_restored(data_dir)


def test_attachments_already_there_are_not_replaced_without_force(archive, data_dir, tmp_path):
    (data_dir / "media").mkdir()
    (data_dir / "media" / "kept.png").write_bytes(b"already here")
    with pytest.raises(CommandError, match=r"already holds files.*add --force"):
        run("restore", "--from", str(archive))
    assert (data_dir / "media" / "kept.png").read_bytes() == b"already here"


def test_an_archive_of_the_other_database_kind_is_refused(archive, data_dir, tmp_path):
    def other_kind(content: dict[str, bytes]) -> None:
        manifest = json.loads(content["manifest.json"])
        if manifest["database_included"]:
            manifest["database_included"] = False
            manifest["files"].pop(backup.DATABASE_MEMBER)
            content.pop(backup.DATABASE_MEMBER)
        else:
            manifest["database_included"] = True
            content[backup.DATABASE_MEMBER] = b"SQLite format 3\x00"
            manifest["files"][backup.DATABASE_MEMBER] = {}  # its checksum filled in by rewrite
        content["manifest.json"] = json.dumps(manifest).encode()

    other = rewrite(archive, tmp_path / "other.tar.gz", other_kind, fix_checksums=True)
    expected = (
        "without its database" if connection.vendor == "sqlite" else "holds an embedded .SQLite. database"
    )
    with pytest.raises(CommandError, match=expected):
        run("restore", "--from", str(other))
    assert_nothing_restored(data_dir)


# --- restoring on PostgreSQL: the attachments, and the pg_restore advice ---------------------------------


@on_postgres
def test_on_postgresql_the_attachments_and_keys_are_restored_and_pg_restore_is_explained(
    archive, data_dir, tmp_path
):
    said = run("restore", "--from", str(archive))
    assert (data_dir / "media" / "attachments" / "2026" / "12" / "07" / "carla.png").read_bytes() == PICTURE
    assert (data_dir / "token_key").read_text() == "the-token-key"
    assert "pg_restore --clean --if-exists --no-owner" in said and "pagedesk migrate" in said
    # Again, over what it restored: refused, then kept aside with --force.
    with pytest.raises(CommandError, match="already holds files"):
        run("restore", "--from", str(archive))
    said = run("restore", "--from", str(archive), "--force")
    [kept] = [p for p in data_dir.iterdir() if p.name.startswith("replaced-")]
    assert (kept / "media" / "attachments" / "2026" / "12" / "07" / "carla.png").read_bytes() == PICTURE
    assert f"kept in {kept}" in said


# --- restoring an embedded database (subprocesses: it replaces the database) ----------------------------


def test_an_older_backup_restores_and_migrate_brings_it_forward_and_force_keeps_what_it_replaced(tmp_path):
    source, target = tmp_path / "source", tmp_path / "target"
    source_env, target_env = embedded_env(source), embedded_env(target)
    for args in (
        ("migrate", "-v0"),
        # An install one migration behind this code: the backup of an older pagedesk.
        ("migrate", "routing", "0001", "-v0"),
        ("createuser", "--username", "ada", "--role", "admin", "--noinput"),
        ("backup", "--to", str(tmp_path / "old.tar.gz")),
    ):
        done = pagedesk({**source_env, "PAGEDESK_PASSWORD": "a-long-enough-password"}, *args)
        assert done.returncode == 0, done.stderr
    assert "0002_assignment_agent_conversation_index" not in manifest_of(tmp_path / "old.tar.gz")[
        "migrations"
    ].get("routing", [])

    # The target already holds someone: refused, then replaced with --force, the old kept aside.
    for args in (("migrate", "-v0"), ("createuser", "--username", "bob", "--role", "agent", "--noinput")):
        done = pagedesk({**target_env, "PAGEDESK_PASSWORD": "a-long-enough-password"}, *args)
        assert done.returncode == 0, done.stderr
    refused = pagedesk(target_env, "restore", "--from", str(tmp_path / "old.tar.gz"))
    assert refused.returncode == 1 and "already holds data" in refused.stderr
    assert "Traceback" not in refused.stderr
    restored = pagedesk(target_env, "restore", "--from", str(tmp_path / "old.tar.gz"), "--force")
    assert restored.returncode == 0, restored.stderr
    assert "What was there before is kept in" in restored.stdout

    migrated = pagedesk(target_env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "Applying routing.0002_assignment_agent_conversation_index" in migrated.stdout
    assert pagedesk(target_env, "migrate", "--check").returncode == 0

    def usernames(database: Path) -> set[str]:
        db = sqlite3.connect(database)
        try:
            return {name for (name,) in db.execute("SELECT username FROM accounts_user")}
        finally:
            db.close()

    assert usernames(target / "pagedesk.sqlite3") == {"ada"}
    [kept] = [p for p in target.iterdir() if p.name.startswith("replaced-")]
    assert usernames(kept / "pagedesk.sqlite3") == {"bob"}
    assert (kept / "token_key").read_bytes() != (target / "token_key").read_bytes()
    assert (target / "token_key").read_bytes() == (source / "token_key").read_bytes()
