"""The chat widget: `/widget.js` for the host page and the chat UI inside its iframe."""

from flask import Blueprint

bp = Blueprint("widget", __name__)

# The route modules register their views on `bp`.
from followup.web.widget import chat, customer, page  # noqa: E402, F401
