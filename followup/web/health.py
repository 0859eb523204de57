from flask import Blueprint, jsonify
from sqlalchemy import text

from followup.extensions import db
from followup.queue import redis_connection

bp = Blueprint("health", __name__)


def _check(probe) -> str:
    try:
        probe()
    except Exception as exc:  # any failure means "not healthy"; say which kind
        return f"error: {type(exc).__name__}"
    return "ok"


@bp.get("/healthz")
def healthz():
    checks = {
        "database": _check(lambda: db.session.execute(text("SELECT 1"))),
        "redis": _check(lambda: redis_connection().ping()),
    }
    healthy = all(state == "ok" for state in checks.values())
    return jsonify(status="ok" if healthy else "unavailable", checks=checks), (
        200 if healthy else 503
    )
