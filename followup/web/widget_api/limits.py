"""Rate limits of the public widget endpoints: one budget per IP and one per chat session.

Per IP bounds what one machine can do with many sessions (or none); per session
bounds one chat even when its visitor hops between addresses. The per-IP budgets
are generous because a whole office can share one address. Each limit comes from
the config key of the same name, with the default below.
"""

from followup.web.rate_limits import per_client_key
from followup.web.widget_api.access import session_chat_id


def _session_key() -> str:
    # An empty key makes Flask-Limiter skip the limit: a request without a valid
    # token has no session to count against, and is refused anyway.
    chat_id = session_chat_id()
    return f"widget-chat:{chat_id}" if chat_id is not None else ""


def per_session(key: str):
    return per_client_key(key, _session_key)
