"""Benchmark: auto follow-up reminders sent by RQ workers, against the same workers
running no-op jobs; lateness at a steady rate; the cost of one sweep as chains pile up.

    .venv/bin/python bench/reminders.py

1. Recreates the PostgreSQL database `followup_bench_reminders`, migrates it, and
   loads (COPY) 100,000 chats with an active chain (an agent open 24/7, steps of
   1 h, 24 h and 48 h), a client message and the AI's answer in each of the 10,000
   that will fall due together; the rest are due tomorrow. Redis is
   `BENCH_REDIS_URL` (default database 6 of the local server), flushed; the model is
   the fake OpenAI server of the tests, in this process, answering at once.
2. Starts BENCH_WORKERS (2) `python worker.py` and lets them warm up.
3. Baseline: 3,000 no-op jobs are queued at once; the rate is jobs over the time from
   queueing to the end of the last.
4. Throughput: the 10,000 chains fall due at one moment (their due time set 3 s ahead,
   the client's message an hour before it), as when an opening ends a closed night,
   with the one wake-up the engine queues for that moment; the rate is reminders over
   the time from the due time to the last reminder's commit. Each must go out once.
5. Lateness when not backlogged: 400 more chains fall due one after another at half
   the measured rate, each job queued for its due time as the engine does (RQ's
   scheduler); lateness is the reminder's commit time minus its due time.
6. Sweep cost (workers stopped): one sweep that queues 10,000 due reminders, with
   10,000 active chains in all and then with 1,000,000 (990,000 due later), best of 3.

Targets: reminders per second >= 0.5 x no-op jobs per second; lateness p99 <= 2 s;
sweep at 1M / sweep at 10k <= 1.5. Exit code 0 when all pass and no reminder went
twice. BENCH_CHATS, BENCH_DUE, BENCH_NOOP, BENCH_STEADY, BENCH_LARGE, BENCH_WORKERS
change the counts; BENCH_WORKER the worker script.
"""

import io
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from harness import (
    PROJECT_ROOT,
    ScratchDatabase,
    finished_jobs,
    logs_dir,
    migrated_app,
    percentile,
    start_process,
    stop_processes,
    verdict,
    wait_until,
)
from redis import Redis
from rq import Queue, Worker
from rq.registry import FinishedJobRegistry

from followup.queue import JobQueue
from tests.fakes.openai_server import FakeOpenAI

DATABASE = ScratchDatabase("followup_bench_reminders")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
WORKER_SCRIPT = Path(os.environ.get("BENCH_WORKER", PROJECT_ROOT / "worker.py"))

