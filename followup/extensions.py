"""Flask extensions, created unbound and initialised in `create_app`."""

import smtplib
import sqlite3
import time
from functools import partial

import flask_mail
from flask import current_app
from flask_babel import Babel
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.orm import DeclarativeBase

# Deterministic constraint names, so migrations are the same on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
# The visitor's language (followup.locales): widget, customer emails and SMS.
babel = Babel()


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, _connection_record) -> None:
    """The embedded database: the web process and the worker share one file."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL, and commits cost ~1 ms
    cursor.execute("PRAGMA busy_timeout=5000")  # wait for the other process's write
    cursor.execute("PRAGMA foreign_keys=ON")  # SQLite does not check them unless asked
    cursor.close()


# Every connection a process may open is kept for the next request. With QueuePool's
# default (5 kept, 10 more while busy), a burst of chats opened and closed connections by
# the hundred, each a new PostgreSQL process (bench/widget_load.py). The most per
# process stays 15; a thread waits for a free one rather than open more.
POOL_SIZE = 15


def keep_pooled_connections(app) -> None:
    """Size the app's pool (create_app does, before the engine is made): a file or an
    in-memory SQLite database costs nothing to open."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    options.setdefault("pool_size", POOL_SIZE)
    options.setdefault("max_overflow", 0)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


# A pooled connection is checked with a round trip before use only once it has been idle
# this long. SQLAlchemy's pool_pre_ping checks every time, a round trip each request pays;
# a connection used moments ago is alive. The cost: after a database restart, a request
# that takes a connection last used under PING_AFTER_IDLE_S before fails at its first
# statement (at most one per thread of each process, those already under way); that
# failure, like a failed ping, makes SQLAlchemy replace every older connection in the pool.
PING_AFTER_IDLE_S = 5.0


def check_idle_connections(engine: Engine) -> None:
    """Install the check on `engine`'s pool (create_app does, for the app's engine)."""
    if engine.dialect.name == "sqlite":
        return  # a file, no server that could have gone away
    event.listen(engine, "checkin", _note_idle_since)
    event.listen(engine, "checkout", partial(_ping_if_idle, engine.dialect))


def _note_idle_since(_dbapi_connection, connection_record) -> None:
    connection_record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dialect, dbapi_connection, connection_record, _connection_proxy) -> None:
    idle_since = connection_record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
        return  # new, or used moments ago
    try:
        dialect.do_ping(dbapi_connection)
    except dialect.loaded_dbapi.Error as exc:
        # As pool_pre_ping does: the server went away, so every connection older than
        # now is stale; the pool reconnects this one and retires the others as they come.
        raise InvalidatePoolError("a pooled connection is gone") from exc


class _TimedSmtpConnection(flask_mail.Connection):
    """Flask-Mail's connection, with a time limit on every exchange with the server:
    Flask-Mail (0.10) opens SMTP without one, so a server that accepts the connection
    and never answers would hold the sending job until RQ stops it."""

    def __init__(self, mail_state, timeout_s: float):
        super().__init__(mail_state)
        self.timeout_s = timeout_s

    def configure_host(self) -> smtplib.SMTP:
        state = self.mail
        smtp_class = smtplib.SMTP_SSL if state.use_ssl else smtplib.SMTP
        host = smtp_class(state.server, state.port, timeout=self.timeout_s)
        host.set_debuglevel(int(state.debug))
        if state.use_tls:
            host.starttls()
        if state.username and state.password:
            host.login(state.username, state.password)
        return host


class Mail(flask_mail.Mail):
    """Flask-Mail sending through `_TimedSmtpConnection` (MAIL_TIMEOUT_S)."""

    def connect(self) -> flask_mail.Connection:
        app = self.app or current_app
        return _TimedSmtpConnection(app.extensions["mail"], app.config["MAIL_TIMEOUT_S"])


migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
mail = Mail()
htmx_ext = Htmx()
# Gzip, for the widget's files only (web/static_files.py; Config has its settings).
compress = Compress()
limiter = Limiter(key_func=get_remote_address, in_memory_fallback_enabled=True)
