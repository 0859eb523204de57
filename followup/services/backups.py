"""Backups of the whole database while the app runs, and restoring one (`flask --app app
backup PATH`, `restore PATH`).

A backup is a folder: the database's copy (SQLite: a file written by SQLite's online
backup API; PostgreSQL: `pg_dump --format=custom`) and manifest.json, written last, which
says what the copy holds: the kind of database, the schema revision, when it was taken and
the rows of each table, read from the same snapshot as the copy. A folder without a
manifest is a backup that did not finish.
"""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from followup.clock import iso_utc, utcnow
from followup.errors import DomainError
from followup.extensions import db
from followup.services import schema

MANIFEST = "manifest.json"
FORMAT = 1
COPY_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
# An extension in `pg_restore --list`: "2; 3079 16385 EXTENSION - pg_trgm ".
EXTENSION_ENTRY = re.compile(r"^\d+; \d+ \d+ EXTENSION - (\S+)")


class BackupError(DomainError):
    code = "backup_failed"


@dataclass(frozen=True)
class Contents:
    """What a database holds, as a manifest records it."""

    schema_revision: str | None
    row_counts: dict[str, int]

    @property
    def is_empty(self) -> bool:
        return not any(self.row_counts.values())


@dataclass(frozen=True)
class Manifest:
    format: int
    database: str  # "sqlite" or "postgresql"
    file: str
    created_at: str  # ISO 8601 UTC: when the snapshot was taken
    schema_revision: str | None
    row_counts: dict[str, int]

    @classmethod
    def read(cls, folder: Path) -> "Manifest":
        path = folder / MANIFEST
        if not folder.is_dir():
            raise BackupError(f"There is no backup folder at {folder}.")
        if not path.is_file():
            raise BackupError(
                f"{folder} has no {MANIFEST}: it is not a Followup backup, or one that did "
                "not finish."
            )
        try:
            manifest = cls(**json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:
            raise BackupError(f"{path} cannot be read as a backup manifest ({exc}).") from None
        if manifest.format != FORMAT:
            raise BackupError(f"{path} is of backup format {manifest.format}, not {FORMAT}.")
        return manifest

    def write(self, folder: Path) -> None:
        (folder / MANIFEST).write_text(json.dumps(asdict(self), indent=2) + "\n")


def contents(connection: sa.Connection) -> Contents:
    """The schema revision and the rows of every table, as `connection` sees them."""
    names = sorted(sa.inspect(connection).get_table_names())
    revision = next(iter(schema.revisions(connection)), None)
    counts = {
        name: connection.scalar(sa.select(sa.func.count()).select_from(sa.table(name)))
        for name in names
        if name != schema.SCHEMA_TABLE
    }
    return Contents(revision, counts)


# --- backing up ------------------------------------------------------------------------------


def back_up(folder: Path) -> Manifest:
    """Write a backup of the app's database into `folder` (new, or empty) while the app runs."""
    dialect = db.engine.dialect.name
    _prepare_folder(folder)
    copy = folder / COPY_FILES[dialect]
    taken_at = utcnow()
    found = _back_up_sqlite(copy) if dialect == "sqlite" else _back_up_postgresql(copy)
    manifest = Manifest(
        FORMAT, dialect, copy.name, iso_utc(taken_at), found.schema_revision, found.row_counts
    )
    manifest.write(folder)
    return manifest


def _prepare_folder(folder: Path) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BackupError(f"{folder} already exists and is not an empty folder: choose a new one.")
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)  # a backup holds password hashes and widget secrets


def _sqlite_file() -> Path:
    name = db.engine.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        raise BackupError("Only a SQLite database in a file can be backed up or restored.")
    return Path(name)


