"""The REST API: token-authenticated JSON over the follow-up services (see CONTRACT.md)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from followup.web.api import auth, routes  # noqa: E402, F401
