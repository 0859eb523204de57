"""RQ job functions (they take ids only) and the helpers that enqueue them.

Jobs go to one of four queues, served in priority order (`PRIORITY`): a worker takes
the next job of the first queue that has one, so a customer waiting for an answer
never waits behind staff emails, reminders or sweeps. `QUEUE_OF` says which queue
each job goes to, in this one place: callers name the job, never the queue.

One Redis connection per process."""

from collections.abc import Callable
from enum import StrEnum
from functools import cache

from flask import current_app
from redis import Redis
from rq import Queue


class JobQueue(StrEnum):
    """The queues, most urgent first."""

    ANSWERS = "answers"  # a customer is waiting: SMS answers, their sends, login links
    NOTIFICATIONS = "notifications"  # staff alerts and customer confirmations
    REMINDERS = "reminders"  # auto follow-up reminders
    MAINTENANCE = "maintenance"  # sweeps and replans: nobody waits on them


PRIORITY = tuple(JobQueue)

# Every job, by its dotted name (the job modules import this one), and its queue.
QUEUE_OF: dict[str, JobQueue] = {
    "followup.jobs.sms.answer_sms": JobQueue.ANSWERS,
    "followup.jobs.sms.send_sms": JobQueue.ANSWERS,
    "followup.jobs.customer_login.email_login_link": JobQueue.ANSWERS,
    "followup.jobs.notifications.deliver_notifications": JobQueue.NOTIFICATIONS,
    "followup.jobs.reminders.send_due_reminders": JobQueue.REMINDERS,
    "followup.jobs.reminders.send_reminders": JobQueue.REMINDERS,
    "followup.jobs.notifications.sweep_notifications": JobQueue.MAINTENANCE,
    "followup.jobs.reminders.sweep_due_reminders": JobQueue.MAINTENANCE,
    "followup.jobs.sms.sweep_sms_answers": JobQueue.MAINTENANCE,
    "followup.jobs.sms.sweep_sms_sends": JobQueue.MAINTENANCE,
    "followup.jobs.reminders.replan_agent_chains": JobQueue.MAINTENANCE,
}


@cache
def _redis_for(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def redis_connection() -> Redis:
    return _redis_for(current_app.config["REDIS_URL"])


def queue_name(job: Callable) -> JobQueue:
    """The queue `job` goes to; a job missing from QUEUE_OF is a programming error."""
    name = f"{job.__module__}.{job.__qualname__}"
    try:
        return QUEUE_OF[name]
    except KeyError:
        raise LookupError(f"{name} has no queue: add it to followup.jobs.QUEUE_OF") from None


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


def queue(name: JobQueue) -> Queue:
    # RQ_ASYNC=False runs jobs at once in the caller, for tests that need no worker.
    return Queue(name, connection=redis_connection(), is_async=current_app.config["RQ_ASYNC"])


def queue_for(job: Callable) -> Queue:
    return queue(queue_name(job))


def enqueue(job, *args, **kwargs):
    """Queue `job(*args)` for a worker, on its queue. Call after the commit the job
    depends on."""
    return queue_for(job).enqueue(job, *args, **kwargs)
