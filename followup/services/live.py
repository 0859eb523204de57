"""Live admin pages: a per-tenant change counter in Redis.

Every commit that changes what the Follow-Ups page shows (a request created, its status
moved, its notes saved) calls `changed(tenant_id)`, which increments the tenant's
counter. Each open admin page polls `version(tenant_id)` about once a second with the
value it last saw: the same value costs one Redis GET and no SQL; another value makes the
page refresh its list, badge and title. Redis is shared by every web process and worker,
so a change made anywhere reaches every page.

Redis is a convenience here, never a condition: a failure is logged and ignored. The
change is committed already; pages then simply wait (the Refresh button still works)
until Redis answers again, and the first answer after that refreshes them.
"""

import logging
import time
from functools import cache

from flask import current_app
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry
from sqlalchemy import select

from followup.extensions import db
from followup.models import FollowUpRequest

log = logging.getLogger(__name__)

# While Redis is away every open page asks every second: one warning a minute is enough.
WARN_EVERY_S = 60.0
_last_read_warning = [float("-inf")]

# The counters' key is "<prefix><tenant id>"; tests give each app a prefix of its own.
DEFAULT_KEY_PREFIX = "followup:live:"


@cache
def _redis_for(url: str) -> Redis:
    """A client that gives up at once: a poll or a commit never waits on Redis's retries
    (the next poll, a second later, is the retry)."""
    return Redis.from_url(
        url, socket_connect_timeout=0.5, socket_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )


def redis_connection() -> Redis:
    return _redis_for(current_app.config["REDIS_URL"])


def _key(tenant_id: int) -> str:
    return f"{current_app.config.get('LIVE_KEY_PREFIX', DEFAULT_KEY_PREFIX)}{tenant_id}"


def changed(tenant_id: int) -> None:
    """Tell every open admin page of the tenant that its requests changed (after the commit)."""
    try:
        redis_connection().incr(_key(tenant_id))
    except RedisError:
        log.warning("live updates: could not count a change of tenant %s", tenant_id, exc_info=True)


def version(tenant_id: int) -> str | None:
    """The tenant's change counter as text ("0" before any change); None when Redis does
    not answer (the page keeps what it shows and asks again later)."""
    try:
        value = redis_connection().get(_key(tenant_id))
    except RedisError:
        now = time.monotonic()
        if now - _last_read_warning[0] >= WARN_EVERY_S:
            _last_read_warning[0] = now
            log.warning("live updates: Redis does not answer; pages wait", exc_info=True)
        return None
    return "0" if value is None else value.decode()


def newest_request_id(tenant_id: int) -> int | None:
    """The id of the tenant's newest request (a page notices a new one by it)."""
    return db.session.scalar(
        select(FollowUpRequest.id)
        .where(FollowUpRequest.tenant_id == tenant_id)
        .order_by(FollowUpRequest.created_at.desc(), FollowUpRequest.id.desc())
        .limit(1)
    )
