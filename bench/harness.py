"""What every benchmark under bench/ needs: a scratch PostgreSQL database, the app's
processes started and stopped as a whole (gunicorn, worker.py), a wait with a
deadline, percentiles and the PASS/FAIL word.

Benchmarks run as scripts (`python bench/<name>.py`), so this folder is on
sys.path and they `import harness`; importing it also puts the project root there,
for the app and the test fakes.
"""

import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import sqlalchemy as sa

if TYPE_CHECKING:
    from flask import Flask
    from redis import Redis
    from rq.job import Job

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
STOP_TIMEOUT_S = 30

T = TypeVar("T")


class ScratchDatabase:
    """A database of the benchmark's own on the PostgreSQL server, made anew each run."""

    def __init__(self, name: str):
        self.name = name
        self.url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    def recreate(self) -> str:
        self._run(
            f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)', f'CREATE DATABASE "{self.name}"'
        )
        return self.url

    def drop(self) -> None:
        self._run(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    @staticmethod
    def _run(*statements: str) -> None:
        admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                for statement in statements:
                    conn.execute(sa.text(statement))
        finally:
            admin.dispose()

    @contextlib.contextmanager
    def for_run(self, kind: str, prefix: str) -> Iterator[str]:
        """The URL of an empty database for one run: this one on PostgreSQL when `kind`
        is "postgresql" (dropped after), else a SQLite file in a folder of its own
        named `prefix`… (removed after)."""
        if kind == "postgresql":
            try:
                yield self.recreate()
            finally:
                self.drop()
        else:
            with tempfile.TemporaryDirectory(prefix=prefix) as directory:
                yield f"sqlite:///{Path(directory) / 'bench.db'}"


@contextlib.contextmanager
def migrated_app(config: Mapping) -> Iterator["Flask"]:
    """The app made with `config`, its database migrated to the latest revision, inside
    its app context; its connections closed at the end."""
    import flask_migrate

    from followup.extensions import db
    from followup.factory import create_app

    app = create_app(dict(config))
    with app.app_context():
        flask_migrate.upgrade()
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def widget_tenant(url: str, slug: str, origin: str) -> str:
    """Migrate the empty database and add a tenant whose widget `origin` may embed;
    return the widget's public key."""
    from followup.extensions import db
    from followup.services import tenants

    with migrated_app({"SQLALCHEMY_DATABASE_URI": url}):
        name = f"{slug.title()} Co"
        tenant = tenants.create_tenant(slug, name, contact_email=f"team@{slug}.example")
        tenant.allowed_origins = [origin]
        db.session.commit()
        return tenant.widget_public_key


def redis_answers(url: str) -> bool:
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        return bool(Redis.from_url(url, socket_connect_timeout=1).ping())
    except RedisError:
        return False


def logs_dir() -> Path:
    """Where the benchmarks' processes write their output (made if need be)."""
    logs = PROJECT_ROOT / "instance" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    return logs


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_process(argv: Sequence[str], env: Mapping[str, str], log_path: Path) -> subprocess.Popen:
    """Start one of the app's processes in a session of its own (its children with it),
    its output in `log_path`; the environment is added to this process's."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            list(argv),
            cwd=PROJECT_ROOT,
            env=os.environ | {"PYTHONPATH": str(PROJECT_ROOT)} | dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def start_worker(env: Mapping[str, str], log_path: Path) -> subprocess.Popen:
    """`python worker.py`, as production runs it."""
    return start_process([sys.executable, str(PROJECT_ROOT / "worker.py")], env, log_path)


def start_gunicorn(
    app_spec: str,
    port: int,
    env: Mapping[str, str],
    workers: int | None = None,
    threads: int | None = None,
) -> subprocess.Popen:
    """The app as production serves it (gunicorn with the project's gunicorn.conf.py) on
    127.0.0.1:`port`, once it accepts connections; `workers` and `threads` override the
    file's. `app_spec`: "module:factory()" from bench/."""
    command = [
        sys.executable, "-m", "gunicorn", app_spec,
        "--config", str(PROJECT_ROOT / "gunicorn.conf.py"),
        "--pythonpath", f"{BENCH_DIR},{PROJECT_ROOT}",
        "--bind", f"127.0.0.1:{port}",
        "--log-level", "warning",
    ]  # fmt: skip
    if workers is not None:
        command += ["--workers", str(workers)]
    if threads is not None:
        command += ["--threads", str(threads)]
    # A session of its own, so stop_processes reaches the master and its workers.
    server = subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=os.environ | dict(env), start_new_session=True
    )
    try:
        wait_until(lambda: _listening(server, port), "gunicorn to listen", limit_s=30, poll_s=0.1)
    except RuntimeError:
        stop_processes([server])
        raise
    return server


def _listening(server: subprocess.Popen, port: int) -> bool:
    if server.poll() is not None:
        raise RuntimeError(f"gunicorn exited with code {server.returncode}")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def stop_processes(processes: Sequence[subprocess.Popen]) -> None:
    """SIGTERM to every process of each session (a warm shutdown), then SIGKILL what is
    still there after STOP_TIMEOUT_S."""
    for process in processes:
        _signal_group(process, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()


def _signal_group(process: subprocess.Popen, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # it has stopped already
        os.killpg(process.pid, sig)


def wait_until(condition: Callable[[], T], what: str, limit_s: float, poll_s: float = 0.2) -> T:
    """Poll until `condition()` is truthy and return it; give up after `limit_s`."""
    deadline = time.monotonic() + limit_s
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what}")
        time.sleep(poll_s)
    return result


def percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` percentile (0.5, 0.95, 0.99) of the values, interpolated."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def finished_jobs(redis: "Redis", queue: str, prefix: str = "") -> list["Job"]:
    """The jobs of RQ's finished registry of `queue` (ids starting `prefix`)."""
    from rq.job import Job
    from rq.registry import FinishedJobRegistry

    ids = [
        job_id
        for job_id in FinishedJobRegistry(queue, connection=redis).get_job_ids()
        if job_id.startswith(prefix)
    ]
    return [
        job
        for start in range(0, len(ids), 500)
        for job in Job.fetch_many(ids[start : start + 500], redis)
        if job
    ]
