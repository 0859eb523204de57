"""Sending reminders: the wake-up for a second in which reminders fall due sends them;
the sweep queues due ones whose wake-up was lost.

The database says what is due (`chats.chain_due_at`, indexed); Redis only says when
to look. Whenever a chain gets a due time, `autofollowup.commit_and_schedule` queues a
wake-up for that second (after the commit): one job per second, however many chats
fall due in it (every chain that waited for Monday 09:00 does). The wake-up
(`send_due`) reads the chats due in its second and sends their reminders in batches
that all the workers share (`send_batch`): one process and one database connection
serve a whole batch, which a burst needs.

A due reminder is claimed in Redis (chat, cycle, step, due time) before a batch takes
it, so the sweep (every REMINDER_SWEEP_INTERVAL_S), which reads every chain due by
now, leaves alone what a wake-up already took, and takes what nobody did: after a
Redis flush or restart, or a worker killed mid-batch once its claim ran out
(REMINDER_LOST_AFTER_S).

Sending decides nothing itself: it locks the chat and asks the engine
(`autofollowup.verdict`), which plans the chain again from the facts. It never holds
the lock while the model writes: it decides, lets go, has the model write, then locks
again and decides again before saving, so a client message or a pause that arrives
meanwhile wins. The message and its `ReminderSend` are saved in one transaction;
their unique key makes a second send of (chat, cycle, step) impossible, whatever the
workers do.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from followup import metrics
from followup.clock import from_micros, to_micros, utcnow
from followup.extensions import db
from followup.llm import client as llm_client
from followup.llm.client import Completion, LLMUnavailable
from followup.llm.reminders import reminder_prompt, write_reminder
from followup.models import AutoFollowupStep, Chat, Message, ReminderSend, Role, Tenant
from followup.queue import (
    SweepKind,
    queue_reminder_batches,
    record_sweep,
    redis_connection,
    wake_up_again,
)
from followup.services import autofollowup, capture, chats, messages

log = logging.getLogger(__name__)

SWEEP_LOCK_KEY = "followup:reminders:sweep"
CLAIM_KEY = "followup:reminders:claim:{}-{}-{}-{}"
ATTEMPTS_KEY = "followup:reminders:attempts:{}-{}-{}"
ATTEMPTS_PATTERN = "followup:reminders:attempts:*"
ATTEMPTS_TTL_S = 7 * 24 * 3600
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


# --- the wake-up for one second, and its batches ------------------------------------------------


def send_due(second: int) -> str:
    """The wake-up for one second. The reminders due in it by now are claimed and cut
    into batches; this job sends the first, the other workers the rest.

    RQ's scheduler looks once a second and starts a job once its whole second has come,
    so this one may run before some (or all) of its reminders are due: while the second
    lasts, another wake-up is queued, which the scheduler starts at its next look, by
    then past the second. No reminder goes early; none waits more than about a second."""
    start = from_micros(second * 1_000_000)
    end, now = start + timedelta(seconds=1), utcnow()
    if now < end:
        wake_up_again(second, max(start, now))
    in_second = autofollowup.due_between(start, end)
    db.session.rollback()
    due = [_item(pending) for pending in in_second if pending.due_at <= now]
    first, *rest = _batches(_claim(due)) or [[]]
    queue_reminder_batches(rest)
    return send_batch(first)


def send_batch(items: list[Item]) -> str:
    """Send a batch of claimed reminders one after the other, then release their
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
                metrics.count_reminder(metrics.ReminderOutcome.FAILED)
    finally:
        _release(items)
    if failed:
        raise RuntimeError(f"{failed} of {len(items)} reminders failed: see the log")
    return f"{outcomes.count('sent')} sent of {len(items)}"


def _item(due: autofollowup.Pending) -> Item:
    return [due.chat_id, due.cycle, due.step_id, to_micros(due.due_at)]


def _batches(items: list[Item]) -> list[list[Item]]:
    size = current_app.config["REMINDER_BATCH"]
    return [items[start : start + size] for start in range(0, len(items), size)]


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
        autofollowup.commit_and_schedule(chat)
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
        chat.agent,
        tenant,
        list(reversed(recent)),
        instruction,
        capture.style_for(chat),
        chat.locale,
    )


