"""Backups of one pagedesk install into one archive file, and restores from it (docs/backup.md).

An archive is a gzipped tar holding, in this order:
- `database/pagedesk.sqlite3`: on SQLite, a snapshot taken with SQLite's online backup API while the app
  keeps serving (a file copy of a WAL database can catch a half-written page or miss the WAL's commits);
- `media/…`: every file under MEDIA_ROOT (the messages' attachments);
- `secrets/secret_key`, `secrets/token_key`: the keys embedded mode generated into the data dir, when
  there. The token key decrypts the page tokens in the database: a restore without it loses every page's
  connection to Facebook. The archive is therefore written readable by its owner only;
- `manifest.json`, last: what the archive holds, with a sha256 per file, so a restore checks every byte
  and a truncated archive (no manifest) is refused.

On PostgreSQL the database is the operator's `pg_dump`; the archive holds the files and says so.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import io
import json
import os
import shlex
import shutil
import sqlite3
import tarfile
import zlib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.conf import settings
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Model
from django.utils.translation import gettext as _

from pagedesk.core import clock
from pagedesk.core.errors import ApplicationError

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE_MEMBER = "database/pagedesk.sqlite3"
MEDIA_PREFIX = "media/"
SECRETS_PREFIX = "secrets/"
# The keys `pagedesk.config.settings` generates into the data dir when the environment sets none.
SECRET_FILES = ("secret_key", "token_key")
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class BackupResult:
    path: Path
    vendor: str
    database_included: bool
    media_files: int
    size: int


@dataclass(frozen=True)
class RestoreResult:
    vendor: str
    database_restored: bool
    media_files: int
    secrets: list[str]
    # Where what the restore replaced was kept (only with force, when there was something to replace).
    replaced_kept_in: Path | None
    backup_created_at: str
    pagedesk_version: str


@dataclass
class _Manifest:
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        return self.data["files"]


# --- backing up ----------------------------------------------------------------------------------------


def backup_create(*, to: Path, force: bool = False) -> BackupResult:
    """Write an archive of the configured install to `to` (via `to.partial`, then a rename).

    Refuses an existing `to` unless `force`. Safe while the app serves: the SQLite snapshot is one
    read transaction (WAL lets writers go on meanwhile), and the files are listed after it, so every
    attachment the snapshot's rows name is already on disk.
    """
    target = to.expanduser().absolute()
    _check_writable_target(target, force=force)
    partial = target.with_name(target.name + ".partial")
    snapshot = target.with_name(target.name + ".partial-db")
    vendor = connections["default"].vendor
    try:
        with contextlib.ExitStack() as cleanup:
            cleanup.callback(_unlink_quietly, snapshot)
            cleanup.callback(_unlink_quietly, partial)
            files: dict[str, dict[str, Any]] = {}
            if vendor == "sqlite":
                _sqlite_snapshot(source=Path(settings.DATABASES["default"]["NAME"]), to=snapshot)
                migrations = _sqlite_migrations(snapshot)
            else:
                migrations = _connection_migrations()
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            # gzip's own default level: 9 costs several times the CPU for a few per cent, on a box
            # that is serving meanwhile (attachments are mostly compressed already).
            with (
                os.fdopen(fd, "wb") as raw,
                tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as archive,
            ):
                if vendor == "sqlite":
                    files[DATABASE_MEMBER] = _add_file(archive, snapshot, DATABASE_MEMBER)
                media_root = Path(settings.MEDIA_ROOT)
                for path in _files_under(media_root):
                    name = MEDIA_PREFIX + path.relative_to(media_root).as_posix()
                    with contextlib.suppress(FileNotFoundError):  # deleted since it was listed
                        files[name] = _add_file(archive, path, name)
                secrets = []
                for secret in SECRET_FILES:
                    path = Path(settings.DATA_DIR) / secret
                    if path.is_file():
                        files[SECRETS_PREFIX + secret] = _add_file(archive, path, SECRETS_PREFIX + secret)
                        secrets.append(secret)
                manifest = {
                    "format": FORMAT,
                    "pagedesk_version": _version(),
                    "created_at": clock.now().astimezone(dt.UTC).isoformat(),
                    "database_vendor": vendor,
                    "database_included": vendor == "sqlite",
                    "database_note": (
                        ""
                        if vendor == "sqlite"
                        else "The database is not in this archive: back it up with pg_dump."
                    ),
                    "migrations": migrations,
                    "counts": {
                        "media_files": sum(1 for name in files if name.startswith(MEDIA_PREFIX)),
                        "secrets": len(secrets),
                    },
                    "database_sha256": files.get(DATABASE_MEMBER, {}).get("sha256", ""),
                    "files": files,
                }
                body = json.dumps(manifest, indent=2, sort_keys=True).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = len(body), 0o600, int(clock.now().timestamp())
                archive.addfile(info, io.BytesIO(body))
                raw.flush()
                os.fsync(raw.fileno())
            if target.exists() and not force:  # appeared while we were writing
                raise ApplicationError("backup_exists", _exists_message(target))
            os.replace(partial, target)
            _fsync_dir(target.parent)
    except sqlite3.Error as exc:
        raise ApplicationError(
            "backup_database",
            _("Could not read the database for the backup: %(error)s") % {"error": exc},
        ) from exc
    except OSError as exc:
        raise _os_error(exc, path=target) from exc
    return BackupResult(
        path=target,
        vendor=vendor,
        database_included=vendor == "sqlite",
        media_files=manifest["counts"]["media_files"],
        size=target.stat().st_size,
    )


def _check_writable_target(target: Path, *, force: bool) -> None:
    if target.is_dir():
        raise ApplicationError(
            "backup_target_dir",
            _("%(path)s is a folder; give the path of the archive file to write.") % {"path": target},
        )
    if target.exists() and not force:
        raise ApplicationError("backup_exists", _exists_message(target))
    if not target.parent.is_dir():
        raise ApplicationError(
            "backup_no_dir",
            _("The folder %(dir)s does not exist; create it or choose another path.")
            % {"dir": target.parent},
        )
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise ApplicationError(
            "backup_no_permission",
            _("No permission to write in %(dir)s; choose a folder this user can write to.")
            % {"dir": target.parent},
        )


def _exists_message(target: Path) -> str:
    return _("%(path)s already exists. Choose another name, or add --force to overwrite it.") % {
        "path": target
    }


def _sqlite_snapshot(*, source: Path, to: Path) -> None:
    """A consistent copy of the live database: one backup step is one read transaction."""
    if not source.is_file():
        raise ApplicationError(
            "backup_no_database",
            _("There is no database at %(path)s. Is PAGEDESK_DATA_DIR the install's data dir?")
            % {"path": source},
        )
    _unlink_quietly(to)
    # Read-only: the backup never creates a database that is not there nor writes to the live one.
    timeout = settings.DATABASES["default"].get("OPTIONS", {}).get("timeout", 20)
    live = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True, timeout=timeout)
    try:
        copy = sqlite3.connect(to)
        try:
            # pages=-1 (the default) copies everything in one step under one read lock. Copied in
            # smaller steps, every write the app commits meanwhile would restart the copy.
            live.backup(copy)
            # A self-contained file: no -wal beside it in the archive or at the restore.
            copy.execute("PRAGMA journal_mode=DELETE")
            check = copy.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            copy.close()
    finally:
        live.close()
    if check != "ok":
        raise ApplicationError(
            "backup_database_damaged",
            _("The database failed SQLite's check (%(result)s); the backup was not written.")
            % {"result": check},
        )


def _sqlite_migrations(path: Path) -> dict[str, list[str]]:
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        try:
            rows = db.execute("SELECT app, name FROM django_migrations").fetchall()
        except sqlite3.OperationalError:  # a database never migrated
            rows = []
    finally:
        db.close()
    return _by_app(rows)


def _connection_migrations() -> dict[str, list[str]]:
    return _by_app(MigrationRecorder(connections["default"]).applied_migrations().keys())


def _by_app(rows: Any) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app, name in rows:
        applied.setdefault(app, []).append(name)
    return {app: sorted(names) for app, names in sorted(applied.items())}


def _files_under(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(path for path in root.rglob("*") if path.is_file() and not path.is_symlink())


class _HashingReader(io.RawIOBase):
    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.sha = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self.source.read(size)
        self.sha.update(chunk)
        return chunk


def _add_file(archive: tarfile.TarFile, path: Path, name: str) -> dict[str, Any]:
    with path.open("rb") as source:
        stat = os.fstat(source.fileno())
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = stat.st_size, 0o600, int(stat.st_mtime)
        reader = _HashingReader(source)
        archive.addfile(info, reader)
    return {"size": info.size, "sha256": reader.sha.hexdigest()}


# --- restoring -----------------------------------------------------------------------------------------


def backup_restore(*, source: Path, force: bool = False) -> RestoreResult:
    """Restore an archive into the configured data dir and (on SQLite) database.

    Refuses when the target already holds data unless `force`; then what it replaces is kept in
    `<data dir>/replaced-<time>/`. Every file is checked against the manifest before anything in the
    target is touched. The app must not be running (docs/backup.md).
    """
    archive_path = source.expanduser().absolute()
    data_dir = Path(settings.DATA_DIR)
    vendor = connections["default"].vendor
    stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
    staging = data_dir / f".restore-{stamp}-{os.getpid()}"
    try:
        with contextlib.ExitStack() as cleanup:
            cleanup.callback(shutil.rmtree, staging, ignore_errors=True)
            manifest = _extract(archive_path, staging)
            _check_compatible(manifest, staging=staging, vendor=vendor)
            # On PostgreSQL the database is pg_restore's (run before this, docs/backup.md): only the
            # files are this restore's to refuse to overwrite.
            database_holds_data = vendor == "sqlite" and _database_holds_data()
            media_root = Path(settings.MEDIA_ROOT)
            media_present = bool(_files_under(media_root))
            if (database_holds_data or media_present) and not force:
                raise ApplicationError(
                    "restore_target_not_empty",
                    _target_not_empty_message(database=database_holds_data, media=media_present),
                )
            replaced: Path | None = None
            if database_holds_data or media_present:
                replaced = data_dir / f"replaced-{stamp}"
                replaced.mkdir()
            restored_database = False
            if manifest.data["database_included"]:
                _sqlite_restore(staging / DATABASE_MEMBER, keep_in=replaced if database_holds_data else None)
                restored_database = True
            if media_present and replaced is not None:
                os.replace(media_root, replaced / "media")
            elif media_root.exists():
                shutil.rmtree(media_root)  # only empty folders: media_present is False
            staged_media = staging / MEDIA_PREFIX.rstrip("/")
            if staged_media.exists():
                os.replace(staged_media, media_root)
            else:
                media_root.mkdir(parents=True, exist_ok=True)
            secrets = []
            for secret in SECRET_FILES:
                staged = staging / SECRETS_PREFIX / secret
                if not staged.exists():
                    continue
                current = data_dir / secret
                if replaced is not None and current.exists():
                    shutil.copy2(current, replaced / secret)
                os.replace(staged, current)
                current.chmod(0o600)
                secrets.append(secret)
    except sqlite3.Error as exc:
        raise ApplicationError(
            "restore_database",
            _("Could not write the restored database: %(error)s") % {"error": exc},
        ) from exc
    except OSError as exc:
        raise _os_error(exc, path=archive_path) from exc
    return RestoreResult(
        vendor=vendor,
        database_restored=restored_database,
        media_files=manifest.data["counts"]["media_files"],
        secrets=secrets,
        replaced_kept_in=replaced,
        backup_created_at=manifest.data["created_at"],
        pagedesk_version=manifest.data["pagedesk_version"],
    )


def _bad_archive(path: Path, why: str) -> ApplicationError:
    return ApplicationError(
        "restore_bad_archive",
        _("%(path)s is not a usable pagedesk backup: %(why)s Nothing was restored.")
        % {"path": path, "why": why},
    )


def _extract(path: Path, staging: Path) -> _Manifest:
    """Unpack into `staging`, checking each member's name and, against the manifest, its bytes."""
    if not path.is_file():
        raise ApplicationError(
            "restore_no_archive", _("There is no backup file at %(path)s.") % {"path": path}
        )
    staging.mkdir(parents=True)
    seen: dict[str, dict[str, Any]] = {}
    manifest_body: bytes | None = None
    try:
        with tarfile.open(path, mode="r|gz") as archive:
            for member in archive:
                name = member.name
                if not member.isfile() or not _safe_member_name(name):
                    raise _bad_archive(path, _("it holds an unexpected entry (%(name)s).") % {"name": name})
                extracted = archive.extractfile(member)
                assert extracted is not None  # a regular file
                if name == MANIFEST:
                    manifest_body = extracted.read(1024 * 1024 * 64)
                    continue
                if name in seen:
                    raise _bad_archive(path, _("it holds %(name)s twice.") % {"name": name})
                destination = staging / PurePosixPath(name)
                destination.parent.mkdir(parents=True, exist_ok=True)
                sha = hashlib.sha256()
                size = 0
                with destination.open("wb") as out:
                    while chunk := extracted.read(CHUNK):
                        sha.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                seen[name] = {"size": size, "sha256": sha.hexdigest()}
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise _bad_archive(path, _("it is damaged or incomplete (%(error)s).") % {"error": exc}) from exc
    if manifest_body is None:
        raise _bad_archive(path, _("it has no manifest (it is incomplete, or not made by pagedesk backup)."))
    try:
        data = json.loads(manifest_body)
        if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
            raise ValueError("not a manifest")
        format_version = int(data["format"])
        missing = {"created_at", "pagedesk_version", "database_vendor", "migrations", "counts"} - set(data)
        if missing:
            raise ValueError(f"no {', '.join(sorted(missing))}")
        data["database_included"] = bool(data["database_included"])
    except (ValueError, KeyError, TypeError) as exc:
        raise _bad_archive(path, _("its manifest is unreadable (%(error)s).") % {"error": exc}) from exc
    if format_version > FORMAT:
        raise ApplicationError(
            "restore_newer_format",
            _(
                "%(path)s was written by a newer pagedesk (%(version)s, archive format %(format)s); this "
                "version reads format %(known)s. Upgrade pagedesk, then restore."
            )
            % {"path": path, "version": data["pagedesk_version"], "format": format_version, "known": FORMAT},
        )
    manifest = _Manifest(data)
    for name, expected in manifest.files.items():
        got = seen.get(name)
        if got is None:
            raise _bad_archive(path, _("%(name)s is listed in its manifest but missing.") % {"name": name})
        if got != {"size": expected.get("size"), "sha256": expected.get("sha256")}:
            raise _bad_archive(
                path,
                _("%(name)s does not match its checksum (the file was altered or damaged).") % {"name": name},
            )
    extra = sorted(set(seen) - set(manifest.files))
    if extra:
        raise _bad_archive(path, _("%(name)s is not in its manifest.") % {"name": extra[0]})
    if data["database_included"] and DATABASE_MEMBER not in seen:
        raise _bad_archive(path, _("its manifest says it holds the database, but it does not."))
    return manifest


