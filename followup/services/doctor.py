"""Checks that an installation works, each with what to do when it does not: what
`flask --app app doctor` prints and the System page shows.

Each check is a function of no arguments, run inside an app context, that returns
one `Finding`; a check that raises is reported as FAIL with the exception's kind (never
its text, which may hold an address or a secret).
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import Migrate
from sqlalchemy import text

from followup.extensions import db
from followup.queue import redis_connection


class Verdict(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Finding:
    check: str  # what was checked, e.g. "Database"
    verdict: Verdict
    detail: str  # what was found, in a sentence
    advice: str = ""  # what to do about it; empty when OK


Check = Callable[[], Finding]


def run_checks(checks: tuple[Check, ...] | None = None) -> list[Finding]:
    """Run each check (all of them by default), in order."""
    return [_run(check) for check in (checks or CHECKS)]


def _run(check: Check) -> Finding:
    try:
        return check()
    except Exception as exc:  # a check must report, never stop the others
        name = check.__name__.removeprefix("check_").replace("_", " ").capitalize()
        return Finding(
            name,
            Verdict.FAIL,
            f"The check itself failed ({type(exc).__name__}).",
            "Run it again; if it persists, look at the log.",
        )


def failed(findings: list[Finding]) -> bool:
    return any(finding.verdict is Verdict.FAIL for finding in findings)


def check_database() -> Finding:
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = MigrationContext.configure(connection).get_current_heads()
    except Exception as exc:
        return Finding(
            "Database",
            Verdict.FAIL,
            f"Cannot connect ({type(exc).__name__}).",
            "Check DATABASE_URL and that the database server is running.",
        )
    head = _script_directory().get_heads()
    if set(current) != set(head):
        return Finding(
            "Database",
            Verdict.FAIL,
            f"Reachable, but the schema is at {', '.join(current) or 'nothing'}, "
            f"not {', '.join(head)}.",
            "Run: flask --app app db upgrade",
        )
    return Finding("Database", Verdict.OK, f"Reachable; schema current ({', '.join(head)}).")


def _script_directory() -> ScriptDirectory:
    migrate: Migrate = current_app.extensions["migrate"].migrate
    return ScriptDirectory.from_config(migrate.get_config())


def check_redis() -> Finding:
    try:
        redis_connection().ping()
    except Exception as exc:
        return Finding(
            "Redis",
            Verdict.FAIL,
            f"Cannot connect ({type(exc).__name__}).",
            "Check REDIS_URL and that Redis is running.",
        )
    return Finding("Redis", Verdict.OK, "Reachable.")


CHECKS: tuple[Check, ...] = (check_database, check_redis)
