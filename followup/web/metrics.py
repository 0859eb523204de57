"""`GET /metrics`: the Prometheus exposition of the web processes (followup/metrics.py),
with what is read from Redis and the database at each scrape: queue depths and
notifications by state. Every web process answers with the same totals.

Read by Prometheus, not people: no login, no CSRF, no rate limit (limits are set per
route, and this one has none). Who may read it is `metrics.refusal`'s decision."""

import logging

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client.core import GaugeMetricFamily
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from followup import metrics
from followup.queue import queue_depths
from followup.services import counts

log = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)


class ReadAtScrape:
    """The gauges read from Redis and the database; one that cannot be read is left out
    (and logged), the rest still served."""

    def collect(self):
        try:
            depths = GaugeMetricFamily(
                "followup_queue_depth", "Jobs waiting in each queue.", labels=["queue"]
            )
            for queue, depth in queue_depths().items():
                depths.add_metric([queue.value], depth)
            yield depths
        except RedisError as exc:
            log.warning("Metrics: queue depths not read (%s).", type(exc).__name__)
        try:
            states = GaugeMetricFamily(
                "followup_notifications", "Notifications in each delivery state.", labels=["state"]
            )
            for state, count in counts.notifications_by_state().items():
                states.add_metric([state.value], count)
            yield states
        except SQLAlchemyError as exc:
            log.warning("Metrics: notifications not counted (%s).", type(exc).__name__)


@bp.get("/metrics")
def exposition():
    refused = metrics.refusal(
        current_app.config,
        request.headers.get("Authorization"),
        metrics.peer_address(request.environ),
        metrics.forwarded(request.environ),
    )
    if refused is metrics.Refusal.DISABLED:
        abort(404)
    if refused:  # plain text: the reader is a program, and a page would start a session
        return Response(f"{refused.value}\n", 403, content_type="text/plain; charset=utf-8")
    return Response(metrics.exposition(ReadAtScrape()), content_type=metrics.CONTENT_TYPE_LATEST)