def _safe_member_name(name: str) -> bool:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        return False
    return (
        name in (MANIFEST, DATABASE_MEMBER)
        or name.startswith(MEDIA_PREFIX)
        or (name.startswith(SECRETS_PREFIX) and path.name in SECRET_FILES and len(path.parts) == 2)
    )


def _check_compatible(manifest: _Manifest, *, staging: Path, vendor: str) -> None:
    data = manifest.data
    if data["database_included"] and vendor != "sqlite":
        raise ApplicationError(
            "restore_vendor_mismatch",
            _(
                "This backup holds an embedded (SQLite) database, but DATABASE_URL names a PostgreSQL "
                "database. Restore it with DATABASE_URL unset (embedded mode); pagedesk does not convert "
                "between the two."
            ),
        )
    if not data["database_included"] and vendor == "sqlite":
        raise ApplicationError(
            "restore_vendor_mismatch",
            _(
                "This backup holds the attachments of a PostgreSQL install, without its database (that is "
                "in your pg_dump). Set DATABASE_URL to the PostgreSQL database and restore again."
            ),
        )
    if data["database_included"]:
        # The snapshot's own table, not the manifest's copy: it is what `migrate` will read.
        applied = _sqlite_migrations(staging / DATABASE_MEMBER)
    else:
        applied = data["migrations"]
    unknown = _unknown_migrations(applied)
    if unknown:
        app, name = unknown[0]
        raise ApplicationError(
            "restore_newer_schema",
            _(
                "This backup comes from a newer pagedesk (%(version)s): its database has migration "
                "%(app)s.%(name)s, which this version (%(ours)s) does not know. Install that version or a "
                "later one, then restore."
            )
            % {"version": data["pagedesk_version"], "app": app, "name": name, "ours": _version()},
        )


