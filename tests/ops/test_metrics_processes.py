"""/metrics served by real gunicorn with two worker processes, as production serves it
(gunicorn.conf.py): every request counted once, whichever process answered it, by the
scrape of either; a worker that dies keeps its counts; the folder emptied as gunicorn
starts. The RQ worker's own: tests/engine/test_metrics_worker.py."""

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from followup.config import PROJECT_ROOT
from followup.extensions import db
from tests.helpers.apps import REDIS_TEST_URL, build_app
from tests.helpers.jobs import wait_for
from tests.helpers.metrics import scrape, value

ROUTE = "/healthz"
MIN_REQUESTS = 20
MAX_REQUESTS = 1000
STALE_COUNT = 5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def environment(tmp_path: Path, folder: Path) -> dict[str, str]:
    return os.environ | {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'followup.db'}",
        "REDIS_URL": REDIS_TEST_URL,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SECRET_KEY": "test-secret-key",
        "PYTHON_DOTENV_DISABLED": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
    }


def count_stale_requests(env: dict[str, str]) -> None:
    """Counts left in the folder by an earlier run, which the master must drop."""
    script = (
        "from followup import metrics; "
        f"metrics.REQUESTS.labels({ROUTE!r}, 'GET', '200').inc({STALE_COUNT})"
    )
    subprocess.run([sys.executable, "-c", script], env=env, cwd=PROJECT_ROOT, check=True)


@pytest.fixture
def gunicorn(tmp_path):
    """gunicorn with two workers on a database with the schema; (master, port, folder)."""
    folder = tmp_path / "metrics"
    folder.mkdir()
    env = environment(tmp_path, folder)
    app = build_app(env["DATABASE_URL"])
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    count_stale_requests(env)
    assert list(folder.glob("counter_*.db"))  # the master must empty the folder
    port = free_port()
    master = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "app:app",
            "--config", str(PROJECT_ROOT / "gunicorn.conf.py"),
            "--bind", f"127.0.0.1:{port}",
            "--workers", "2", "--threads", "4",
            "--log-level", "warning",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(lambda: master.poll() is None and answers(port), "gunicorn to listen", None, 60)
        wait_for(lambda: len(children(master.pid)) == 2, "two gunicorn workers", None, 60)
        yield master, port, folder
    finally:
        os.killpg(master.pid, signal.SIGTERM)
        try:
            master.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(master.pid, signal.SIGKILL)
            master.wait()


def counting_processes(folder: Path) -> set[str]:
    return {path.stem.split("_", 1)[1] for path in folder.glob("counter_*.db")}


def requests_counted(port: int) -> dict:
    return scrape(f"http://127.0.0.1:{port}/metrics")


def answered(samples: dict) -> float:
    return value(samples, "followup_http_requests_total", route=ROUTE, method="GET", status="200")


def timed(samples: dict) -> float:
    return value(samples, "followup_http_request_duration_seconds_count", route=ROUTE, method="GET")


def test_every_request_is_counted_once_across_gunicorns_workers(gunicorn):
    master, port, folder = gunicorn
    workers = {str(pid) for pid in children(master.pid)}
    sent = 0
    # Until both workers have answered some (the kernel decides who accepts), and at least
    # MIN_REQUESTS in all.
    while sent < MIN_REQUESTS or not workers <= counting_processes(folder):
        assert sent < MAX_REQUESTS, "one gunicorn worker answered every request"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{ROUTE}", timeout=10) as response:
            assert response.status == 200
        sent += 1
    assert counting_processes(folder) == workers  # the master emptied the folder

    assert answered(requests_counted(port)) == sent

    # Timed as each response closes: the last ones may close just after the client read them.
    def all_timed():
        samples = requests_counted(port)
        return samples if timed(samples) >= sent else None

    assert timed(wait_for(all_timed, "every request timed")) == sent

    # A worker dies; gunicorn starts another. Its counts stay.
    os.kill(int(next(iter(workers))), signal.SIGKILL)
    wait_for(
        lambda: len(set(map(str, children(master.pid))) - workers) == 1,
        "gunicorn's new worker",
        None,
        60,
    )
    for _ in range(4):  # whichever process answers the scrape
        assert answered(requests_counted(port)) == sent