CHATS = int(os.environ.get("BENCH_CHATS", "100000"))
DUE = int(os.environ.get("BENCH_DUE", "10000"))
NOOP_JOBS = int(os.environ.get("BENCH_NOOP", "3000"))
STEADY = int(os.environ.get("BENCH_STEADY", "400"))
LARGE = int(os.environ.get("BENCH_LARGE", "1000000"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
STEPS = [(60, "Remind the user that we're available and ready to help"),
         (24 * 60, "Ask if the question is still relevant"),
         (48 * 60, "Say a warm goodbye")]  # fmt: skip
FIRST_DELAY = timedelta(minutes=STEPS[0][0])
RATIO_TARGET = 0.5
P99_TARGET_S = 2.0
SWEEP_RATIO_TARGET = 1.5
SWEEP_RUNS = 3
WAIT_LIMIT_S = 900

CHAT_COLUMNS = (
    "tenant_id, agent_id, channel, title, visitor, chain_cycle, chain_step_id, chain_due_at, "
    "chain_ended, autofollowup_paused, opted_out, last_client_message_at, created_at, "
    "last_message_at, visitor_code"
)


# --- set-up ----------------------------------------------------------------------------------


def settings(llm: FakeOpenAI) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": DATABASE.url,
        "REDIS_URL": REDIS_URL,
        "RATELIMIT_STORAGE_URI": "memory://",
        "OPENAI_BASE_URL": llm.base_url,
        "OPENAI_API_KEY": "bench",
        "LLM_TIMEOUT_S": 10.0,
    }


def make_agent():
    from followup.extensions import db
    from followup.models import Agent, AutoFollowupStep, always_open
    from followup.services import tenants

    tenant = tenants.create_tenant("bench", "Bench Co", contact_email="team@bench.example")
    agent = Agent(
        tenant_id=tenant.id,
        name="Alexey",
        serves_web_widget=True,
        autofollowup_enabled=True,
        working_hours=always_open(),
    )
    for position, (delay, instruction) in enumerate(STEPS, start=1):
        agent.steps.append(
            AutoFollowupStep(position=position, delay_minutes=delay, instruction=instruction)
        )
    db.session.add(agent)
    db.session.commit()
    return agent


def naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def copy_rows(table: str, columns: str, rows) -> None:
    """Bulk-load rows with PostgreSQL's COPY (tab-separated text)."""
    from followup.extensions import db

    raw = db.engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            buffer = io.StringIO()
            for row in rows:
                buffer.write("\t".join(_copy_value(value) for value in row) + "\n")
                if buffer.tell() > 8_000_000:
                    _flush_copy(cursor, table, columns, buffer)
                    buffer = io.StringIO()
            _flush_copy(cursor, table, columns, buffer)
        raw.commit()
    finally:
        raw.close()


def _flush_copy(cursor, table: str, columns: str, buffer: io.StringIO) -> None:
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        copy.write(buffer.getvalue())


def _copy_value(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return naive(value).isoformat()
    return str(value)


def add_chains(agent, count: int, due_at, title: str) -> list[int]:
    """`count` chats whose first step is pending; `due_at(n)` gives each one's due time.
    Returns their ids."""
    from followup.extensions import db
    from followup.models import Chat
    from followup.models.chat import new_visitor_code

    step_id = agent.steps[0].id
    first_id = (db.session.scalar(sa.select(sa.func.max(Chat.id))) or 0) + 1
    db.session.rollback()
    now = datetime.now(UTC)

    def rows():
        for n in range(count):
            due = due_at(n)
            yield (agent.tenant_id, agent.id, "web", f"{title} {n}", json.dumps({}), 1, step_id,
                   due, None, False, False, due - FIRST_DELAY, now, now,
                   new_visitor_code())  # fmt: skip

    copy_rows("chats", CHAT_COLUMNS, rows())
    ids = list(db.session.scalars(sa.select(Chat.id).where(Chat.id >= first_id).order_by(Chat.id)))
    db.session.rollback()
    assert len(ids) == count, (len(ids), count)
    return ids


def add_conversations(chat_ids: list[int]) -> None:
    """A client message and the AI's answer in each chat: what the model reads."""
    now = datetime.now(UTC)
    rows = (
        (chat_id, role, text, "text", now)
        for chat_id in chat_ids
        for role, text in (
            ("client", f"Do you have the blue jacket in size {chat_id % 7 + 36}?"),
            ("agent", "Let me check that for you: we have it in stock."),
        )
    )
    copy_rows("messages", "chat_id, role, content, mode, created_at", rows)


# --- workers ---------------------------------------------------------------------------------


def start_workers(config: dict, logs: Path) -> list:
    env = {
        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": config["REDIS_URL"],
        "RATELIMIT_STORAGE_URI": "memory://",
        "OPENAI_BASE_URL": config["OPENAI_BASE_URL"],
        "OPENAI_API_KEY": config["OPENAI_API_KEY"],
        "LLM_TIMEOUT_S": str(config["LLM_TIMEOUT_S"]),
    }
    return [
        start_process([sys.executable, str(WORKER_SCRIPT)], env, logs / f"worker-reminders-{n}.log")
        for n in range(WORKERS)
    ]


def wait_for(condition, what: str, poll_s: float = 0.2):
    return wait_until(condition, what, WAIT_LIMIT_S, poll_s)


def warm_up(redis: Redis) -> None:
    """Every worker is registered and has run a job (imports and forks done once)."""
    wait_for(lambda: len(Worker.all(connection=redis)) >= WORKERS, "the workers")
    queue = Queue(JobQueue.REMINDERS, connection=redis)
    jobs = [queue.enqueue("os.getpid") for _ in range(WORKERS * 4)]
    wait_for(lambda: all(job.get_status() == "finished" for job in jobs), "the warm-up")
    redis.delete(FinishedJobRegistry(JobQueue.REMINDERS, connection=redis).key)


# --- measurements ----------------------------------------------------------------------------


def measure_noop_rate(redis: Redis) -> float:
    queue = Queue(JobQueue.REMINDERS, connection=redis)
    started = time.time()
    with redis.pipeline() as pipe:
        queue.enqueue_many([Queue.prepare_data("os.getpid") for _ in range(NOOP_JOBS)], pipe)
        pipe.execute()
    registry = FinishedJobRegistry(JobQueue.REMINDERS, connection=redis)
    wait_for(lambda: registry.count >= NOOP_JOBS, "the no-op jobs")
    ended = max(job.ended_at.timestamp() for job in finished_jobs(redis, JobQueue.REMINDERS))
    return NOOP_JOBS / (ended - started)


def reminder_times(chat_ids: list[int]) -> dict[int, datetime]:
    """Each chat's first reminder's commit time (only chats that have one)."""
    from followup.extensions import db
    from followup.models import Message

    times: dict[int, datetime] = {}
    for start in range(0, len(chat_ids), 5000):
        rows = db.session.execute(
            sa.select(Message.chat_id, sa.func.min(Message.created_at))
            .where(
                Message.chat_id.in_(chat_ids[start : start + 5000]),
                Message.reminder_step_id.is_not(None),
            )
            .group_by(Message.chat_id)
        )
        times.update(dict(rows.all()))
    db.session.rollback()
    return times


def count_reminders() -> int:
    from followup.extensions import db
    from followup.models import Message

    count = db.session.scalar(
        sa.select(sa.func.count()).where(Message.reminder_step_id.is_not(None))
    )
    db.session.rollback()
    return count


def measure_reminder_rate(agent, due_ids: list[int]) -> float:
    """The chains of `due_ids` fall due at one moment (as when an opening ends a closed
    night), with the one wake-up the engine queues for it; wait for every reminder."""
    from followup.extensions import db
    from followup.models import Chat
    from followup.services.autofollowup import Pending, schedule

    due = datetime.now(UTC) + timedelta(seconds=3)
    db.session.execute(
        sa.update(Chat)
        .where(Chat.id.in_(due_ids))
        .values(chain_due_at=due, last_client_message_at=due - FIRST_DELAY)
    )
    db.session.commit()
    schedule(Pending(due_ids[0], 1, agent.steps[0].id, due))
    wait_for(lambda: count_reminders() >= len(due_ids), "the reminders", poll_s=1.0)
    last = max(reminder_times(due_ids).values())
    return len(due_ids) / (last - due).total_seconds()


def measure_lateness(agent, rate: float) -> list[float]:
    """STEADY chains falling due one after the other at `rate` per second, each job
    queued for its due time; seconds from due time to the reminder's commit."""
    from followup.services.autofollowup import Pending, schedule

    start = datetime.now(UTC) + timedelta(seconds=5)

    def due_at(n: int) -> datetime:
        return start + timedelta(seconds=n / rate)

    ids = add_chains(agent, STEADY, due_at, "Steady")
    add_conversations(ids)
    for n, chat_id in enumerate(ids):
        schedule(Pending(chat_id, 1, agent.steps[0].id, due_at(n)))
    assert datetime.now(UTC) < start, "scheduling took longer than the head start"
    sent = wait_for(
        lambda: (times := reminder_times(ids)) and len(times) == len(ids) and times,
        "the steady reminders",
        poll_s=1.0,
    )
    return [(sent[chat_id] - due_at(n)).total_seconds() for n, chat_id in enumerate(ids)]


def measure_sweep(redis: Redis) -> float:
    """Best of SWEEP_RUNS: one sweep queueing every due reminder (no worker runs them;
    Redis is emptied between runs so each run queues them all again)."""
    from followup.jobs.reminders import sweep_due_reminders

    best = None
    for _ in range(SWEEP_RUNS):
        redis.flushdb()
        started = time.perf_counter()
        queued = sweep_due_reminders()
        elapsed = time.perf_counter() - started
        assert queued == DUE, queued
        best = elapsed if best is None else min(best, elapsed)
    redis.flushdb()
    return best


def sweep_costs(agent, redis: Redis) -> tuple[float, float]:
    from followup.extensions import db

    db.session.execute(sa.text("TRUNCATE chats RESTART IDENTITY CASCADE"))
    db.session.commit()
    now = datetime.now(UTC)
    add_chains(agent, DUE, lambda n: now - timedelta(seconds=1), "Due")
    analyze()
    small = measure_sweep(redis)
    later = now + timedelta(days=1)
    add_chains(agent, LARGE - DUE, lambda n: later + timedelta(seconds=n % 86400), "Later")
    analyze()
    large = measure_sweep(redis)
    return small, large


def analyze() -> None:
    from followup.extensions import db

    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE chats"))


def sent_twice() -> int:
    from followup.extensions import db
    from followup.models import ReminderSend

    duplicates = db.session.execute(
        sa.select(ReminderSend.chat_id, ReminderSend.cycle, ReminderSend.step_id)
        .group_by(ReminderSend.chat_id, ReminderSend.cycle, ReminderSend.step_id)
        .having(sa.func.count() > 1)
    ).all()
    messages = count_reminders()
    sends = db.session.scalar(sa.select(sa.func.count(ReminderSend.id)))
    db.session.rollback()
    return len(duplicates) + abs(messages - sends)


def main() -> int:
    DATABASE.recreate()
    llm = FakeOpenAI().start()
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    config = settings(llm)
    began = time.monotonic()
    try:
        with migrated_app(config):
            agent = make_agent()
            print(f"[1/6] {CHATS:,} chats with an active chain ...", flush=True)
            tomorrow = datetime.now(UTC) + timedelta(days=1)
            due_ids = add_chains(agent, DUE, lambda n: tomorrow, "Client")
            add_conversations(due_ids)
            add_chains(agent, CHATS - DUE, lambda n: tomorrow + timedelta(seconds=n), "Other")
            analyze()

            print(f"[2/6] {WORKERS} workers ...", flush=True)
            workers = start_workers(config, logs_dir())
            try:
                warm_up(redis)
                print(f"[3/6] {NOOP_JOBS:,} no-op jobs ...", flush=True)
                noop_rate = measure_noop_rate(redis)
                print(f"[4/6] {DUE:,} reminders due at once ...", flush=True)
                reminder_rate = measure_reminder_rate(agent, due_ids)
                steady_rate = reminder_rate / 2
                print(f"[5/6] {STEADY} reminders due at {steady_rate:.1f}/s ...", flush=True)
                lateness = measure_lateness(agent, steady_rate)
            finally:
                stop_processes(workers)
            duplicates = sent_twice()
            print(f"[6/6] one sweep, {DUE:,} due of {DUE:,} then {LARGE:,} ...", flush=True)
            sweep_small, sweep_large = sweep_costs(agent, redis)
    finally:
        llm.stop()
        redis.flushdb()
        DATABASE.drop()

    ratio = reminder_rate / noop_rate
    p50, p99 = percentile(lateness, 0.50), percentile(lateness, 0.99)
    sweep_ratio = sweep_large / sweep_small
    ratio_ok, p99_ok = ratio >= RATIO_TARGET, p99 <= P99_TARGET_S
    sweep_ok = sweep_ratio <= SWEEP_RATIO_TARGET
    rows = [
        ("workers", f"{WORKERS}"),
        ("no-op jobs per second", f"{noop_rate:.1f}"),
        (f"reminders per second ({DUE:,} due at once)", f"{reminder_rate:.1f}"),
        ("ratio reminders / no-op", f"{ratio:.2f}  target >= {RATIO_TARGET}: {verdict(ratio_ok)}"),
        (f"lateness p50 at {steady_rate:.1f}/s", f"{p50:.3f} s"),
        (f"lateness p99 at {steady_rate:.1f}/s",
         f"{p99:.3f} s  target <= {P99_TARGET_S} s: {verdict(p99_ok)}"),
        ("lateness max / mean", f"{max(lateness):.3f} s / {statistics.mean(lateness):.3f} s"),
        (f"one sweep, {DUE:,} due of {DUE:,} active", f"{sweep_small:.3f} s"),
        (f"one sweep, {DUE:,} due of {LARGE:,} active", f"{sweep_large:.3f} s"),
        (f"ratio {LARGE:,} / {DUE:,} active",
         f"{sweep_ratio:.2f}  target <= {SWEEP_RATIO_TARGET}: {verdict(sweep_ok)}"),
        ("no reminder sent twice", "yes" if not duplicates else "NO"),
        ("bench time", f"{time.monotonic() - began:.0f} s"),
    ]  # fmt: skip
    print()
    for label, value in rows:
        print(f"{label:<42} {value}")
    return 0 if ratio_ok and p99_ok and sweep_ok and not duplicates else 1


if __name__ == "__main__":
    sys.exit(main())