def _unknown_migrations(applied: dict[str, list[str]]) -> list[tuple[str, str]]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = set(loader.disk_migrations)
    for migration in loader.disk_migrations.values():
        known.update(migration.replaces)
    return [
        (app, name) for app, names in sorted(applied.items()) for name in names if (app, name) not in known
    ]


def _database_holds_data() -> bool:
    """Whether the configured database holds anything a restore would lose: people, conversations or
    received webhooks. A fresh `migrate` (its seeded rows) counts as empty."""
    from django.apps import apps
    from django.contrib.auth import get_user_model

    connection = connections["default"]
    if not Path(settings.DATABASES["default"]["NAME"]).exists():
        return False
    tables = set(connection.introspection.table_names())
    models: list[type[Model]] = [get_user_model()]
    for label in ("conversations", "messenger"):
        if apps.is_installed(f"pagedesk.{label}"):
            models.extend(apps.get_app_config(label).get_models())
    return any(model._meta.db_table in tables and model._default_manager.exists() for model in models)


def _target_not_empty_message(*, database: bool, media: bool) -> str:
    if database:
        what = _("The configured database already holds data")
    else:
        what = _("The attachments folder %(path)s already holds files") % {"path": settings.MEDIA_ROOT}
    return _(
        "%(what)s. Restoring would replace it: add --force to go ahead (what is replaced is kept in a "
        "replaced-<time> folder in the data dir), or point PAGEDESK_DATA_DIR at an empty folder."
    ) % {"what": what}


