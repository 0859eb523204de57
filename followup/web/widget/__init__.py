"""The chat widget: `/widget.js` for the host page and the chat UI inside its iframe."""

from flask import Blueprint

bp = Blueprint("widget", __name__)
