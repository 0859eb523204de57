"""Where the processes keep their counts (followup/metrics.py): the web's folder as
gunicorn's master starts and stops, and the worker's metrics server as its WSGI app
and when its port is taken. Served for real: tests/ops/test_metrics_processes.py and
tests/engine/test_metrics_worker.py."""

import logging
import os
import socket

import pytest
from prometheus_client import Counter, Gauge, Histogram, Summary
from werkzeug.test import Client

from followup import config, metrics

TOKEN = "worker-metrics-token"
SETTINGS = {"METRICS_ENABLED": True, "METRICS_TOKEN": None, "METRICS_WORKER_PORT": 0}


@pytest.fixture
def no_folder(monkeypatch):
    monkeypatch.delenv(metrics.MULTIPROC_DIR, raising=False)


def test_without_a_folder_set_the_master_makes_one_and_removes_it(no_folder):
    metrics.web_server_starting()
    folder = os.environ.pop(metrics.MULTIPROC_DIR)
    try:
        assert os.path.isdir(folder)
        assert os.listdir(folder) == []
    finally:
        metrics.web_server_stopped()
    assert not os.path.exists(folder)


def test_the_folder_set_is_emptied_of_counts_only(monkeypatch, tmp_path):
    (tmp_path / "counter_123.db").write_bytes(b"stale")
    (tmp_path / "histogram_jobs-9.db").write_bytes(b"stale")
    (tmp_path / "README").write_text("not ours")
    monkeypatch.setenv(metrics.MULTIPROC_DIR, str(tmp_path))
    metrics.web_server_starting()
    metrics.web_server_stopped()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["README"]


def test_a_worker_whose_port_is_taken_runs_on_without_metrics(no_folder, caplog):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with caplog.at_level(logging.WARNING, logger="followup.metrics"):
            server = metrics.serve_worker_metrics(SETTINGS | {"METRICS_WORKER_PORT": port})
    assert server is None
    assert f"No worker metrics: port {port} cannot be used" in caplog.text
    assert metrics.MULTIPROC_DIR not in os.environ  # still counting for itself


def test_no_port_no_server(no_folder):
    assert metrics.serve_worker_metrics(SETTINGS) is None
    turned_off = SETTINGS | {"METRICS_WORKER_PORT": 9, "METRICS_ENABLED": False}
    assert metrics.serve_worker_metrics(turned_off) is None


@pytest.mark.parametrize(
    ("settings", "path", "environ", "headers", "status"),
    [
        ({}, "/metrics", {}, {}, 200),
        ({}, "/", {}, {}, 200),
        ({}, "/elsewhere", {}, {}, 404),
        ({}, "/metrics", {"REMOTE_ADDR": "10.1.2.3"}, {}, 403),
        ({"METRICS_TOKEN": TOKEN}, "/metrics", {"REMOTE_ADDR": "10.1.2.3"}, {}, 403),
        ({"METRICS_TOKEN": TOKEN}, "/metrics", {}, {"Authorization": "Bearer nope"}, 403),
        (
            {"METRICS_TOKEN": TOKEN},
            "/metrics",
            {"REMOTE_ADDR": "10.1.2.3"},
            {"Authorization": f"Bearer {TOKEN}"},
            200,
        ),
        ({"METRICS_ENABLED": False}, "/metrics", {}, {}, 404),
    ],
)
def test_the_workers_server_keeps_the_same_rules(settings, path, environ, headers, status):
    client = Client(metrics._worker_app(SETTINGS | settings))
    response = client.get(
        path, environ_base={"REMOTE_ADDR": "127.0.0.1"} | environ, headers=headers
    )
    assert response.status_code == status
    if status == 200:
        assert "# TYPE followup_jobs_total counter" in response.text
    else:
        assert "followup_" not in response.text


@pytest.mark.parametrize(("given", "used"), [(None, 0), ("", 0), ("9101", 9101), (" 0 ", 0)])
def test_the_worker_port_setting(monkeypatch, given, used):
    if given is None:
        monkeypatch.delenv("METRICS_WORKER_PORT", raising=False)
    else:
        monkeypatch.setenv("METRICS_WORKER_PORT", given)
    assert config._port("METRICS_WORKER_PORT") == used


@pytest.mark.parametrize("given", ["ninety", "-1", "70000", "91.01"])
def test_a_bad_worker_port_is_refused_in_our_words(monkeypatch, given):
    monkeypatch.setenv("METRICS_WORKER_PORT", given)
    with pytest.raises(config.ConfigError) as refused:
        config._port("METRICS_WORKER_PORT")
    assert str(refused.value) == (
        f'METRICS_WORKER_PORT is "{given}": give a port number (1 to 65535), or 0 for none.'
    )


@pytest.mark.parametrize(
    ("peer", "allowed"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("", False),
        ("unix:/run/x", False),
    ],
)
def test_loopback_readers_only_without_a_token(peer, allowed):
    assert (metrics.refusal(SETTINGS, None, peer, forwarded=False) is None) is allowed


def test_every_counted_metric_has_labels():
    """A metric without labels makes its value at import, before gunicorn or the worker
    sets the multiprocess folder: its counts would never reach a scrape."""
    counted = [
        value
        for value in vars(metrics).values()
        if isinstance(value, (Counter, Histogram, Gauge, Summary))
    ]
    assert counted, "no metric found"
    assert [metric._name for metric in counted if not metric._labelnames] == []
