"""Rate-limit decorators whose limits come from config keys (see `followup.config`), and
the Retry-After of a refusal."""

import time
from collections.abc import Callable

from flask import current_app
from flask_limiter.util import get_remote_address

from followup.extensions import limiter


def configured_limit(key: str) -> Callable[[], str]:
    return lambda: current_app.config[key]


def per_ip(key: str, **options):
    """A budget per client address (`options` as Flask-Limiter's `limit` takes them)."""
    return limiter.limit(configured_limit(key), key_func=get_remote_address, **options)


def per_client_key(key: str, client_key: Callable[[], str], **options):
    """A budget per whatever `client_key` names (a session, a token, an account)."""
    return limiter.limit(configured_limit(key), key_func=client_key, **options)


def retry_after_s() -> int:
    """For a refused request (429): whole seconds until the budget it exceeded has room.

    Asked only on a refusal: reading a budget's window costs storage round trips, which
    every answered request would pay with Flask-Limiter's X-RateLimit-* headers (off in
    `config.Config`), before its first byte. The storage that refused may be gone by
    now (Redis restarting): then the budget's whole window, still a 429 and not a 500."""
    exceeded = limiter.current_limit
    try:
        return max(1, int(exceeded.reset_at - time.time()))
    except Exception:  # any storage error, as Flask-Limiter itself treats them
        current_app.logger.warning("Rate-limit storage unreachable: Retry-After is the window")
        return exceeded.limit.get_expiry()
