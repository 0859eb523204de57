"""The one place that talks to RQ: which queue each job goes to, and queueing each job
with its options (timeouts, retries, ids, the reminders' wake-ups) by its dotted name,
so nothing here or in the services imports a job module (the jobs call the services).

Jobs go to one of four queues, served in priority order (`PRIORITY`): a worker takes
the next job of the first queue that has one, so a customer waiting for an answer
never waits behind staff emails, reminders or sweeps. `QUEUE_OF` says which queue
each job goes to, in this one place: callers name the job, never the queue.

Jobs waiting in Redis outlive a deploy: a job function that is renamed keeps its old
name as an entry point (and in `QUEUE_OF`) for one release.

Every job is queued with the id of the request (or job) that queued it in its meta, for
its log line (followup/logs.py), and described by its name alone: RQ prints a job's
description, by default its call with the arguments (an address, a chat's text).

One Redis connection per process."""

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry, Worker, get_current_job
from rq.exceptions import DuplicateJobError
from rq.job import JobStatus
from rq.scheduler import RQScheduler

from followup.clock import from_micros, to_micros, utcnow
from followup.logs import job_meta

log = logging.getLogger(__name__)


class JobQueue(StrEnum):
    """The queues, most urgent first."""

    ANSWERS = "answers"  # a customer is waiting: SMS answers, their sends, login links
    NOTIFICATIONS = "notifications"  # staff alerts and customer confirmations
    REMINDERS = "reminders"  # auto follow-up reminders
    MAINTENANCE = "maintenance"  # sweeps and replans: nobody waits on them


PRIORITY = tuple(JobQueue)

# Every job, by its dotted name (RQ imports the function by it when the job runs).
ANSWER_SMS = "followup.jobs.sms.answer_sms"
SEND_SMS = "followup.jobs.sms.send_sms"
EMAIL_LOGIN_LINK = "followup.jobs.customer_login.email_login_link"
EMAIL_PASSWORD_RESET = "followup.jobs.team.email_password_reset"  # noqa: S105 (a job name)
DELIVER_NOTIFICATIONS = "followup.jobs.notifications.deliver_notifications"
SEND_DUE_REMINDERS = "followup.jobs.reminders.send_due_reminders"
SEND_REMINDERS = "followup.jobs.reminders.send_reminders"
SWEEP_NOTIFICATIONS = "followup.jobs.notifications.sweep_notifications"
SWEEP_DUE_REMINDERS = "followup.jobs.reminders.sweep_due_reminders"
SWEEP_SMS_ANSWERS = "followup.jobs.sms.sweep_sms_answers"
SWEEP_SMS_SENDS = "followup.jobs.sms.sweep_sms_sends"
SWEEP_PROMISES = "followup.jobs.notifications.sweep_promises"
REPLAN_AGENT_CHAINS = "followup.jobs.reminders.replan_agent_chains"
REFRESH_REPORTS = "followup.jobs.reports.refresh_reports"

QUEUE_OF: dict[str, JobQueue] = {
    ANSWER_SMS: JobQueue.ANSWERS,
    SEND_SMS: JobQueue.ANSWERS,
    EMAIL_LOGIN_LINK: JobQueue.ANSWERS,
    EMAIL_PASSWORD_RESET: JobQueue.ANSWERS,
    DELIVER_NOTIFICATIONS: JobQueue.NOTIFICATIONS,
    SEND_DUE_REMINDERS: JobQueue.REMINDERS,
    SEND_REMINDERS: JobQueue.REMINDERS,
    SWEEP_NOTIFICATIONS: JobQueue.MAINTENANCE,
    SWEEP_DUE_REMINDERS: JobQueue.MAINTENANCE,
    SWEEP_SMS_ANSWERS: JobQueue.MAINTENANCE,
    SWEEP_SMS_SENDS: JobQueue.MAINTENANCE,
    SWEEP_PROMISES: JobQueue.MAINTENANCE,
    REPLAN_AGENT_CHAINS: JobQueue.MAINTENANCE,
    REFRESH_REPORTS: JobQueue.MAINTENANCE,
}

