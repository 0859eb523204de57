"""RQ job functions (they take ids only) and the helpers that enqueue them.

One Redis connection per process."""

from functools import cache

from flask import current_app
from redis import Redis
from rq import Queue


@cache
def _redis_for(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def redis_connection() -> Redis:
    return _redis_for(current_app.config["REDIS_URL"])


def default_queue() -> Queue:
    # RQ_ASYNC=False runs jobs at once in the caller, for tests that need no worker.
    return Queue("default", connection=redis_connection(), is_async=current_app.config["RQ_ASYNC"])


def enqueue(job, *args, **kwargs):
    """Queue `job(*args)` for a worker. Call after the commit the job depends on."""
    return default_queue().enqueue(job, *args, **kwargs)
