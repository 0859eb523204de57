"""What several migrations need and Alembic does not do: rebuilding a SQLite table whose
CREATE TABLE text must change (a named foreign key, a column made NOT NULL).

Alembic's batch mode cannot rebuild followup_requests: its copy would write the
generated search_text column. This copy leaves generated columns out, and SQLite
computes them again. Migrations run with foreign keys off on SQLite (env.py).
"""

import re
from collections.abc import Callable

from alembic import op


def rebuild_on_sqlite(table: str, change_sql: Callable[[str], str]) -> None:
    """Rebuild `table` with its CREATE TABLE text changed by `change_sql`, keeping every
    row and index."""
    conn = op.get_bind()
    table_sql = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).scalar_one()
    index_sqls = (
        conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = ? AND sql IS NOT NULL",
            (table,),
        )
        .scalars()
        .all()
    )
    # table_xinfo's `hidden`: 0 for a stored column, 2 or 3 for a generated one.
    columns = ", ".join(
        row[1] for row in conn.exec_driver_sql(f"PRAGMA table_xinfo({table})") if row[6] == 0
    )
    # The name is quoted once SQLite has renamed a table to it.
    new_sql = re.sub(
        rf'^CREATE TABLE "?{table}"?', f"CREATE TABLE _new_{table}", change_sql(table_sql)
    )
    conn.exec_driver_sql(new_sql)
    copy = f"INSERT INTO _new_{table} ({columns}) SELECT {columns} FROM {table}"  # noqa: S608 (names from the migration, no input)
    conn.exec_driver_sql(copy)
    conn.exec_driver_sql(f"DROP TABLE {table}")
    conn.exec_driver_sql(f"ALTER TABLE _new_{table} RENAME TO {table}")
    for index_sql in index_sqls:
        conn.exec_driver_sql(index_sql)
