"""`flask --app app backup PATH` and `restore PATH [--force]`, on SQLite and PostgreSQL.

The round trip: a migrated database with a row in every table is backed up while another
thread inserts rows, and restored into a database with no tables. Which rows existed at
backup time is decided by the writer's order: it inserts only, one row a commit, with ids
going up, so a consistent snapshot holds exactly the rows it committed up to some point,
a point between the last commit before the backup began and the last before it ended.
Every other row of every table is the same in the restored database as in the source.
"""

import json
import os
import threading
from contextlib import contextmanager
from datetime import UTC, datetime

import flask_migrate
import pytest
import sqlalchemy as sa
import time_machine

from followup.extensions import db
from tests.helpers.apps import POSTGRES_ADMIN_URL, build_app, scratch_postgres_database
from tests.helpers.tables import fill_every_table, value_for

WRITTEN_TABLE = "tenants"
FIRST_WRITTEN_ID = 1000
WAIT_S = 30


@contextmanager
def app_on(url: str):
    app = build_app(url)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def invoke(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def unique_columns(table: sa.Table) -> set[str]:
    """The columns of the table's unique constraints and indexes (as reflected)."""
    keys = [c.columns for c in table.constraints if isinstance(c, sa.UniqueConstraint)]
    keys += [index.columns for index in table.indexes if index.unique]
    return {column.name for key in keys for column in key}


def numbered_row(table: sa.Table, n: int) -> dict:
    """A row of `table` with id `n`, the text of its unique keys made its own (the other
    values stay as they are: some are checked, some short)."""
    unique = unique_columns(table)
    row = {column.name: value_for(column) for column in table.columns if not column.nullable}
    row = {
        name: f"{value}{n}" if name in unique and isinstance(value, str) else value
        for name, value in row.items()
    }
    return row | {"id": n}


def insert_numbered_row(url: str, n: int) -> None:
    engine = sa.create_engine(url)
    table = sa.Table(WRITTEN_TABLE, sa.MetaData(), autoload_with=engine)
    with engine.begin() as connection:
        connection.execute(table.insert().values(numbered_row(table, n)))
    engine.dispose()


def table_rows(url: str) -> dict[str, list[dict]]:
    """Every row of every table, in primary key order."""
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        rows = {
            name: [
                dict(row._mapping)
                for row in connection.execute(sa.select(table).order_by(*table.primary_key))
            ]
            for name, table in metadata.tables.items()
        }
    engine.dispose()
    return rows


class Writer(threading.Thread):
    """Inserts rows into WRITTEN_TABLE, one a commit, ids going up, until stopped."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url = url
        self.committed: list[int] = []
        self.error: Exception | None = None
        self._halt = threading.Event()
        self._progress = threading.Condition()

    def run(self) -> None:
        engine = sa.create_engine(self.url)
        table = sa.Table(WRITTEN_TABLE, sa.MetaData(), autoload_with=engine)
        try:
            for n in range(FIRST_WRITTEN_ID, FIRST_WRITTEN_ID + 1_000_000):
                if self._halt.is_set():
                    break
                with engine.begin() as connection:
                    connection.execute(table.insert().values(numbered_row(table, n)))
                with self._progress:
                    self.committed.append(n)
                    self._progress.notify_all()
        except Exception as exc:  # reported by wait_for
            self.error = exc
        finally:
            engine.dispose()
            with self._progress:
                self._halt.set()
                self._progress.notify_all()

    def wait_for(self, commits: int) -> list[int]:
        """Once it has committed `commits` rows in all: the ids committed so far."""
        with self._progress:
            self._progress.wait_for(
                lambda: len(self.committed) >= commits or self._halt.is_set(), WAIT_S
            )
            assert self.error is None and len(self.committed) >= commits, self.error
            return list(self.committed)

    def stop(self) -> None:
        self._halt.set()
        self.join(WAIT_S)


@contextmanager
def writing(url: str):
    writer = Writer(url)
    writer.start()
    try:
        yield writer
    finally:
        writer.stop()


@pytest.fixture
def source(database_urls):
    """The app on a migrated database with a row in every table."""
    with app_on(database_urls[0]) as app:
        flask_migrate.upgrade()
        fill_every_table()
        yield app


def test_a_backup_taken_while_rows_are_written_restores_every_row_it_holds(
    source, database_urls, tmp_path
):
    source_url, target_url = database_urls
    folder = tmp_path / "backups" / "nightly"
    with writing(source_url) as writer:
        before = writer.wait_for(5)
        backed_up = invoke(source, "backup", str(folder))
        during = writer.wait_for(len(before))
        writer.wait_for(len(during) + 5)  # it goes on writing after the backup, too
    assert backed_up.exit_code == 0, backed_up.output
    assert f"to {folder}." in backed_up.output
    with app_on(target_url) as target:
        restored = invoke(target, "restore", str(folder))
    assert restored.exit_code == 0, restored.output
    assert "Next: flask --app app db upgrade" in restored.output

    source_rows, restored_rows = table_rows(source_url), table_rows(target_url)
    written = [row["id"] for row in restored_rows[WRITTEN_TABLE] if row["id"] >= FIRST_WRITTEN_ID]
    assert written == writer.committed[: len(written)]  # a prefix of its commits
    assert before[-1] <= written[-1] <= during[-1]
    held_at_backup = source_rows | {
        WRITTEN_TABLE: [
            row
            for row in source_rows[WRITTEN_TABLE]
            if row["id"] < FIRST_WRITTEN_ID or row["id"] <= written[-1]
        ]
    }
    assert restored_rows == held_at_backup

    manifest = json.loads((folder / "manifest.json").read_text())
    counts = {name: len(rows) for name, rows in restored_rows.items() if name != "alembic_version"}
    assert manifest["row_counts"] == counts
    assert min(counts.values()) >= 1  # every table had something to restore
    assert manifest["schema_revision"] == source_rows["alembic_version"][0]["version_num"]
    assert manifest["database"] == sa.make_url(source_url).get_backend_name()
    assert (folder / manifest["file"]).is_file()
    datetime.strptime(manifest["created_at"], "%Y-%m-%dT%H:%M:%SZ")  # ISO 8601, UTC


def test_restore_refuses_a_database_that_holds_rows_unless_forced(source, database_urls, tmp_path):
    source_url = database_urls[0]
    folder = tmp_path / "backup"
    assert invoke(source, "backup", str(folder)).exit_code == 0
    backed_up = table_rows(source_url)
    insert_numbered_row(source_url, FIRST_WRITTEN_ID)

    refused = invoke(source, "restore", str(folder))
    assert refused.exit_code == 1
    assert "The database already holds data" in refused.output
    assert "--force" in refused.output
    assert len(table_rows(source_url)[WRITTEN_TABLE]) == len(backed_up[WRITTEN_TABLE]) + 1

    forced = invoke(source, "restore", "--force", str(folder))
    assert forced.exit_code == 0, forced.output
    assert table_rows(source_url) == backed_up


@pytest.mark.parametrize("database_urls", ["postgresql"], indirect=True)
def test_without_pg_dump_the_backup_says_what_to_install(
    source, tmp_path, monkeypatch, database_urls
):
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools-here"))
    result = invoke(source, "backup", str(tmp_path / "backup"))
    assert result.exit_code == 1
    assert "pg_dump was not found on PATH" in result.output
    assert "apt-get install postgresql-client" in result.output
    assert not (tmp_path / "backup" / "manifest.json").exists()


@pytest.mark.parametrize("database_urls", ["sqlite"], indirect=True)
def test_a_backup_goes_only_into_a_new_or_empty_folder(source, tmp_path, database_urls):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    result = invoke(source, "backup", str(taken))
    assert result.exit_code == 1
    assert "already exists and is not an empty folder" in result.output
    assert sorted(path.name for path in taken.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("database_urls", ["sqlite"], indirect=True)
def test_a_backup_restores_only_into_the_same_kind_of_database(source, tmp_path, worker_id):
    folder = tmp_path / "backup"
    assert invoke(source, "backup", str(folder)).exit_code == 0
    with (
        scratch_postgres_database("backup_kind", worker_id) as url,
        app_on(url) as target,
    ):
        result = invoke(target, "restore", str(folder))
    assert result.exit_code == 1
    assert "This backup is of a sqlite database" in result.output


@pytest.mark.parametrize("database_urls", ["sqlite"], indirect=True)
def test_keep_deletes_the_oldest_backups_beside_the_new_one(source, tmp_path, database_urls):
    parent = tmp_path / "backups"
    (parent / "unfinished").mkdir(parents=True)  # no manifest: not a backup, left alone
    (parent / "README").write_text("keep me")
    for day in (1, 2, 3):
        with time_machine.travel(datetime(2026, 12, day, 3, tzinfo=UTC), tick=False):
            # named against their age: the manifests' times decide, not the names
            result = invoke(source, "backup", "--keep", "2", str(parent / f"backup-{4 - day}"))
        assert result.exit_code == 0, result.output
    assert f"Deleted the older backup {parent / 'backup-3'}." in result.output
    assert sorted(path.name for path in parent.iterdir()) == [
        "README",
        "backup-1",
        "backup-2",
        "unfinished",
    ]


@contextmanager
def database_of_a_plain_role(worker_id: str):
    """A database owned by a role that is no superuser, with pg_trgm made in it by the
    superuser, as the README's install makes it; its URL, as that role."""
    role = f"followup_ops_{os.getpid()}_{worker_id}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
    try:
        with scratch_postgres_database("backup_plain", worker_id) as url:
            owned = sa.create_engine(url, isolation_level="AUTOCOMMIT")
            with owned.connect() as connection:
                name = sa.make_url(url).database
                connection.execute(sa.text(f'ALTER DATABASE "{name}" OWNER TO "{role}"'))
                connection.execute(sa.text("CREATE EXTENSION pg_trgm"))
            owned.dispose()
            yield sa.make_url(url).set(username=role).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


@pytest.mark.parametrize("database_urls", ["postgresql"], indirect=True)
def test_the_role_owning_the_database_restores_into_it_without_being_superuser(
    source, database_urls, tmp_path, worker_id
):
    folder = tmp_path / "backup"
    assert invoke(source, "backup", str(folder)).exit_code == 0
    with database_of_a_plain_role(worker_id) as url:
        with app_on(url) as target:
            result = invoke(target, "restore", str(folder))
        assert result.exit_code == 0, result.output
        assert table_rows(url) == table_rows(database_urls[0])