def _back_up_sqlite(copy: Path) -> Contents:
    """SQLite's online backup API: one step, so the copy is one consistent snapshot while
    other processes go on writing (WAL)."""
    source_file = _sqlite_file()
    if not source_file.is_file():
        raise BackupError(f"There is no SQLite database at {source_file} to back up.")
    source = sqlite3.connect(source_file, timeout=30)
    target = sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    copy.chmod(0o600)
    engine = sa.create_engine(f"sqlite:///{copy}", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return contents(connection)
    finally:
        engine.dispose()


def _back_up_postgresql(copy: Path) -> Contents:
    """pg_dump reads the snapshot of our own transaction (`--snapshot`), so the manifest's
    counts are those of the dump, however busy the app is meanwhile."""
    pg_dump = _client_tool("pg_dump")
    with db.engine.connect() as connection:
        connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = connection.scalar(sa.text("SELECT pg_export_snapshot()"))
            found = contents(connection)
            _run(
                pg_dump,
                "--format=custom",
                f"--snapshot={snapshot}",
                f"--file={copy}",
                f"--dbname={_libpq_url()}",
            )
    return found


# --- restoring -------------------------------------------------------------------------------


def restore(folder: Path, force: bool = False) -> Manifest:
    """Restore the backup in `folder` into the app's database, which must hold no rows
    unless `force` (then what it holds is replaced). Stop the web and the workers first."""
    manifest = Manifest.read(folder)
    dialect = db.engine.dialect.name
    if manifest.database != dialect:
        raise BackupError(
            f"This backup is of a {manifest.database} database and DATABASE_URL names a "
            f"{dialect} one: restore it into a {manifest.database} database."
        )
    copy = folder / manifest.file
    if not copy.is_file():
        raise BackupError(f"The backup's copy of the database, {copy}, is missing.")
    with db.engine.connect() as connection:
        if not force and not contents(connection).is_empty:
            raise BackupError(
                "The database already holds data: restore into an empty database, or add "
                "--force to replace everything in it with the backup."
            )
    db.session.remove()
    db.engine.dispose()  # nothing of ours holds the database while it is replaced
    if dialect == "sqlite":
        _restore_sqlite(copy)
    else:
        _restore_postgresql(copy)
    _check_restored(manifest)
    return manifest


def _restore_sqlite(copy: Path) -> None:
    """The backup API the other way: every page of the database is replaced at once."""
    target_file = _sqlite_file()
    target_file.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    target = sqlite3.connect(target_file, timeout=30)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def _restore_postgresql(copy: Path) -> None:
    """All or nothing (one transaction); the backup's tables replace those of the same
    names, owned by whoever restores. Extensions are left out of pg_restore's list: the
    database's own are kept (dropping one needs its owner, often the superuser who made
    it), and those missing are created first."""
    pg_restore = _client_tool("pg_restore")
    entries = _run(pg_restore, "--list", str(copy)).splitlines()
    extensions = [found[1] for line in entries if (found := EXTENSION_ENTRY.match(line))]
    _create_extensions(extensions)
    with tempfile.NamedTemporaryFile("w", suffix=".list") as listed:
        listed.write("\n".join(line for line in entries if " EXTENSION " not in line) + "\n")
        listed.flush()
        _run(
            pg_restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--use-list={listed.name}",
            f"--dbname={_libpq_url()}",
            str(copy),
        )


def _create_extensions(names: list[str]) -> None:
    for name in names:
        quoted = '"' + name.replace('"', '""') + '"'
        try:
            with db.engine.begin() as connection:
                connection.execute(sa.text(f"CREATE EXTENSION IF NOT EXISTS {quoted}"))
        except sa.exc.DBAPIError as exc:
            raise BackupError(
                f"The backup needs the PostgreSQL extension {name}, which the database lacks "
                f"and this role may not create: as a superuser, run CREATE EXTENSION {name} "
                f"in the database first ({exc.orig})."
            ) from None
    db.engine.dispose()


def _check_restored(manifest: Manifest) -> None:
    with db.engine.connect() as connection:
        found = contents(connection)
    restored = {name: found.row_counts.get(name) for name in manifest.row_counts}
    if restored != manifest.row_counts or found.schema_revision != manifest.schema_revision:
        raise BackupError(
            "The restored database does not hold what the backup's manifest lists: "
            f"rows {restored}, schema {found.schema_revision}."
        )


# --- rotation ----------------------------------------------------------------------------------


def prune(parent: Path, keep: int) -> list[Path]:
    """Delete all but the `keep` newest backups in `parent` (folders with a manifest that
    reads); other files and folders are left alone. Returns the folders deleted."""
    backups = []
    for folder in parent.iterdir():
        if folder.is_dir() and (folder / MANIFEST).is_file():
            try:
                backups.append((Manifest.read(folder).created_at, folder.name, folder))
            except BackupError:
                continue  # not ours to judge: left alone
    backups.sort(reverse=True)
    stale = [folder for _taken, _name, folder in backups[keep:]]
    for folder in stale:
        shutil.rmtree(folder)
    return stale


# --- PostgreSQL's client tools ---------------------------------------------------------------


def _client_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} was not found on PATH: backing up and restoring PostgreSQL needs its "
            "client tools, of the server's major version or newer (on Debian and Ubuntu: "
            "apt-get install postgresql-client)."
        )
    return path


def _libpq_url() -> str:
    """The app's database as pg_dump and pg_restore take it; the password goes in their
    environment, never on a command line that `ps` shows."""
    url = db.engine.url.set(drivername="postgresql", password=None)
    return url.render_as_string(hide_password=False)


def _run(tool: str, *arguments: str) -> str:
    """What the tool printed; its own words, after ours, when it fails."""
    environment = dict(os.environ)
    if db.engine.url.password:
        environment["PGPASSWORD"] = db.engine.url.password
    done = subprocess.run(  # noqa: S603 - our arguments, no shell
        [tool, *arguments], env=environment, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        said = done.stderr.strip() or f"exit status {done.returncode}"
        raise BackupError(f"{Path(tool).name} failed: {said}")
    return done.stdout
