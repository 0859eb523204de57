"""The widget's JSON client API (CONTRACT.md), on the same services as the chat UI."""

from flask import Blueprint

bp = Blueprint("widget_api", __name__, url_prefix="/api/widget/v1")

from followup.web.widget_api import access, cors, routes  # noqa: E402, F401
