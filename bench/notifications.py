"""Benchmark: notification delivery by one RQ worker, against the same worker running no-ops.

    .venv/bin/python bench/notifications.py

1. Recreates the PostgreSQL database `followup_bench_notify`, migrates it, and makes
   a tenant with a contact email and the customer confirmation on, so each request
   brings two emails. Redis is `BENCH_REDIS_URL` (default database 7 of the local
   server), flushed; SMTP is a local aiosmtpd server in this process.
2. Baseline: 2,000 no-op jobs are queued, then one `python worker.py` runs them.
3. Throughput: 2,000 requests are created through the service (rows written with
   the request, one job per request queued after the commit), then one
   `python worker.py` delivers the 4,000 emails. Rates come from RQ's own start and
   end times of the first and last job, so worker start-up is left out of both; the
   throughput counts notifications (two per job), the baseline jobs.
4. Latency when not backlogged: 200 more requests at a steady rate of half the
   measured capacity, the worker running; for each email, the time from the
   request's commit (its `created_at`, stamped just before) to the SMTP server's
   acceptance.

Targets: notifications per second >= 0.5 x no-op jobs per second; p99 <= 2 s.
Exit code 0 when both pass and every email arrived exactly once. BENCH_REQUESTS
changes the 2,000 (the no-op count follows; the steady phase is a tenth of it).
"""

import os
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from harness import (
    ScratchDatabase,
    finished_jobs,
    logs_dir,
    migrated_app,
    percentile,
    start_worker,
    stop_processes,
    verdict,
    wait_until,
)
from redis import Redis
from rq import Queue
from rq.job import Job

from followup.queue import JobQueue
from tests.fakes.smtp_server import FakeSmtp

DATABASE = ScratchDatabase("followup_bench_notify")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "2000"))
NOOP_JOBS = REQUESTS
LATENCY_REQUESTS = REQUESTS // 10
RATIO_TARGET = 0.5
P99_TARGET_S = 2.0
WAIT_LIMIT_S = 900


def settings(smtp: FakeSmtp) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": DATABASE.url,
        "REDIS_URL": REDIS_URL,
        "RATELIMIT_STORAGE_URI": "memory://",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp.port,
        "PUBLIC_BASE_URL": "https://followup.bench.example",
    }


def worker_env(config: dict) -> dict[str, str]:
    return {
        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": config["REDIS_URL"],
        "RATELIMIT_STORAGE_URI": "memory://",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(config["MAIL_PORT"]),
        "PUBLIC_BASE_URL": config["PUBLIC_BASE_URL"],
    }


def per_second(jobs: list[Job], items_of=lambda job: 1) -> float:
    """Items done between the start of the first job and the end of the last."""
    first = min(job.started_at for job in jobs)
    last = max(job.ended_at for job in jobs)
    return sum(items_of(job) for job in jobs) / (last - first).total_seconds()


def measure_noop_rate(redis: Redis, config: dict, logs: Path) -> float:
    queue = Queue(JobQueue.NOTIFICATIONS, connection=redis)
    for _ in range(NOOP_JOBS):
        queue.enqueue("os.getpid")  # a job that does nothing worth measuring
    worker = start_worker(worker_env(config), logs / "worker-noop.log")
    try:
        wait_until(
            lambda: len(finished_jobs(redis, JobQueue.NOTIFICATIONS)) >= NOOP_JOBS,
            "the no-op jobs",
            WAIT_LIMIT_S,
        )
        return per_second(finished_jobs(redis, JobQueue.NOTIFICATIONS))
    finally:
        stop_processes([worker])
        redis.flushdb()


def create_requests(tenant_id: int, count: int, offset: int, rate: float | None = None) -> None:
    from followup.models import Source
    from followup.services.followups import create_followup

    started = time.perf_counter()
    for n in range(offset, offset + count):
        if rate is not None:  # a steady arrival rate, not a burst
            time.sleep(max(0.0, started + (n - offset) / rate - time.perf_counter()))
        create_followup(
            tenant_id,
            {
                "name": f"Customer {n}",
                "email": f"customer{n}@example.com",
                "phone": "+14155550100",
                "reason": f"Wants a quote for {n} hoodies before the event.",
                "summary": "The customer chatted with the AI assistant, which offered a follow-up.",
            },
            source=Source.API,
        )


