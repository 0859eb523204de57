"""What the background-job tests share: the settings the test app and its workers
share, real `python worker.py` processes, the Redis databases lent to test processes,
reading the outbox while workers in other processes write it, and waiting for them."""

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from flask import current_app
from rq import Queue, SimpleWorker
from sqlalchemy import select

from followup.extensions import db, mail
from followup.models import DeliveryState, Notification, Tenant
from tests.fakes.smtp_server import FakeSmtp
from tests.fakes.twilio_server import FakeTwilio
from tests.helpers.apps import app_with_empty_schema

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TWILIO_FROM = "+14155550100"
# Databases lent to job-test processes; 15 (TEST_REDIS_URL) holds the loans.
REDIS_DB_POOL = range(8, 15)
REDIS_DB_LEASE_S = 1800
WAIT_S = 20.0

# What the test app and its workers share. The delays are short so a real worker
# can retry within a test; the backoff rules themselves run on a moved clock.
NOTIFY_SETTINGS = {
    "PUBLIC_BASE_URL": "https://followup.example.test",
    "MAIL_DEFAULT_SENDER": "followup@followup.example.test",
    "NOTIFY_RETRY_FIRST_S": 0.5,
    "NOTIFY_RETRY_MAX_S": 2.0,
    "NOTIFY_MAX_ATTEMPTS": 8,
    "NOTIFY_JOB_TIMEOUT_S": 2,
    "NOTIFY_SEND_LEASE_S": 3.0,
    "NOTIFY_SWEEP_INTERVAL_S": 1,
}


def shared_settings(database_url: str, redis_url: str, smtp: FakeSmtp, twilio: FakeTwilio) -> dict:
    return NOTIFY_SETTINGS | {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp.port,
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_FROM_NUMBER": TWILIO_FROM,
        "TWILIO_API_BASE": twilio.base_url,
    }


def app_with_the_fake_model(database_url: str, settings: dict, model_url: str):
    """The job tests' app (real Redis queues, real SMTP), with the fake model for chats:
    a context manager."""
    return app_with_empty_schema(
        database_url,
        **settings,
        RQ_ASYNC=True,
        MAIL_SUPPRESS_SEND=False,
        OPENAI_BASE_URL=model_url,
        OPENAI_API_KEY="test-key",
        LLM_TIMEOUT_S=2.0,
    )


def configure_mail(**settings) -> None:
    """New mail settings, read by Flask-Mail as a restarted worker would read them."""
    current_app.config.update(settings)
    mail.init_app(current_app)


# --- the Redis databases lent to test processes -------------------------------------------------


def took_over(registry: redis.Redis, key: str, token: str) -> bool:
    """Take a database whose borrower on this machine is gone (a killed test run)."""
    holder = (registry.get(key) or b"").decode()
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or process_alive(int(pid)):
        return False
    # Only if the loan is still the dead one's: two runs may find it at once.
    with registry.pipeline() as pipe:
        try:
            pipe.watch(key)
            if (pipe.get(key) or b"").decode() != holder:
                return False
            pipe.multi()
            pipe.set(key, token, ex=REDIS_DB_LEASE_S)
            pipe.execute()
            return True
        except redis.WatchError:
            return False


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- real workers -------------------------------------------------------------------------------


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    log_path: Path

    def kill(self) -> None:
        """SIGKILL for the worker and every process it started, the job in hand included."""
        if self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGSTOP)  # no new job process while we look
        for pid in session_members(self.process.pid):
            with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stacks(self) -> str:
        """The log after each process still running printed its threads' stacks
        (worker.py dumps them on SIGUSR1), with the list of those processes."""
        members = session_members(self.process.pid)
        for pid in members:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGUSR1)
        time.sleep(1)  # a dump is a few writes; nothing to wait on from here
        commands = [f"{pid}: {process_command(pid)}" for pid in members]
        return "\n".join(["still running:", *commands, self.log()])


def worker_environment(settings: dict) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OPENAI_")}
    env |= {
        "DATABASE_URL": settings["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "test-secret-key",
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    env |= {key: str(value) for key, value in settings.items() if key != "SQLALCHEMY_DATABASE_URI"}
    return env


# --- the outbox, and waiting for the workers ----------------------------------------------------


def outbox_rows() -> list[dict]:
    """Every notification as committed right now (plain values, oldest first)."""
    db.session.expire_all()
    rows = db.session.execute(select(Notification.__table__).order_by(Notification.id)).mappings()
    snapshot = [dict(row) for row in rows]
    db.session.rollback()  # hold no lock or snapshot while the workers write
    return snapshot


def all_sent() -> list[dict] | None:
    rows = outbox_rows()
    return rows if rows and all(row["state"] == DeliveryState.SENT for row in rows) else None


def row_of(channel: str) -> dict:
    (row,) = [row for row in outbox_rows() if row["channel"] == channel]
    return row


def configure_tenant(tenant: Tenant, **fields) -> Tenant:
    for name, value in fields.items():
        setattr(tenant, name, value)
    db.session.commit()
    return tenant


def wait_for(
    condition: Callable[[], object],
    what: str,
    worker=None,
    timeout_s: float = WAIT_S,
):
    """Poll until `condition()` is truthy (and return it); fail after `timeout_s`, or
    at once if `worker` (a WorkerProcess) has died."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        if worker is not None and worker.process.poll() is not None:
            pytest.fail(f"the worker exited while waiting for {what}:\n{worker.log()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.05)


def process_command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "(gone)"


def session_members(session_id: int) -> list[int]:
    """Every process of a session: the worker, its scheduler, cron and job processes."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == session_id:  # fields after the name: state, ppid, pgrp, session
            members.append(int(entry))
    return members


class BurstWorker(SimpleWorker):
    """RQ's in-process worker without its command channel: a burst in a test takes no
    remote commands, and stopping that channel's thread sometimes took a minute."""

    def subscribe(self) -> None:
        pass

    def unsubscribe(self) -> None:
        pass


def work_off(queue: Queue, redis_db) -> None:
    BurstWorker([queue], connection=redis_db).work(burst=True)


@dataclass
class RunsAtOnce:
    results: list
    errors: list[Exception]


def at_once(count: int, work: Callable[[], object]) -> RunsAtOnce:
    """Run `work` in `count` threads that start together, each in its own app context
    and database session, as that many workers would; what each returned or raised."""
    flask_app = current_app._get_current_object()
    start = threading.Barrier(count)
    runs = RunsAtOnce([], [])

    def worker():
        with flask_app.app_context():
            start.wait()
            try:
                runs.results.append(work())
            except Exception as exc:  # reported to the test, which fails on it
                runs.errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT_S)
    return runs
