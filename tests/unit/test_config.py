"""Settings with a value we cannot use stop every process at start-up, in our words."""

import subprocess
import sys

import pytest

from followup import config
from followup.config import PROJECT_ROOT
from tests.fakes.local_http import closed_port

BAD_LEVEL_MESSAGE = 'LOG_LEVEL is "verbose": it must be one of DEBUG, INFO, WARNING, ERROR.'


def test_a_bad_log_level_stops_the_worker_at_start_up_naming_the_setting(tmp_path):
    environment = {
        "PATH": "/usr/bin:/bin",
        "PYTHON_DOTENV_DISABLED": "1",  # this test's settings only, not a developer's .env
        "SECRET_KEY": "x",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'worker.db'}",
        "REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0",  # never reached
        "LOG_LEVEL": "verbose",
    }
    started = subprocess.run(
        [sys.executable, "worker.py"],
        env=environment,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert started.stderr.strip().splitlines()[-1] == (
        f"followup.config.ConfigError: {BAD_LEVEL_MESSAGE}"
    )


@pytest.mark.parametrize(
    ("given", "used"),
    [
        (None, "INFO"),
        ("", "INFO"),
        ("debug", "DEBUG"),
        (" Warning ", "WARNING"),
        ("ERROR", "ERROR"),
    ],
)
def test_the_log_levels_we_allow(monkeypatch, given, used):
    if given is None:
        monkeypatch.delenv("LOG_LEVEL", raising=False)
    else:
        monkeypatch.setenv("LOG_LEVEL", given)
    assert config._log_level() == used


@pytest.mark.parametrize("given", ["verbose", "CRITICAL", "10"])
def test_other_log_levels_are_refused_in_our_words(monkeypatch, given):
    monkeypatch.setenv("LOG_LEVEL", given)
    with pytest.raises(config.ConfigError) as refused:
        config._log_level()
    assert str(refused.value) == (
        f'LOG_LEVEL is "{given}": it must be one of DEBUG, INFO, WARNING, ERROR.'
    )


@pytest.mark.parametrize(("given", "used"), [(None, "text"), ("", "text"), ("JSON", "json")])
def test_the_log_formats_we_allow(monkeypatch, given, used):
    if given is None:
        monkeypatch.delenv("LOG_FORMAT", raising=False)
    else:
        monkeypatch.setenv("LOG_FORMAT", given)
    assert config._log_format() == used


@pytest.mark.parametrize("given", ["logfmt", "yaml"])
def test_other_log_formats_are_refused_in_our_words(monkeypatch, given):
    monkeypatch.setenv("LOG_FORMAT", given)
    with pytest.raises(config.ConfigError) as refused:
        config._log_format()
    assert str(refused.value) == f'LOG_FORMAT is "{given}": it must be text or json.'