def _sqlite_restore(staged: Path, *, keep_in: Path | None) -> None:
    """Write the staged snapshot into the configured database file through SQLite's backup API, which
    replaces the content in one transaction and leaves no stale -wal behind (a file copy over a WAL
    database can)."""
    target = Path(settings.DATABASES["default"]["NAME"])
    connections.close_all()
    snapshot = sqlite3.connect(f"{staged.as_uri()}?mode=ro", uri=True)
    try:
        check = snapshot.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise ApplicationError(
                "restore_database_damaged",
                _("The database in the backup failed SQLite's check (%(result)s).") % {"result": check},
            )
        live = sqlite3.connect(target, timeout=20)
        try:
            if keep_in is not None:
                kept = sqlite3.connect(keep_in / target.name)
                try:
                    live.backup(kept)
                finally:
                    kept.close()
            snapshot.backup(live)
        finally:
            live.close()
    finally:
        snapshot.close()


# --- shared ---------------------------------------------------------------------------------------------


def _version() -> str:
    try:
        return metadata.version("pagedesk")
    except metadata.PackageNotFoundError:
        return "unknown"


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _os_error(exc: OSError, *, path: Path) -> ApplicationError:
    where = exc.filename or path
    if exc.errno == errno.ENOSPC:
        message = _("The disk is full (writing %(path)s). Free some space and try again.")
    elif exc.errno in (errno.EACCES, errno.EPERM):
        message = _("No permission to use %(path)s. Run as the user that owns it, or choose another path.")
    elif exc.errno == errno.ENOENT:
        message = _("%(path)s does not exist.")
    else:
        message = _("Could not use %(path)s: %(error)s.")
    return ApplicationError("backup_os_error", message % {"path": where, "error": exc.strerror or exc})


def pg_dump_command(*, file: str = "pagedesk-$(date -u +%Y%m%dT%H%M%SZ).dump") -> str:
    """The pg_dump command for the configured database, without its password (pg_dump reads it from
    PGPASSWORD or ~/.pgpass)."""
    return " ".join(["pg_dump", "--format=custom", *_pg_connection_args(), f"--file={file}"])


def pg_restore_command(*, file: str = "pagedesk-YYYYMMDDTHHMMSSZ.dump") -> str:
    return " ".join(["pg_restore", "--clean", "--if-exists", "--no-owner", *_pg_connection_args(), file])


def _pg_connection_args() -> list[str]:
    db: dict[str, Any] = dict(settings.DATABASES["default"])
    # What is not configured is left out, so pg_dump picks the same default as the app's libpq (an
    # empty host is the local Unix socket, not 127.0.0.1).
    args = [
        f"--{option}={db[key]}"
        for option, key in (("host", "HOST"), ("port", "PORT"), ("username", "USER"))
        if db.get(key)
    ]
    args.append(f"--dbname={db['NAME']}")
    return [shlex.quote(arg) for arg in args]
