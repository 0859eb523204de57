"""Checks that an installation works, each with what to do when it does not: what
`flask --app app doctor` prints and the System page shows.

Each check is a function of no arguments, run inside an app context, that returns
one `Finding`; a check that raises is reported as FAIL with the exception's kind (never
its text, which may hold an address or a secret). Details never hold a password, a
token or a URL's user and password (`masked`).

The checks run at once, each in a thread of its own, and each waits on the network at
most its setting's timeout (MAIL_TIMEOUT_S, TWILIO_TIMEOUT_S, LLM_TIMEOUT_S, Redis's
own); `run_checks` gives up on one still running after CHECKS_DEADLINE_S.
"""

import ipaddress
import shutil
import smtplib
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from time import monotonic
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, current_app
from flask_babel import force_locale, get_locale
from redis.exceptions import RedisError
from requests import RequestException
from sqlalchemy import text
from sqlalchemy.engine import make_url
from twilio.base.exceptions import TwilioRestException

from followup.extensions import db
from followup.llm import client as llm_client
from followup.locales import staff_gettext, staff_ngettext, staff_text
from followup.notify import email, sms
from followup.queue import PRIORITY, redis_connection, scheduler_elected, workers
from followup.services import schema

# The commands the advice names: the same the README's upgrade steps run (a test
# holds the two together).
UPGRADE_COMMAND = "flask --app app db upgrade"
START_WORKERS_COMMAND = "sudo systemctl start followup-worker@1 followup-worker@2"
WORKER_COMMAND = "python worker.py"
DOCTOR_COMMAND = "flask --app app doctor"
ADVICE_COMMANDS = (UPGRADE_COMMAND, START_WORKERS_COMMAND, WORKER_COMMAND)

# The System page waits for every check: longer than any one step's default timeout
# (the model's, 20 s), and short enough that a page still comes back.
CHECKS_DEADLINE_S = 30.0

MIB = 1024 * 1024
# Below this a write that grows the SQLite file, or its journal, can fail at any moment.
DISK_FAIL_BYTES = 200 * MIB
# Room for a night's backup on the same disk, a VACUUM and some weeks of growth; a
# database bigger than this needs its own size free (the backup is a copy of it).
DISK_WARN_BYTES = 2048 * MIB

TWILIO_SETTINGS = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER")
LOOPBACK_NAMES = ("localhost",)


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
    """Run each check (all of them by default), at once; the findings in their order,
    worded in the language of whoever asked."""
    chosen = checks or CHECKS
    app = current_app._get_current_object()
    locale = str(get_locale())
    found: dict[int, Finding] = {}
    # Daemon threads: one stuck past the deadline neither holds up the answer nor
    # keeps `flask --app app doctor` from exiting.
    threads = [
        threading.Thread(target=_run_in, args=(app, locale, check, found, index), daemon=True)
        for index, check in enumerate(chosen)
    ]
    for thread in threads:
        thread.start()
    deadline = monotonic() + CHECKS_DEADLINE_S
    for thread in threads:
        thread.join(max(deadline - monotonic(), 0))
    return [found.get(index) or _too_slow(check) for index, check in enumerate(chosen)]


def _run_in(app: Flask, locale: str, check: Check, found: dict[int, Finding], index: int) -> None:
    with app.app_context(), force_locale(locale):
        found[index] = _run(check)


def _too_slow(check: Check) -> Finding:
    return Finding(
        _label(check),
        Verdict.FAIL,
        staff_gettext("No answer within %(seconds)s s.", seconds=format(CHECKS_DEADLINE_S, "g")),
        staff_gettext("Run it again; if it persists, look at the service it checks."),
    )


def _run(check: Check) -> Finding:
    try:
        return check()
    except Exception as exc:  # a check must report, never stop the others
        return Finding(
            _label(check),
            Verdict.FAIL,
            staff_gettext("The check itself failed (%(kind)s).", kind=type(exc).__name__),
            staff_gettext("Run it again; if it persists, look at the log."),
        )


def _label(check: Check) -> str:
    name = check.__name__.removeprefix("check_")
    label = _LABELS.get(name)
    # A check of no label of ours (a test's) is named after its function.
    return staff_gettext(label) if label else name.replace("_", " ").capitalize()


def _found(check: str, verdict: Verdict, detail: str, advice: str = "") -> Finding:
    """A check's finding, under its label (`_LABELS[check]`)."""
    return Finding(staff_gettext(_LABELS[check]), verdict, detail, advice)


def failed(findings: list[Finding]) -> bool:
    return any(finding.verdict is Verdict.FAIL for finding in findings)