def sent_rows() -> list:
    from followup.extensions import db
    from followup.models import FollowUpRequest, Notification

    rows = db.session.execute(
        sa.select(Notification.provider_message_id, Notification.state, FollowUpRequest.created_at)
        .join(FollowUpRequest, FollowUpRequest.id == Notification.followup_id)
        .order_by(Notification.id)
    ).all()
    db.session.rollback()
    return rows


def all_delivered(expected: int) -> bool:
    rows = sent_rows()
    return len(rows) == expected and all(row.state == "sent" for row in rows)


def main() -> int:
    from followup.services import tenants

    logs = logs_dir()
    DATABASE.recreate()
    smtp = FakeSmtp().start()
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    config = settings(smtp)
    try:
        with migrated_app(config):
            tenant = tenants.create_tenant("bench", "Bench Co", contact_email="team@bench.example")

            print(f"[1/3] {NOOP_JOBS} no-op jobs, one worker ...", flush=True)
            noop_rate = measure_noop_rate(redis, config, logs)

            print(f"[2/3] {REQUESTS} requests, then one worker delivers their emails ...")
            create_requests(tenant.id, REQUESTS, offset=0)
            expected = REQUESTS * 2
            worker = start_worker(worker_env(config), logs / "worker-notifications.log")
            try:
                wait_until(
                    lambda: all_delivered(expected), "the backlog to be delivered", WAIT_LIMIT_S
                )
                # A request's notifications share one job: count notifications.
                jobs = finished_jobs(redis, JobQueue.NOTIFICATIONS, prefix="notifications-")
                notify_rate = per_second(jobs, items_of=lambda job: len(job.args[0]))

                rate = notify_rate / 2 / 2  # requests per second at half the capacity
                print(f"[3/3] {LATENCY_REQUESTS} requests at {rate:.1f}/s, worker running ...")
                create_requests(tenant.id, LATENCY_REQUESTS, offset=REQUESTS, rate=rate)
                expected += LATENCY_REQUESTS * 2
                wait_until(lambda: all_delivered(expected), "the steady requests", WAIT_LIMIT_S)
            finally:
                stop_processes([worker])

            received = smtp.received()
            accepted = {mail.message_id: mail.accepted_at for mail in received}
            rows = sent_rows()
            steady = rows[-LATENCY_REQUESTS * 2 :]
            latencies = [
                accepted[row.provider_message_id] - row.created_at.timestamp() for row in steady
            ]
    finally:
        smtp.stop()
        redis.flushdb()
        DATABASE.drop()

    once = len(received) == len(accepted) == len(rows) == expected
    ratio = notify_rate / noop_rate
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    ratio_ok, p99_ok = ratio >= RATIO_TARGET, p99 <= P99_TARGET_S
    print()
    print(f"no-op jobs per second           {noop_rate:8.1f}")
    print(f"notifications per second        {notify_rate:8.1f}")
    print(f"ratio notifications / no-op     {ratio:8.2f}   target >= {RATIO_TARGET}: "
          f"{verdict(ratio_ok)}")  # fmt: skip
    print(f"commit to SMTP acceptance p50   {p50:8.3f} s")
    print(f"commit to SMTP acceptance p99   {p99:8.3f} s  target <= {P99_TARGET_S} s: "
          f"{verdict(p99_ok)}")  # fmt: skip
    print(f"mean of the steady latencies    {statistics.mean(latencies):8.3f} s")
    print(f"every email delivered once      {'yes' if once else 'NO'}")
    return 0 if ratio_ok and p99_ok and once else 1


if __name__ == "__main__":
    sys.exit(main())
