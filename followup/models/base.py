"""Column types shared by every model."""

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, DateTime, Float, Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator


def exists_on_dialect(schema_item, type_: str, reflected: bool, dialect_name: str) -> bool:
    """False for a model index limited to another database with `ddl_if(dialect=...)`.

    Alembic's comparison (migrations/env.py, the drift test) must not expect the
    PostgreSQL-only trigram index on SQLite.
    """
    if type_ == "index" and not reflected:
        condition = getattr(schema_item, "_ddl_if", None)
        if condition is not None and condition.dialect not in (None, dialect_name):
            return False
    return True


class UTCDateTime(TypeDecorator):
    """Stored as naive UTC on every database, always returned timezone-aware.

    SQLite has no time zones and PostgreSQL converts to the session zone; storing
    naive UTC and tagging on the way out gives the same values on both.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs a timezone-aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def one_of(column: str, values: type[StrEnum]) -> CheckConstraint:
    """The database's own check that an enumerated column holds one of its values."""
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_allowed")


class seconds_between(FunctionElement):
    """SQL: the seconds from `earlier` to `later` (two UTCDateTime columns or binds), on
    SQLite (dates stored as text) and PostgreSQL alike."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between)
def _seconds_between_sqlite(element, compiler, **kw) -> str:
    earlier, later = (compiler.process(arg, **kw) for arg in element.clauses)
    # Rounded to the millisecond: julianday's float is off by some microseconds, and a
    # rule comparing with a whole number of seconds must not miss by one of them.
    return f"ROUND((julianday({later}) - julianday({earlier})) * 86400.0, 3)"


@compiles(seconds_between, "postgresql")
def _seconds_between_postgresql(element, compiler, **kw) -> str:
    earlier, later = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"


class whole_multiples(FunctionElement):
    """SQL: how many whole `size`s fit in a non-negative number (floor of the quotient),
    as an integer on both databases (PostgreSQL's CAST would round, SQLite's truncates)."""

    type = Integer()
    inherit_cache = True
    name = "whole_multiples"


@compiles(whole_multiples)
def _whole_multiples_sqlite(element, compiler, **kw) -> str:
    value, size = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(({value}) / ({size}) AS INTEGER)"


@compiles(whole_multiples, "postgresql")
def _whole_multiples_postgresql(element, compiler, **kw) -> str:
    value, size = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(FLOOR(({value}) / ({size})) AS INTEGER)"