def masked(url: str) -> str:
    """`url` without its user, password and query (a Redis password may sit in either)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    netloc = f"***@{host}" if "@" in parts.netloc else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


# --- the database and Redis ---------------------------------------------------------------------


def check_database() -> Finding:
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = schema.revisions(connection)
    except Exception as exc:
        return _found(
            "database",
            Verdict.FAIL,
            staff_gettext(
                "Cannot connect to %(url)s (%(kind)s).",
                url=_database_url(),
                kind=type(exc).__name__,
            ),
            staff_gettext("Check DATABASE_URL and that the database server is running."),
        )
    head = ", ".join(schema.heads())
    if current != schema.heads():
        return _found(
            "database",
            Verdict.FAIL,
            _schema_behind(", ".join(current), head),
            staff_gettext("Run: %(command)s", command=UPGRADE_COMMAND),
        )
    return _found(
        "database", Verdict.OK, staff_gettext("Reachable; schema current (%(head)s).", head=head)
    )


def _schema_behind(current: str, head: str) -> str:
    if not current:
        return staff_gettext("Reachable, but the schema is at nothing, not %(head)s.", head=head)
    return staff_gettext(
        "Reachable, but the schema is at %(current)s, not %(head)s.", current=current, head=head
    )


def _database_url() -> str:
    return masked(current_app.config["SQLALCHEMY_DATABASE_URI"])


def check_redis() -> Finding:
    try:
        redis_connection().ping()
    except Exception as exc:
        return _found(
            "redis",
            Verdict.FAIL,
            staff_gettext(
                "Cannot connect to %(url)s (%(kind)s).",
                url=masked(current_app.config["REDIS_URL"]),
                kind=type(exc).__name__,
            ),
            staff_gettext("Check REDIS_URL and that Redis is running."),
        )
    return _found("redis", Verdict.OK, staff_gettext("Reachable."))


# --- the workers --------------------------------------------------------------------------------


def check_workers() -> Finding:
    try:
        alive = workers()
        elected = scheduler_elected()
    except RedisError:
        return _found(
            "workers",
            Verdict.FAIL,
            staff_gettext("Cannot tell: Redis does not answer."),
            staff_gettext("Fix Redis first."),
        )
    if not alive:
        return _found(
            "workers",
            Verdict.FAIL,
            staff_gettext("No worker is running: emails, texts and reminders wait in the queues."),
            staff_gettext(
                "Start them: %(service)s (installed from deploy/), or %(command)s.",
                service=START_WORKERS_COMMAND,
                command=WORKER_COMMAND,
            ),
        )
    count = staff_ngettext("%(num)s worker alive", "%(num)s workers alive", len(alive))
    served = {name for worker in alive for name in worker.queues}
    unserved = [name for name in PRIORITY if name not in served]
    if unserved:
        return _found("workers", Verdict.FAIL, *_unserved(count, unserved))
    if not elected:
        # RQ elects it as a worker starts, and again within minutes if its holder died.
        return _found(
            "workers",
            Verdict.FAIL,
            staff_gettext(
                "%(workers)s, but no scheduler is elected: jobs queued for later (retries, "
                "reminders' wake-ups) are not run when due.",
                workers=count,
            ),
            staff_gettext("Run this again in a minute; if it persists, restart the workers."),
        )
    return _found(
        "workers",
        Verdict.OK,
        staff_gettext("%(workers)s, serving every queue; scheduler elected.", workers=count),
    )


def _unserved(count: str, queues: list[str]) -> tuple[str, str]:
    """(detail, advice) when no worker serves `queues`."""
    detail = staff_ngettext(
        "%(workers)s, but nobody serves the queue %(queues)s: its jobs never run.",
        "%(workers)s, but nobody serves the queues %(queues)s: its jobs never run.",
        len(queues),
        workers=count,
        queues=", ".join(queues),
    )
    advice = staff_gettext(
        "Start a worker for them, or one without WORKER_QUEUES (it serves every queue)."
    )
    return detail, advice


# --- settings -----------------------------------------------------------------------------------


def _on_sqlite() -> bool:
    return make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() == "sqlite"


def check_secret_key() -> Finding:
    if not current_app.config.get("SECRET_KEY_GENERATED"):
        return _found("secret_key", Verdict.OK, staff_gettext("SECRET_KEY is set."))
    if _on_sqlite():
        return _found(
            "secret_key",
            Verdict.OK,
            staff_gettext("Generated in instance/secret_key: fine for SQLite."),
        )
    # Another box on the same database would make a key of its own: its logins, stream
    # links and widget sessions would not open elsewhere, nor the sealed TOTP secrets.
    return _found(
        "secret_key",
        Verdict.FAIL,
        staff_gettext("Generated in instance/secret_key, with a database other boxes can share."),
        staff_gettext(
            "Set SECRET_KEY in the settings to the text of instance/secret_key, the same on "
            "every box (a new key logs everyone out and turns off two-factor codes)."
        ),
    )


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_public_url() -> Finding:
    url = current_app.config["PUBLIC_BASE_URL"]
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return _found(
            "public_url",
            Verdict.FAIL,
            staff_gettext("PUBLIC_BASE_URL is not a web address."),
            staff_gettext("Set it to the address people open, e.g. https://followup.example.com."),
        )
    shown = masked(url)
    if parts.scheme == "https":
        return _found("public_url", Verdict.OK, staff_gettext("%(url)s (HTTPS).", url=shown))
    if _is_loopback(host):
        return _found(
            "public_url",
            Verdict.OK,
            staff_gettext("%(url)s: this machine only (development).", url=shown),
        )
    # FAIL, not WARN: passwords and session cookies would cross the network readable,
    # and cookies are not marked Secure (config.py), on any host but this machine.
    return _found(
        "public_url",
        Verdict.FAIL,
        staff_gettext(
            "%(url)s: plain HTTP on a host others reach; logins cross the network readable.",
            url=shown,
        ),
        staff_gettext(
            "Serve it behind a TLS proxy (README, Install on a server) and set "
            "PUBLIC_BASE_URL to its https:// address."
        ),
    )


# --- the providers: mail, Twilio, the model -----------------------------------------------------


def check_email() -> Finding:
    config = current_app.config
    if email.saves_to_files():
        return _found(
            "email",
            Verdict.WARN,
            staff_gettext(
                "No MAIL_SERVER: emails are saved as files in %(folder)s, nobody receives them.",
                folder=email.mail_folder_label(),
            ),
            staff_gettext(
                "Set MAIL_SERVER (and MAIL_PORT, MAIL_USE_TLS, MAIL_USERNAME, MAIL_PASSWORD)."
            ),
        )
    address = f"{config['MAIL_SERVER']}:{config['MAIL_PORT']}"
    steps: list[str] = []
    try:
        _smtp_conversation(steps)
    except smtplib.SMTPAuthenticationError:
        return _found(
            "email",
            Verdict.FAIL,
            staff_gettext("%(address)s refused the login of MAIL_USERNAME.", address=address),
            staff_gettext("Check MAIL_USERNAME and MAIL_PASSWORD."),
        )
    except (smtplib.SMTPException, OSError) as exc:
        return _found(
            "email",
            Verdict.FAIL,
            staff_gettext(
                "%(address)s failed at %(step)s: %(trouble)s.",
                address=address,
                step=steps[-1],
                trouble=_smtp_trouble(exc),
            ),
            staff_gettext(
                "Check MAIL_SERVER, MAIL_PORT and MAIL_USE_TLS, and that this box may reach it."
            ),
        )
    return _found(
        "email",
        Verdict.OK,
        staff_gettext("%(address)s answers (%(steps)s).", address=address, steps=", ".join(steps)),
    )


def _smtp_conversation(steps: list[str]) -> None:
    """Connect, EHLO, STARTTLS and login as configured, noting each step as it starts."""
    config = current_app.config
    steps.append("connect")
    with smtplib.SMTP(
        config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT_S"]
    ) as server:
        steps.append("EHLO")
        server.ehlo()
        if config["MAIL_USE_TLS"]:
            steps.append("STARTTLS")
            # As Flask-Mail sends: TLS negotiated, the certificate not verified.
            server.starttls()
            server.ehlo()
        if config["MAIL_USERNAME"]:
            steps.append("login")
            server.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")


def _smtp_trouble(exc: Exception) -> str:
    # smtplib reports a read that timed out as a disconnection, raised while handling it.
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return staff_gettext(
            "no answer within MAIL_TIMEOUT_S (%(seconds)s s)",
            seconds=format(current_app.config["MAIL_TIMEOUT_S"], "g"),
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return staff_gettext("the server does not offer it")
    if isinstance(exc, ssl.SSLError):
        return staff_gettext("the TLS handshake failed (certificate or protocol)")
    if isinstance(exc, ConnectionRefusedError):
        return staff_gettext("connection refused")
    return type(exc).__name__


def check_sms() -> Finding:
    config = current_app.config
    missing = [name for name in TWILIO_SETTINGS if not config.get(name)]
    if len(missing) == len(TWILIO_SETTINGS):
        return _found("sms", Verdict.OK, staff_gettext("SMS is off (no TWILIO_ACCOUNT_SID)."))
    if missing:
        return _found(
            "sms",
            Verdict.WARN,
            staff_gettext("SMS is off: %(missing)s not set.", missing=", ".join(missing)),
            staff_gettext("Set all of %(settings)s, or none.", settings=", ".join(TWILIO_SETTINGS)),
        )
    try:
        status = sms.account_status()
    except TwilioRestException as exc:
        return _twilio_refusal(exc.status)
    except (RequestException, OSError) as exc:
        return _found(
            "sms",
            Verdict.FAIL,
            staff_gettext(
                "Cannot reach Twilio at %(url)s (%(kind)s).",
                url=masked(config["TWILIO_API_BASE"]),
                kind=type(exc).__name__,
            ),
            staff_gettext(
                "Check that this box reaches it (firewall, proxy), and TWILIO_TIMEOUT_S."
            ),
        )
    if status != "active":
        return _found(
            "sms",
            Verdict.FAIL,
            staff_gettext("Twilio says the account is %(status)s.", status=status),
            staff_gettext("Reactivate it in the Twilio console."),
        )
    return _found(
        "sms", Verdict.OK, staff_gettext("Twilio accepted the credentials; the account is active.")
    )


def _twilio_refusal(status: int) -> Finding:
    if status in (401, 403, 404):
        return _found(
            "sms",
            Verdict.FAIL,
            staff_gettext(
                "Twilio refused the account SID and auth token (HTTP %(status)s).", status=status
            ),
            staff_gettext(
                "Copy both again from the Twilio console into TWILIO_ACCOUNT_SID and "
                "TWILIO_AUTH_TOKEN."
            ),
        )
    return _found(
        "sms",
        Verdict.FAIL,
        staff_gettext("Twilio answered with an error (HTTP %(status)s).", status=status),
        staff_gettext("Run this again later; look at status.twilio.com if it persists."),
    )


def check_ai() -> Finding:
    if not llm_client.is_configured():
        return _found(
            "ai",
            Verdict.WARN,
            staff_gettext("The AI is off: neither OPENAI_API_KEY nor OPENAI_BASE_URL is set."),
            staff_gettext(
                "Set OPENAI_API_KEY (and OPENAI_BASE_URL for a server other than OpenAI's)."
            ),
        )
    try:
        model = llm_client.answer_one_token()
    except llm_client.LLMUnavailable as exc:
        return _found(
            "ai",
            Verdict.FAIL,
            str(exc),
            staff_gettext(
                "Check OPENAI_BASE_URL, OPENAI_API_KEY and OPENAI_MODEL, and that the server runs."
            ),
        )
    return _found("ai", Verdict.OK, staff_gettext("%(model)s answered.", model=model))


# --- the disk -----------------------------------------------------------------------------------


def check_disk_space() -> Finding:
    database = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if database.get_backend_name() != "sqlite":
        return _found(
            "disk_space",
            Verdict.OK,
            staff_gettext("Not SQLite: the database server keeps its disk."),
        )
    if not database.database or database.database == ":memory:":
        return _found("disk_space", Verdict.OK, staff_gettext("SQLite in memory: no file."))
    path = Path(database.database).resolve()
    size = path.stat().st_size if path.exists() else 0
    free = shutil.disk_usage(path.parent).free
    found = staff_gettext(
        "%(free)s free in %(folder)s (the database: %(size)s).",
        free=_size(free),
        folder=path.parent,
        size=_size(size),
    )
    if free < DISK_FAIL_BYTES:
        return _found(
            "disk_space",
            Verdict.FAIL,
            found,
            staff_gettext(
                "Free space now: below %(size)s writes start to fail.", size=_size(DISK_FAIL_BYTES)
            ),
        )
    if free < max(DISK_WARN_BYTES, size):
        return _found(
            "disk_space",
            Verdict.WARN,
            found,
            staff_gettext(
                "Free some space or move the backups to another disk: a backup needs "
                "the database's size."
            ),
        )
    return _found("disk_space", Verdict.OK, found)


def _size(count: int) -> str:
    if count >= 1024 * MIB:
        return f"{count / MIB / 1024:.1f} GiB"
    return f"{count // MIB} MiB" if count >= MIB else f"{count // 1024} KiB"


# Each check's name, as the System page and `flask doctor` show it.
_LABELS = {
    "database": staff_text("Database"),
    "redis": staff_text("Redis"),
    "workers": staff_text("Workers"),
    "secret_key": staff_text("Secret key"),
    "public_url": staff_text("Public URL"),
    "email": staff_text("Email"),
    "sms": staff_text("SMS"),
    "ai": staff_text("AI model"),
    "disk_space": staff_text("Disk space"),
}

CHECKS: tuple[Check, ...] = (
    check_database,
    check_redis,
    check_workers,
    check_secret_key,
    check_public_url,
    check_email,
    check_sms,
    check_ai,
    check_disk_space,
)
