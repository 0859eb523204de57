"""How the web processes serve many visitors at once: gunicorn with many threads (a chat
reply holds one for as long as the model writes), and what each thread needs sized for
them. bench/widget_load.py measures it."""

import runpy

from followup.config import PROJECT_ROOT
from followup.devserver import _child_commands
from followup.extensions import limiter
from tests.helpers.apps import REDIS_TEST_URL, build_app

GUNICORN_CONFIG = PROJECT_ROOT / "gunicorn.conf.py"


def served() -> dict:
    return runpy.run_path(str(GUNICORN_CONFIG))


def test_make_run_serves_as_production_does():
    web = _child_commands("127.0.0.1:5000", "WARNING")["web"]
    assert web[web.index("--config") + 1] == str(GUNICORN_CONFIG)
    assert "--threads" not in web and "--workers" not in web  # the file decides


def test_a_worker_has_a_thread_for_each_connection_it_takes_and_room_for_keep_alive():
    settings = served()
    assert settings["worker_class"] == "gthread"
    assert settings["threads"] >= 500  # hundreds of replies streaming at once
    assert settings["worker_connections"] > settings["threads"]


def test_the_rate_limiters_redis_pool_has_a_connection_for_every_thread(tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'serving.db'}", RATELIMIT_STORAGE_URI=REDIS_TEST_URL)
    with app.app_context():
        pool = limiter.storage.storage.connection_pool
        assert pool.max_connections >= served()["threads"]
