"""Fixtures for the background-job tests: a real Redis, real RQ workers, a real SMTP
server and a local server speaking Twilio's API.

- `app` (overriding the root one, still once per database) queues jobs in Redis
  for real (`RQ_ASYNC`) and sends mail over SMTP to the aiosmtpd server `smtp`;
  SMS go through the Twilio SDK to `twilio`.
- Redis is the server at TEST_REDIS_URL's address, on a database lent to this test
  process alone (8 to 14), flushed around each test.
- `start_worker()` runs `python worker.py` against the same database, Redis, SMTP
  and Twilio, with short retry and sweep times, and stops it after the test
  (`start_worker("answers,notifications")`: only those queues).
- `blackhole`: a server that accepts connections and never answers (SMTP, HTTP).
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.fakes.blackhole import Blackhole
from tests.fakes.smtp_server import FakeSmtp
from tests.fakes.twilio_server import FakeTwilio
from tests.helpers.apps import REDIS_TEST_URL, app_with_empty_schema
from tests.jobs.helpers import session_members

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TWILIO_FROM = "+14155550100"
# Databases lent to job-test processes; 15 (TEST_REDIS_URL) holds the loans.
REDIS_DB_POOL = range(8, 15)
REDIS_DB_LEASE_S = 1800

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


@pytest.fixture(scope="session")
def jobs_redis_url():
    """A Redis database of this test process's own, borrowed from a pool: xdist
    workers and other test runs on the machine share the server, and these tests
    flush their database."""
    registry = redis.Redis.from_url(REDIS_TEST_URL)
    token = f"{socket.gethostname()}:{os.getpid()}"
    for number in REDIS_DB_POOL:
        key = f"followup-tests:jobs-db:{number}"
        if registry.set(key, token, nx=True, ex=REDIS_DB_LEASE_S) or _took_over(
            registry, key, token
        ):
            yield REDIS_TEST_URL.rsplit("/", 1)[0] + f"/{number}"
            if registry.get(key) == token.encode():
                registry.delete(key)
            registry.close()
            return
    pytest.fail(f"every Redis database in {REDIS_DB_POOL} is in use by other test runs")


def _took_over(registry: redis.Redis, key: str, token: str) -> bool:
    """Take a database whose borrower on this machine is gone (a killed test run)."""
    holder = (registry.get(key) or b"").decode()
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or _process_alive(int(pid)):
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


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture
def redis_db(jobs_redis_url):
    connection = redis.Redis.from_url(jobs_redis_url)
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture(scope="session")
def smtp_server():
    server = FakeSmtp().start()
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_server):
    smtp_server.reset()
    if not smtp_server.running:
        smtp_server.start()
    yield smtp_server
    if not smtp_server.running:  # a test took it down: the next one needs it
        smtp_server.start()


@pytest.fixture(scope="session")
def twilio_server():
    server = FakeTwilio().start()
    yield server
    server.stop()


@pytest.fixture
def twilio(twilio_server):
    twilio_server.reset()
    return twilio_server


@pytest.fixture(scope="session")
def blackhole_server():
    server = Blackhole().start()
    yield server
    server.stop()


@pytest.fixture
def blackhole(blackhole_server):
    blackhole_server.reset()
    yield blackhole_server
    blackhole_server.reset()  # let go of the connections the test's clients left


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


@pytest.fixture
def settings(database_url, jobs_redis_url, smtp, twilio, redis_db) -> dict:
    return shared_settings(database_url, jobs_redis_url, smtp, twilio)


@pytest.fixture
def app(settings, database_url):
    with app_with_empty_schema(
        database_url, **settings, RQ_ASYNC=True, MAIL_SUPPRESS_SEND=False
    ) as app:
        yield app


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


def worker_environment(settings: dict) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OPENAI_")}
    env |= {
        "DATABASE_URL": settings["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "test-secret-key",
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    env |= {key: str(value) for key, value in settings.items() if key != "SQLALCHEMY_DATABASE_URI"}
    return env


@pytest.fixture
def start_worker(settings, tmp_path):
    """Start `python worker.py` (as many times as a test needs); all stopped afterwards."""
    started: list[WorkerProcess] = []

    def start(queues: str | None = None) -> WorkerProcess:
        log_path = tmp_path / f"worker-{len(started)}.log"
        arguments = ["--queues", queues] if queues else []
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, str(PROJECT_ROOT / "worker.py"), *arguments],
                cwd=PROJECT_ROOT,
                env=worker_environment(settings),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = WorkerProcess(process, log_path)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()
