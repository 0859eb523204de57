"""How `make run` picks its Redis: REDIS_URL, else a local server, else an embedded one."""

import os
import signal
import sys
import threading
import time

import pytest
import redis

from followup.devserver import LOCAL_REDIS_URL, Supervisor, redis_answers, resolve_redis
from tests.fakes.local_http import closed_redis_url


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