# Seconds before RQ runs a failed job again, for the jobs it retries. Soon: a customer
# is waiting, in the chat for the login link (which lives 30 minutes), or by SMS for
# the answer (the database or Redis was away).
LOGIN_LINK_RETRY_INTERVALS_S = (10, 30, 60)
ANSWER_RETRY_INTERVALS_S = (2, 15, 60)
# RQ logs a job's description, by default its call with the arguments: an email here.
LOGIN_LINK_DESCRIPTION = "email a customer's login link"
PASSWORD_RESET_DESCRIPTION = "email a staff member's password reset link"  # noqa: S105
# A failed reminder job is kept this long for people to look at; a finished one not at
# all (the database records what was sent).
FAILED_JOB_TTL_S = 7 * 24 * 3600

# A job as callers give it: its dotted name, or the function itself (the worker's cron).
JobName = str | Callable


@cache
def _redis_for(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def redis_connection() -> Redis:
    return _redis_for(current_app.config["REDIS_URL"])


def first_in_interval(key: str, interval_s: float) -> bool:
    """True for the first caller in each `interval_s` (every worker's cron queues the
    same sweep: one of them does the work). The lock lasts 90% of the interval, so the
    next interval's sweep is never locked out by a late one."""
    lock_ms = max(int(interval_s * 900), 100)
    return bool(redis_connection().set(key, "1", nx=True, px=lock_ms))


def dotted_name(job: JobName) -> str:
    return job if isinstance(job, str) else f"{job.__module__}.{job.__qualname__}"


def queue_name(job: JobName) -> JobQueue:
    """The queue `job` goes to; a job missing from QUEUE_OF is a programming error."""
    name = dotted_name(job)
    try:
        return QUEUE_OF[name]
    except KeyError:
        raise LookupError(f"{name} has no queue: add it to followup.queue.QUEUE_OF") from None


def serving(names: str) -> list[JobQueue]:
    """The queues a worker serves, from "answers,notifications" (empty: all of them),
    in priority order whatever order they were named in."""
    asked = {name.strip() for name in names.split(",") if name.strip()}
    unknown = sorted(asked - set(PRIORITY))
    if unknown:
        raise ValueError(
            f"no queue named {', '.join(unknown)}; the queues are {', '.join(PRIORITY)}"
        )
    return [name for name in PRIORITY if name in asked or not asked]


def queue_named(name: JobQueue) -> Queue:
    # RQ_ASYNC=False runs jobs at once in the caller, for tests that need no worker.
    return Queue(name, connection=redis_connection(), is_async=current_app.config["RQ_ASYNC"])


def queue_for(job: JobName) -> Queue:
    return queue_named(queue_name(job))


def enqueue(job: JobName, *args, **kwargs):
    """Queue `job(*args)` for a worker, on its queue. Call after the commit the job
    depends on."""
    return queue_for(job).enqueue(dotted_name(job), *args, **_traced(job, kwargs))


def _traced(job: JobName, options: dict) -> dict:
    """`options` with the request id in the job's meta and a description without the
    arguments (unless the caller gave one)."""
    return {"description": dotted_name(job), **options, "meta": job_meta()}


def waiting_job_ids(job: JobName) -> list[str]:
    """The ids of the jobs waiting in `job`'s queue. A job a worker took and then died
    with still says "queued" in its own record, but is no longer in this list."""
    return queue_for(job).get_job_ids()


# --- each job, with its options -----------------------------------------------------------------


def _retry(intervals_s: tuple[int, ...]) -> Retry:
    return Retry(max=len(intervals_s), interval=list(intervals_s))


def queue_notifications(
    notification_ids: list[int], job_id: str, at: datetime | None = None
) -> None:
    """Queue the delivery of these notifications as `job_id`: now, or `at`."""
    queue = queue_for(DELIVER_NOTIFICATIONS)
    options = _traced(
        DELIVER_NOTIFICATIONS,
        {"job_id": job_id, "job_timeout": current_app.config["NOTIFY_JOB_TIMEOUT_S"]},
    )
    if at is None:
        queue.enqueue(DELIVER_NOTIFICATIONS, notification_ids, **options)
    else:
        queue.enqueue_at(at, DELIVER_NOTIFICATIONS, notification_ids, **options)


def queue_login_link(chat_id: int, address: str, code_hash: str) -> None:
    """Queue the link for `address`, bound to the code (its hash) the chat shows."""
    enqueue(
        EMAIL_LOGIN_LINK,
        chat_id,
        address,
        code_hash,
        description=LOGIN_LINK_DESCRIPTION,
        retry=_retry(LOGIN_LINK_RETRY_INTERVALS_S),
    )


def queue_password_reset(address: str) -> None:
    """Queue the reset link for the member with this address, if there is one."""
    enqueue(
        EMAIL_PASSWORD_RESET,
        address,
        description=PASSWORD_RESET_DESCRIPTION,
        retry=_retry(LOGIN_LINK_RETRY_INTERVALS_S),
    )


def queue_sms_answer(chat_id: int, message_id: int, timeout_s: int) -> None:
    """Queue the AI's answer to a text; RQ retries a failed one soon."""
    enqueue(
        ANSWER_SMS,
        chat_id,
        message_id,
        job_timeout=timeout_s,
        retry=_retry(ANSWER_RETRY_INTERVALS_S),
    )


def queue_sms_send(
    message_id: int, attempts: int, timeout_s: int, at: datetime | None = None
) -> None:
    """Queue the send of a message tried `attempts` times so far: now, or `at`."""
    if at is None:
        enqueue(SEND_SMS, message_id, attempts, job_timeout=timeout_s)
    else:
        queue_for(SEND_SMS).enqueue_at(
            at, SEND_SMS, message_id, attempts, **_traced(SEND_SMS, {"job_timeout": timeout_s})
        )


def queue_replan(agent_id: int) -> None:
    """Plan an agent's pending reminders again, in the background."""
    enqueue(REPLAN_AGENT_CHAINS, agent_id)


# --- reminders: a wake-up for each second something falls due, and batches --------------------


def schedule_wake_up(due_at: datetime | None) -> None:
    """Queue the wake-up for a reminder due `due_at` (None: nothing pending). Call
    after the commit.

    There is one wake-up per second (RQ's scheduler counts whole seconds), however many
    reminders fall due in it. If Redis cannot take it, the sweep finds the reminder once
    due: the database holds the due time. Without workers (RQ_ASYNC off) nothing runs
    scheduled jobs: the sweep runs what is due."""
    if due_at is None:
        return
    second = int(to_micros(due_at) // 1_000_000)
    current = get_current_job()
    if due_at <= utcnow() or (current is not None and current.id == wake_up_id(second)):
        # Due already: a wake-up of its own, now (the one for its second may have run).
        wake_up_again(second, None)
    else:
        _queue_wake_up(second, from_micros(second * 1_000_000), wake_up_id(second))


def wake_up_id(second: int) -> str:
    return f"reminders-due-{second}"


def wake_up_again(second: int, at: datetime | None) -> None:
    """One more wake-up for `second`, `at` (None: at once), beside the one of its id."""
    _queue_wake_up(second, at, f"{wake_up_id(second)}-{secrets.token_hex(4)}")


def _queue_wake_up(second: int, at: datetime | None, job_id: str) -> None:
    """Queue `send_due_reminders(second)` to run `at` (None: at once) as `job_id`; a
    job of that id already waiting is left as it is."""
    queue = queue_for(SEND_DUE_REMINDERS)
    if not queue.is_async:
        return
    job = queue.create_job(
        SEND_DUE_REMINDERS,
        args=(second,),
        status=JobStatus.SCHEDULED,
        **_reminder_job_options(
            SEND_DUE_REMINDERS, job_id, current_app.config["REMINDER_JOB_TIMEOUT_S"]
        ),
    )
    try:
        if at is None:
            queue.enqueue_job(job, unique=True)
        else:
            queue.schedule_job(job, at, unique=True)
    except DuplicateJobError:
        pass  # this wake-up is already queued
    except RedisError as exc:
        log.warning("Reminder wake-up %s not queued (%s); the sweep will.", job_id, exc)


def queue_reminder_batches(batches: list[list]) -> None:
    """Queue `send_reminders(batch)` for each batch, in one round trip to Redis; each
    job may take REMINDER_JOB_TIMEOUT_S per reminder."""
    if not batches:
        return
    queue = queue_for(SEND_REMINDERS)
    timeout = current_app.config["REMINDER_JOB_TIMEOUT_S"]
    jobs = [
        Queue.prepare_data(
            SEND_REMINDERS,
            (batch,),
            **_reminder_job_options(SEND_REMINDERS, None, timeout * len(batch)),
        )
        for batch in batches
    ]
    if not queue.is_async:
        for job in jobs:  # each runs here and now (RQ's sync mode and pipelines do not mix)
            queue.enqueue_call(job.func, args=job.args, timeout=job.timeout, meta=job.meta)
        return
    with queue.connection.pipeline() as pipe:
        queue.enqueue_many(jobs, pipeline=pipe)
        pipe.execute()


def _reminder_job_options(job: str, job_id: str | None, timeout_s: int) -> dict:
    return _traced(
        job,
        {
            "job_id": job_id,
            "timeout": timeout_s,
            "result_ttl": 0,  # nothing to keep: the database records what was sent
            "failure_ttl": FAILED_JOB_TTL_S,
        },
    )


# --- the sweeps' last runs (the System page) ----------------------------------------------------


class SweepKind(StrEnum):
    NOTIFICATIONS = "notifications"
    PROMISES = "promises"
    DUE_REMINDERS = "due_reminders"
    SMS_ANSWERS = "sms_answers"
    SMS_SENDS = "sms_sends"


# The setting that says how often each sweep runs (worker.py's cron).
SWEEP_INTERVAL_SETTING: dict[SweepKind, str] = {
    SweepKind.NOTIFICATIONS: "NOTIFY_SWEEP_INTERVAL_S",
    SweepKind.PROMISES: "NOTIFY_SWEEP_INTERVAL_S",
    SweepKind.DUE_REMINDERS: "REMINDER_SWEEP_INTERVAL_S",
    SweepKind.SMS_ANSWERS: "NOTIFY_SWEEP_INTERVAL_S",
    SweepKind.SMS_SENDS: "NOTIFY_SWEEP_INTERVAL_S",
}
SWEEPS_KEY = "followup:sweeps:last"


def record_sweep(kind: SweepKind) -> None:
    """Note that a sweep of this kind has just finished its work (one field per kind,
    the time in µs). Best effort: a sweep that did its work is not failed for this."""
    try:
        redis_connection().hset(SWEEPS_KEY, kind, to_micros(utcnow()))
    except RedisError as exc:
        log.warning("The %s sweep's run was not recorded (%s).", kind, exc)


def last_sweeps() -> dict[SweepKind, datetime | None]:
    """When each kind of sweep last finished its work (None: never, as far as Redis knows)."""
    stored = redis_connection().hgetall(SWEEPS_KEY)
    return {
        kind: from_micros(int(stored[kind.encode()])) if kind.encode() in stored else None
        for kind in SweepKind
    }


# --- what the workers are doing (the doctor and the System page) --------------------------------


@dataclass(frozen=True)
class WorkerState:
    name: str
    queues: tuple[str, ...]
    state: str  # RQ's: "idle", "busy", "suspended", ...
    last_heartbeat: datetime | None


def workers() -> list[WorkerState]:
    """The workers registered in Redis (RQ drops one whose heartbeat expired), by name."""
    found = Worker.all(connection=redis_connection())
    return sorted(
        (
            WorkerState(
                name=worker.name,
                queues=tuple(worker.queue_names()),
                state=str(worker.get_state()),
                last_heartbeat=worker.last_heartbeat,
            )
            for worker in found
        ),
        key=lambda worker: worker.name,
    )


def queue_depths() -> dict[JobQueue, int]:
    """Jobs waiting in each queue, most urgent queue first."""
    return {name: queue_named(name).count for name in PRIORITY}


def scheduler_elected() -> bool:
    """True when a worker's scheduler holds the lock of every queue: someone moves the
    jobs queued for later (retries, reminders' wake-ups) onto the queues when due."""
    return all(redis_connection().exists(RQScheduler.get_locking_key(name)) for name in PRIORITY)
