"""Benchmark: the promise's alert sweep costs the same at 10,000 and at 1,000,000 open
requests, with the same number of alerts due.

    .venv/bin/python bench/promise_alerts.py

1. Recreates the PostgreSQL database `followup_bench_promise`, migrates it, and adds
   BENCH_OPEN (10,000) pending requests of one tenant, of which BENCH_DUE (200, one
   sweep's batch) have their at-risk alert due now; the others are due tomorrow.
2. Times one sweep that raises the due alerts (each staged in the outbox with its
   request's next alert time, committed, its delivery job queued in Redis database
   BENCH_REDIS_URL, default 6 of the local server, flushed): best of 3, the alerts
   and the requests' alert times put back between runs.
3. Adds requests up to BENCH_LARGE (1,000,000) open, all due tomorrow, and times the
   same sweep again.

Target: sweep at 1M / sweep at 10k <= 1.5 (the sweep reads the requests whose alert
is due through the index on next_alert_at, never the open ones). Exit code 0 when it
passes and every due request raised exactly one alert per run.
"""

import os
import sys
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from harness import ScratchDatabase, migrated_app, verdict
from redis import Redis

DATABASE = ScratchDatabase("followup_bench_promise")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
OPEN = int(os.environ.get("BENCH_OPEN", "10000"))
DUE = int(os.environ.get("BENCH_DUE", "200"))
LARGE = int(os.environ.get("BENCH_LARGE", "1000000"))
RUNS = 3
RATIO_TARGET = 1.5


def add_requests(tenant_id: int, first: int, count: int, alert_at: datetime) -> None:
    """`count` pending requests made an hour ago, promised within 24 h, whose next alert
    is at `alert_at` (numbered from `first`)."""
    from followup.extensions import db

    created = datetime.now(UTC) - timedelta(hours=1)
    db.session.execute(
        sa.text(
            "INSERT INTO followup_requests (tenant_id, name, email, reason, priority, status,"
            " source, notes, notes_version, identity_verified, created_at,"
            " response_time_hours, due_at, next_alert_at)"
            " SELECT :tenant, 'Customer ' || g, 'c' || g || '@example.com', 'Needs a call',"
            " 'normal', 'pending', 'api', '', 0, FALSE, :created, 24, :due, :alert_at"
            " FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS g"
        ),
        {
            "tenant": tenant_id,
            "created": naive(created),
            "due": naive(created + timedelta(hours=24)),
            "alert_at": naive(alert_at),
            "first": first,
            "last": first + count - 1,
        },
    )
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE followup_requests"))


def naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def rearm(due_ids: list[int], alert_at: datetime) -> None:
    """Put the due requests back as they were before a sweep raised their alerts."""
    from followup.extensions import db

    db.session.execute(sa.text("DELETE FROM notifications WHERE kind = 'at_risk'"))
    db.session.execute(
        sa.text("UPDATE followup_requests SET next_alert_at = :at WHERE id = ANY(:ids)"),
        {"at": naive(alert_at), "ids": due_ids},
    )
    db.session.commit()


def measure(due_ids: list[int], alert_at: datetime, redis: Redis) -> tuple[float, bool]:
    """Best of RUNS sweeps, and whether each raised exactly one alert per due request."""
    from followup.extensions import db
    from followup.services import promise

    best, exact = None, True
    for _ in range(RUNS):
        rearm(due_ids, alert_at)
        redis.flushdb()
        started = time.perf_counter()
        raised = promise.sweep()
        elapsed = time.perf_counter() - started
        alerts = db.session.scalar(
            sa.text("SELECT count(DISTINCT followup_id) FROM notifications WHERE kind = 'at_risk'")
        )
        db.session.commit()
        exact = exact and raised == len(due_ids) == alerts
        best = elapsed if best is None else min(best, elapsed)
    return best, exact


def main() -> int:
    from followup.extensions import db
    from followup.services import tenants

    DATABASE.recreate()
    redis = Redis.from_url(REDIS_URL)
    config = {
        "SQLALCHEMY_DATABASE_URI": DATABASE.url,
        "REDIS_URL": REDIS_URL,
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    try:
        with migrated_app(config):
            tenant = tenants.create_tenant("bench", "Bench Co", contact_email="team@bench.example")
            now = datetime.now(UTC)
            due_at, later = now - timedelta(seconds=1), now + timedelta(days=1)
            add_requests(tenant.id, 1, DUE, due_at)
            due_ids = list(db.session.scalars(sa.text("SELECT id FROM followup_requests")))
            add_requests(tenant.id, DUE + 1, OPEN - DUE, later)
            small, exact_small = measure(due_ids, due_at, redis)
            add_requests(tenant.id, OPEN + 1, LARGE - OPEN, later)
            large, exact_large = measure(due_ids, due_at, redis)
    finally:
        redis.flushdb()
        DATABASE.drop()
    ratio = large / small
    exact = exact_small and exact_large
    print(f"alert sweep, {DUE} due of {OPEN:,} open: {small * 1000:.1f} ms (best of {RUNS})")
    print(f"alert sweep, {DUE} due of {LARGE:,} open: {large * 1000:.1f} ms (best of {RUNS})")
    print(
        f"ratio 1M / 10k: {ratio:.2f} (target <= {RATIO_TARGET}) {verdict(ratio <= RATIO_TARGET)}"
    )
    print(f"one alert per due request each run: {verdict(exact)}")
    return 0 if ratio <= RATIO_TARGET and exact else 1


if __name__ == "__main__":
    sys.exit(main())
