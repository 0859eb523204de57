"""/healthz tells a load balancer whether this box can serve: database and Redis."""

from followup.extensions import db
from tests.fakes.local_http import closed_redis_url
from tests.helpers.apps import build_app


def test_healthz_is_ok_when_database_and_redis_answer(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_healthz_is_503_naming_redis_when_redis_is_down(database_url):
    app = build_app(database_url, REDIS_URL=closed_redis_url())
    with app.app_context():
        response = app.test_client().get("/healthz")
        db.engine.dispose()
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert response.json["checks"]["database"] == "ok"
    assert response.json["checks"]["redis"].startswith("error")
