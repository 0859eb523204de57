"""Rate limits of the widget page's endpoints: one budget per IP and one per chat session.

The same config keys as the JSON client API (`followup.web.widget_api.limits`), so
an operator tunes the widget in one place; each endpoint counts on its own.
"""

import hashlib
from collections.abc import Callable

from flask import current_app
from flask_limiter.util import get_remote_address

from followup.extensions import limiter
from followup.web.widget.access import bearer_token

DEFAULTS = {
    "WIDGET_SESSIONS_LIMIT_PER_IP": "20 per minute",
    "WIDGET_MESSAGES_LIMIT_PER_SESSION": "30 per minute",
    "WIDGET_MESSAGES_LIMIT_PER_IP": "120 per minute",
    # Polling for new messages (every 5 s while open) and opening panels.
    "WIDGET_READS_LIMIT_PER_SESSION": "60 per minute",
    "WIDGET_READS_LIMIT_PER_IP": "600 per minute",
    "WIDGET_FOLLOWUPS_LIMIT_PER_SESSION": "10 per hour",
    "WIDGET_FOLLOWUPS_LIMIT_PER_IP": "60 per hour",
    # Each one may send an email: kept low.
    "WIDGET_LOGIN_LINK_LIMIT_PER_SESSION": "5 per hour",
    "WIDGET_LOGIN_LINK_LIMIT_PER_IP": "20 per hour",
}


def _configured(name: str) -> Callable[[], str]:
    default = DEFAULTS[name]
    return lambda: current_app.config.get(name, default)


def _session_key() -> str:
    # The token, not the chat id from the URL: nobody can spend another visitor's
    # budget without holding their token. Requests without one share a bucket;
    # they are refused anyway.
    token = bearer_token() or ""
    return "widget-page:" + hashlib.sha256(token.encode()).hexdigest()[:32]


def per_ip(name: str):
    return limiter.limit(_configured(name), key_func=get_remote_address)


def per_session(name: str):
    return limiter.limit(_configured(name), key_func=_session_key)