def _retry_later(chat_id: int, cycle: int, step_id: int, error: Exception) -> str:
    """No message without the model: the same reminder is tried again later, each time
    after twice as long (REMINDER_RETRY_FIRST_S, at most REMINDER_RETRY_MAX_S). The
    failures are counted in Redis; should the count be lost, it starts again."""
    config = current_app.config
    metrics.count_reminder(metrics.ReminderOutcome.FAILED)
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
    autofollowup.commit_and_schedule(chat)
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
        autofollowup.commit_and_schedule(chat)
        return f"{verdict.action}: {verdict.reason} (the written reminder is dropped)"
    try:
        message = record_reminder(chat, verdict.step, completion, now)
        autofollowup.commit_and_schedule(chat)
    except IntegrityError:
        db.session.rollback()
        return "drop: another worker sent this reminder"
    chats.deliver_message(chat, message)
    metrics.count_reminder(metrics.ReminderOutcome.SENT)
    return "sent"


def record_reminder(
    chat: Chat, step: AutoFollowupStep, completion: Completion, now: datetime
) -> Message:
    """Stage the reminder and its send (its SMS delivery too, on an SMS chat), then plan
    the next step (its delay counts from now). The unique (chat, cycle, step) key
    raises IntegrityError at the flush if another worker sent it first."""
    message = messages.append(
        chat,
        Role.AGENT,
        completion.text,
        at=now,
        model=completion.model,
        prompt_tokens=completion.prompt_tokens,
        completion_tokens=completion.completion_tokens,
        reminder_step_id=step.id,
    )
    db.session.flush()  # the message's id
    db.session.add(
        ReminderSend(
            chat_id=chat.id,
            cycle=chat.chain_cycle,
            step_id=step.id,
            sent_at=now,
            message_id=message.id,
        )
    )
    db.session.flush()
    autofollowup.plan(chat, now)
    return message


# --- the sweep -----------------------------------------------------------------------------------


def sweep() -> int:
    """Queue, in batches, every due reminder nobody has claimed; returns how many.
    Sweeps running at once (every worker's cron) leave the work to one."""
    redis = redis_connection()
    token = secrets.token_hex(8)
    lock_ms = int(current_app.config["REMINDER_SWEEP_INTERVAL_S"] * 1000)
    if not redis.set(SWEEP_LOCK_KEY, token, nx=True, px=max(lock_ms, 1000)):
        return 0
    try:
        queued = _queue_due(utcnow())
        record_sweep(SweepKind.DUE_REMINDERS)
        return queued
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
        queue_reminder_batches(_batches(claimed))
        queued += len(claimed)
        if len(due) < size:
            return queued
        after = due[-1]


# --- the System page -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WaitingOnModel:
    count: int
    next_try_at: datetime | None


def waiting_on_model(tenant_id: int) -> WaitingOnModel | None:
    """The business's reminders the model failed to write that wait for their next try
    (`_retry_later`): the chats whose pending reminder has failures counted in Redis,
    with the soonest try. A count left from a reminder since sent or dropped is not
    the chat's pending one any more, and is passed over. None: Redis does not answer."""
    try:
        keys = list(redis_connection().scan_iter(match=ATTEMPTS_PATTERN, count=500))
    except RedisError:
        return None
    failed = set()
    for key in keys:
        chat_id, cycle, step_id = key.decode().rsplit(":", 1)[1].split("-")
        failed.add((int(chat_id), int(cycle), int(step_id)))
    if not failed:
        return WaitingOnModel(0, None)
    rows = db.session.execute(
        select(Chat.id, Chat.chain_cycle, Chat.chain_step_id, Chat.chain_due_at).where(
            Chat.tenant_id == tenant_id,
            Chat.id.in_({chat_id for chat_id, _, _ in failed}),
            Chat.chain_due_at.is_not(None),
        )
    ).all()
    due = [
        row.chain_due_at for row in rows if (row.id, row.chain_cycle, row.chain_step_id) in failed
    ]
    return WaitingOnModel(len(due), min(due, default=None))
