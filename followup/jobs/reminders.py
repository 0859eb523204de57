"""Reminder jobs: wake up when reminders fall due and send them; sweep for due ones
whose wake-up was lost.

The database says what is due (`chats.chain_due_at`, indexed); Redis only says when
to look. Whenever a chain gets a due time, `schedule` queues a wake-up for that
second (after the commit): one job per second, however many chats fall due in it
(every chain that waited for Monday 09:00 does). The wake-up reads the chats due in
its second and sends their reminders in batches that all the workers share: one
process and one database connection serve a whole batch, which a burst needs.

A due reminder is claimed in Redis (chat, cycle, step, due time) before a batch takes
it, so the sweep (every REMINDER_SWEEP_INTERVAL_S), which reads every chain due by
now, leaves alone what a wake-up already took, and takes what nobody did: after a
Redis flush or restart, or a worker killed mid-batch once its claim ran out
(REMINDER_LOST_AFTER_S).

Sending decides nothing itself: it locks the chat and asks the engine
(`services.autofollowup.verdict`), which plans the chain again from the facts. It
never holds the lock while the model writes: it decides, lets go, has the model
write, then locks again and decides again before saving, so a client message or a
pause that arrives meanwhile wins. The message and its `ReminderSend` are saved in
one transaction; their unique key makes a second send of (chat, cycle, step)
impossible, whatever the workers do.
"""

import logging
import secrets
from datetime import datetime, timedelta

from flask import current_app
from redis.exceptions import RedisError
from rq import Queue, get_current_job
from rq.exceptions import DuplicateJobError
from rq.job import JobStatus
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from followup.clock import from_micros, to_micros, utcnow
from followup.extensions import db
from followup.llm import client as llm_client
from followup.llm.client import LLMUnavailable
from followup.llm.reminders import reminder_prompt, write_reminder
from followup.models import Chat, Message, Tenant
from followup.queue import enqueue, queue_for, redis_connection
from followup.services import autofollowup, capture, chats

log = logging.getLogger(__name__)

SWEEP_LOCK_KEY = "followup:reminders:sweep"
CLAIM_KEY = "followup:reminders:claim:{}-{}-{}-{}"
ATTEMPTS_KEY = "followup:reminders:attempts:{}-{}-{}"
ATTEMPTS_TTL_S = 7 * 24 * 3600
FAILED_JOB_TTL_S = 7 * 24 * 3600
NO_SUCH_CHAT = 0  # ids start at 1

# A due reminder as jobs carry it: [chat id, cycle, step id, due time in µs].
Item = list


def preload() -> None:
    """Prepare in the worker, once, what every reminder job needs, so each job process
    forked from it starts warm: the model's SDK client is made here with the parts it
    loads on first use (it opens no connection until a call); the job's statements are
    compiled by running them on a chat that does not exist, and the connection closed
    before any job forks."""
    if llm_client.is_configured():
        llm_client.client().chat.completions  # noqa: B018 - the SDK imports this on first use
    try:
        _decide(NO_SUCH_CHAT, 0, None, utcnow())
        autofollowup.due_chains(utcnow(), None, 1)
    except SQLAlchemyError as exc:  # only an optimisation: the jobs will say what is wrong
        log.warning("Could not prepare the reminder statements: %s", exc)
    finally:
        db.session.remove()
        db.engine.dispose()


# --- waking up when reminders fall due -----------------------------------------------------------


