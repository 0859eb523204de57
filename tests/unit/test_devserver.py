"""How `make run` picks its Redis: REDIS_URL, else a local server, else an embedded one."""

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from rq import Worker
from sqlalchemy import select

from followup.config import PROJECT_ROOT
from followup.devserver import (
    LOCAL_REDIS_URL,
    EmbeddedRedis,
    Supervisor,
    _free_local_port,
    redis_answers,
    resolve_redis,
)
from followup.extensions import db
from followup.models import StaffUser
from followup.services import demo, tenants
from tests.fakes.local_http import closed_redis_url
from tests.helpers.apps import build_app


def test_redis_url_from_the_environment_wins(tmp_path):
    choice = resolve_redis({"REDIS_URL": "redis://cache.internal:6380/2"}, data_dir=tmp_path)
    assert choice.url == "redis://cache.internal:6380/2"
    assert choice.embedded is None
    assert not list(tmp_path.iterdir())  # nothing was started


def test_a_redis_answering_locally_is_used(tmp_path):
    if not redis_answers(LOCAL_REDIS_URL):
        pytest.skip("no Redis on 127.0.0.1:6379")
    choice = resolve_redis({}, data_dir=tmp_path)
    assert choice.url == LOCAL_REDIS_URL
    assert choice.embedded is None


def test_without_any_redis_an_embedded_server_starts_and_stops(tmp_path):
    choice = resolve_redis({"REDIS_URL": ""}, local_url=closed_redis_url(), data_dir=tmp_path)
    assert choice.embedded is not None
    server_process = choice.embedded.process
    try:
        client = redis.Redis.from_url(choice.url)
        assert client.ping()
        client.set("greeting", "hello")
        assert client.get("greeting") == b"hello"
        client.close()
    finally:
        choice.embedded.stop()
    assert server_process.poll() is not None  # the process is gone, not just unreachable
    assert not redis_answers(choice.url)


def test_supervisor_stops_the_others_when_one_child_exits():
    supervisor = Supervisor(
        {
            "long_running": [sys.executable, "-c", "import time; time.sleep(60)"],
            "failing": [sys.executable, "-c", "import sys; sys.exit(3)"],
        },
        env=dict(os.environ),
    )
    started = time.monotonic()
    assert supervisor.run() == 3
    assert time.monotonic() - started < 15
    assert all(child.poll() is not None for child in supervisor.children.values())


def test_supervisor_forwards_a_stop_signal_to_its_children():
    supervisor = Supervisor(
        {"long_running": [sys.executable, "-c", "import time; time.sleep(60)"]},
        env=dict(os.environ),
    )
    # SIGTERM to ourselves once the child runs: what `kill <launcher pid>` does.
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        assert supervisor.run() == 0
    finally:
        timer.cancel()
    assert supervisor.children["long_running"].returncode == -signal.SIGTERM


# --- what `make run` prints -----------------------------------------------------------------

START_TIMEOUT_S = 60.0
# Sweeps every second: several run while the test looks.
QUICK_SWEEPS = {"NOTIFY_SWEEP_INTERVAL_S": "1", "REMINDER_SWEEP_INTERVAL_S": "1"}
DEMO_LOGIN = f"[devserver] Admin login: email={demo.DEMO_EMAIL}  password={demo.DEMO_PASSWORD}"
OWN_ACCOUNT = "[devserver] Log in with your own account (flask --app app admin create …)"


@dataclass
class Launch:
    """A `python -m followup.devserver` of its own: database, Redis, port and output."""

    database_url: str
    redis: EmbeddedRedis
    output: Path
    address: str
    process: subprocess.Popen | None = None

    def start(self, **settings: str) -> "Launch":
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "MAIL_"))}
        env.pop("LOG_LEVEL", None)
        env |= QUICK_SWEEPS | settings
        env |= {"DATABASE_URL": self.database_url, "REDIS_URL": self.redis.url}
        env |= {"SECRET_KEY": "test-secret-key", "RATELIMIT_STORAGE_URI": "memory://"}
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "followup.devserver", "--bind", self.address],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def lines(self) -> list[str]:
        return self.output.read_text(errors="replace").splitlines()

    def wait_for_line(self, wanted: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while wanted not in self.lines():
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"no {wanted!r} in the output:\n" + "\n".join(self.lines()))
            time.sleep(0.1)

    def wait_for_jobs(self, count: int) -> None:
        """Until the worker has finished `count` jobs (the sweeps)."""
        client = redis.Redis.from_url(self.redis.url)
        deadline = time.monotonic() + START_TIMEOUT_S
        try:
            while sum(w.successful_job_count for w in Worker.all(connection=client)) < count:
                if time.monotonic() > deadline:
                    pytest.fail("the worker did not run its sweeps:\n" + "\n".join(self.lines()))
                time.sleep(0.1)
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # Ctrl-C
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture
def launch(tmp_path):
    """A database with the schema, a private Redis, and a devserver to start on them."""
    database_url = f"sqlite:///{tmp_path / 'run.db'}"
    with EmbeddedRedis(tmp_path / "redis") as private_redis:
        app = build_app(database_url, REDIS_URL=private_redis.url)
        with app.app_context():
            db.create_all()
            db.engine.dispose()
        address = f"127.0.0.1:{_free_local_port()}"
        started = Launch(database_url, private_redis, tmp_path / "devserver.log", address)
        yield app, started
        started.stop()


def test_make_run_ends_with_the_demo_login_and_prints_no_routine_worker_lines(launch):
    app, devserver = launch
    with app.app_context():
        demo.seed()  # what `flask demo --if-empty` does on an empty database
        db.engine.dispose()
    devserver.start().wait_for_line(DEMO_LOGIN)
    devserver.wait_for_jobs(6)  # three rounds of both sweeps since the servers were up
    assert devserver.lines() == [
        f"[devserver] Redis: {devserver.redis.url} (REDIS_URL)",
        "[devserver] Starting the web server and the worker…",
        f"[devserver] Followup is running on http://{devserver.address}  (Ctrl-C stops it)",
        "[devserver] No MAIL_SERVER: emails are saved as files in instance/mail",
        DEMO_LOGIN,
    ]


def test_without_the_demo_login_it_says_to_use_your_own_account(launch):
    app, devserver = launch
    with app.app_context():
        demo.seed()
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == demo.DEMO_EMAIL))
        user.set_password("changed by its owner")
        db.session.commit()
        db.engine.dispose()
    devserver.start().wait_for_line(OWN_ACCOUNT)
    lines = devserver.lines()
    assert lines[-1] == OWN_ACCOUNT
    assert not any(demo.DEMO_PASSWORD in line for line in lines)


def test_log_level_info_shows_the_worker_jobs(launch):
    app, devserver = launch
    with app.app_context():
        tenants.create_tenant("acme", "Acme Inc")  # someone's own data: no demo
        db.engine.dispose()
    devserver.start(LOG_LEVEL="INFO").wait_for_line(OWN_ACCOUNT)
    devserver.wait_for_jobs(2)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not any("sweep_notifications" in line for line in devserver.lines()):
        assert time.monotonic() < deadline, "\n".join(devserver.lines())
        time.sleep(0.1)
