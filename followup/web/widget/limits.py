"""Rate limits of the widget page's endpoints: one budget per IP and one per chat session.

The same config keys as the JSON client API (`followup.web.widget_api.limits`), so
an operator tunes the widget in one place; each endpoint counts on its own.
"""

import hashlib

from followup.web.rate_limits import per_client_key
from followup.web.requests import bearer_token


def _session_key() -> str:
    # The token, not the chat id from the URL: nobody can spend another visitor's
    # budget without holding their token. Requests without one share a bucket;
    # they are refused anyway.
    token = bearer_token() or ""
    return "widget-page:" + hashlib.sha256(token.encode()).hexdigest()[:32]


def per_session(key: str):
    return per_client_key(key, _session_key)
