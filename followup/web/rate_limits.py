"""Rate-limit decorators whose limits come from config keys (see `followup.config`)."""

from collections.abc import Callable

from flask import current_app
from flask_limiter.util import get_remote_address

from followup.extensions import limiter


def _configured(key: str) -> Callable[[], str]:
    return lambda: current_app.config[key]


def per_ip(key: str):
    return limiter.limit(_configured(key), key_func=get_remote_address)


def per_client_key(key: str, client_key: Callable[[], str]):
    """A budget per whatever `client_key` names (a session, a token)."""
    return limiter.limit(_configured(key), key_func=client_key)