def schedule(due: "autofollowup.Pending | None") -> None:
    """Queue the wake-up for a pending reminder's due time. Call after the commit.

    There is one wake-up per second (RQ's scheduler counts whole seconds), however many
    reminders fall due in it. If Redis cannot take it, the sweep finds the reminder once
    due: the database holds the due time. Without workers (RQ_ASYNC off) nothing runs
    scheduled jobs: the sweep runs what is due."""
    if due is None:
        return
    second = int(to_micros(due.due_at) // 1_000_000)
    current = get_current_job()
    if due.due_at <= utcnow() or (current is not None and current.id == wake_up_id(second)):
        # Due already: a wake-up of its own, now (the one for its second may have run).
        _queue_wake_up(second, None, f"{wake_up_id(second)}-{secrets.token_hex(4)}")
    else:
        _queue_wake_up(second, from_micros(second * 1_000_000), wake_up_id(second))


def wake_up_id(second: int) -> str:
    return f"reminders-due-{second}"


def _queue_wake_up(second: int, at: datetime | None, job_id: str) -> None:
    """Queue `send_due_reminders(second)` to run `at` (None: at once) as `job_id`; a
    job of that id already waiting is left as it is."""
    queue = queue_for(send_due_reminders)
    if not queue.is_async:
        return
    job = queue.create_job(
        send_due_reminders,
        args=(second,),
        status=JobStatus.SCHEDULED,
        **_job_options(job_id, current_app.config["REMINDER_JOB_TIMEOUT_S"]),
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


def send_due_reminders(second: int) -> str:
    """Job: the wake-up for one second. The reminders due in it by now are claimed and
    cut into batches; this job sends the first, the other workers the rest.

    RQ's scheduler looks once a second and starts a job once its whole second has come,
    so this one may run before some (or all) of its reminders are due: while the second
    lasts, another wake-up is queued, which the scheduler starts at its next look, by
    then past the second. No reminder goes early; none waits more than about a second."""
    start = from_micros(second * 1_000_000)
    end, now = start + timedelta(seconds=1), utcnow()
    if now < end:
        _queue_wake_up(second, max(start, now), f"{wake_up_id(second)}-{secrets.token_hex(4)}")
    in_second = autofollowup.due_between(start, end)
    db.session.rollback()
    due = [_item(pending) for pending in in_second if pending.due_at <= now]
    first, *rest = _batches(_claim(due)) or [[]]
    _queue_batches(rest)
    return send_reminders(first)


def send_reminders(items: list[Item]) -> str:
    """Job: send a batch of claimed reminders one after the other, then release their
    claims. One that fails does not stop the others; the job fails afterwards, so it
    is seen, and the sweep takes those up again."""
    outcomes, failed = [], 0
    try:
        for chat_id, cycle, step_id, _due in items:
            try:
                outcomes.append(send_reminder(chat_id, cycle, step_id))
            except Exception:
                log.exception("Reminder for chat %s failed", chat_id)
                db.session.rollback()
                failed += 1
    finally:
        _release(items)
    if failed:
        raise RuntimeError(f"{failed} of {len(items)} reminders failed: see the log")
    return f"{outcomes.count('sent')} sent of {len(items)}"


def _item(due: "autofollowup.Pending") -> Item:
    return [due.chat_id, due.cycle, due.step_id, to_micros(due.due_at)]


def _batches(items: list[Item]) -> list[list[Item]]:
    size = current_app.config["REMINDER_BATCH"]
    return [items[start : start + size] for start in range(0, len(items), size)]


def _queue_batches(batches: list[list[Item]]) -> None:
    if not batches:
        return
    queue = queue_for(send_reminders)
    timeout = current_app.config["REMINDER_JOB_TIMEOUT_S"]
    jobs = [
        Queue.prepare_data(send_reminders, (batch,), **_job_options(None, timeout * len(batch)))
        for batch in batches
    ]
    if not queue.is_async:
        for job in jobs:  # each runs here and now (RQ's sync mode and pipelines do not mix)
            queue.enqueue_call(job.func, args=job.args, timeout=job.timeout)
        return
    with queue.connection.pipeline() as pipe:
        queue.enqueue_many(jobs, pipeline=pipe)
        pipe.execute()


def _claim(items: list[Item]) -> list[Item]:
    """The items nobody has claimed, now claimed for REMINDER_LOST_AFTER_S."""
    if not items:
        return []
    lease = current_app.config["REMINDER_LOST_AFTER_S"]
    with redis_connection().pipeline(transaction=False) as pipe:
        for item in items:
            pipe.set(CLAIM_KEY.format(*item), 1, nx=True, ex=lease)
        taken = pipe.execute()
    return [item for item, ok in zip(items, taken, strict=True) if ok]


def _release(items: list[Item]) -> None:
    if items:
        try:
            redis_connection().delete(*(CLAIM_KEY.format(*item) for item in items))
        except RedisError as exc:  # the claims run out by themselves
            log.warning("Reminder claims not released: %s", exc)


def _job_options(job_id: str | None, timeout_s: int) -> dict:
    return {
        "job_id": job_id,
        "timeout": timeout_s,
        "result_ttl": 0,  # nothing to keep: the database records what was sent
        "failure_ttl": FAILED_JOB_TTL_S,
    }


def queue_replan(agent_id: int) -> None:
    """Plan the agent's pending reminders again in the background; with Redis away,
    here and now (nothing else would move a reminder that is now due sooner)."""
    try:
        enqueue(replan_agent_chains, agent_id)
    except RedisError as exc:
        log.warning("Replan of agent %s not queued (%s); planning it now.", agent_id, exc)
        autofollowup.replan_agent_chains(agent_id, queue_wake_ups=False)


def replan_agent_chains(agent_id: int) -> int:
    """Job: plan again every pending reminder of an agent whose settings changed."""
    return autofollowup.replan_agent_chains(agent_id)


# --- sending one reminder ------------------------------------------------------------------------


def send_reminder(chat_id: int, cycle: int, step_id: int | None) -> str:
    """Send the reminder of (chat, cycle, step) if everything still allows it now.
    Returns what happened, for the job's record and the logs."""
    checked = _decide(chat_id, cycle, step_id, utcnow())
    if checked.action != autofollowup.Action.SEND:
        return f"{checked.action}: {checked.reason}"
    # Plain values: the rollback expires the step, and reading it again would open a
    # transaction (a pooled connection) for as long as the model writes.
    send_step_id, instruction = checked.step.id, checked.step.instruction
    prompt = _prompt(chat_id, instruction)
    db.session.rollback()  # let go of the chat while the model writes
    try:
        completion = write_reminder(prompt, instruction)
    except LLMUnavailable as exc:
        return _retry_later(chat_id, cycle, send_step_id, exc)
    return _save_and_deliver(chat_id, cycle, step_id, send_step_id, completion)


def _decide(chat_id: int, cycle: int, step_id: int | None, now: datetime):
    """The engine's verdict with the chat locked. Unless it is SEND, what it changed
    (a new due time, an ended chain) is committed and the wake-up queued."""
    chat = autofollowup.lock_chat(chat_id)
    if chat is None:
        db.session.rollback()
        return autofollowup.Verdict(autofollowup.Action.DROP, "the chat no longer exists")
    verdict = autofollowup.verdict(chat, cycle, step_id, now)
    if verdict.action != autofollowup.Action.SEND:
        due = autofollowup.pending(chat)
        db.session.commit()
        schedule(due)
    return verdict


def _prompt(chat_id: int, instruction: str) -> list[dict]:
    chat = db.session.get(Chat, chat_id)
    recent = db.session.scalars(
        select(Message)
        .where(Message.chat_id == chat_id)
        .order_by(Message.id.desc())
        .limit(current_app.config["REMINDER_HISTORY_MESSAGES"])
    ).all()
    tenant = db.session.get(Tenant, chat.tenant_id)
    return reminder_prompt(
        chat.agent, tenant, list(reversed(recent)), instruction, capture.style_for(chat)
    )


def _retry_later(chat_id: int, cycle: int, step_id: int, error: Exception) -> str:
    """No message without the model: the same reminder is tried again later, each time
    after twice as long (REMINDER_RETRY_FIRST_S, at most REMINDER_RETRY_MAX_S). The
    failures are counted in Redis; should the count be lost, it starts again."""
    config = current_app.config
    failures = _count_failure(chat_id, cycle, step_id)
    delay = min(
        config["REMINDER_RETRY_FIRST_S"] * 2 ** (failures - 1), config["REMINDER_RETRY_MAX_S"]
    )
    log.warning(
        "Reminder for chat %s not written (%s); trying again in %.0f s.", chat_id, error, delay
    )
    chat = autofollowup.lock_chat(chat_id)
    if chat is None or (chat.chain_cycle, chat.chain_step_id) != (cycle, step_id):
        db.session.rollback()  # the chain moved on meanwhile
        return "retry: the chain moved on"
    autofollowup.postpone(chat, utcnow() + timedelta(seconds=delay))
    due = autofollowup.pending(chat)
    db.session.commit()
    schedule(due)
    return f"retry: in {delay:.0f} s"


def _count_failure(chat_id: int, cycle: int, step_id: int) -> int:
    key = ATTEMPTS_KEY.format(chat_id, cycle, step_id)
    try:
        with redis_connection().pipeline() as pipe:
            failures, _ = pipe.incr(key).expire(key, ATTEMPTS_TTL_S).execute()
        return failures
    except RedisError:
        return 1


def _save_and_deliver(chat_id: int, cycle: int, job_step_id, step_id: int, completion) -> str:
    """Decide again (the client may have written while the model wrote) and save the
    reminder with its send; then deliver it on the chat's channel."""
    now = utcnow()
    chat = autofollowup.lock_chat(chat_id)
    if chat is None:
        db.session.rollback()
        return "drop: the chat no longer exists"
    verdict = autofollowup.verdict(chat, cycle, job_step_id, now)
    if verdict.action != autofollowup.Action.SEND or verdict.step.id != step_id:
        due = autofollowup.pending(chat)
        db.session.commit()
        schedule(due)
        return f"{verdict.action}: {verdict.reason} (the written reminder is dropped)"
    try:
        message = autofollowup.record_reminder(chat, verdict.step, completion, now)
        due = autofollowup.pending(chat)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return "drop: another worker sent this reminder"
    schedule(due)
    chats.deliver_message(chat, message)
    return "sent"


# --- the sweep -----------------------------------------------------------------------------------


def sweep_due_reminders() -> int:
    """Cron job: queue, in batches, every due reminder nobody has claimed; returns how
    many. Sweeps running at once leave the work to one."""
    redis = redis_connection()
    token = secrets.token_hex(8)
    lock_ms = int(current_app.config["REMINDER_SWEEP_INTERVAL_S"] * 1000)
    if not redis.set(SWEEP_LOCK_KEY, token, nx=True, px=max(lock_ms, 1000)):
        return 0
    try:
        return _queue_due(utcnow())
    finally:
        if redis.get(SWEEP_LOCK_KEY) == token.encode():
            redis.delete(SWEEP_LOCK_KEY)


def _queue_due(now: datetime) -> int:
    size = current_app.config["REMINDER_SWEEP_BATCH"]
    queued, after = 0, None
    while True:
        due = autofollowup.due_chains(now, after, size)
        db.session.rollback()  # hold no snapshot or lock while the batches run
        claimed = _claim([_item(pending) for pending in due])
        _queue_batches(_batches(claimed))
        queued += len(claimed)
        if len(due) < size:
            return queued
        after = due[-1]
