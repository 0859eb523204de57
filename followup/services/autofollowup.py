"""Auto follow-up: every rule of a chat's reminder chain, in one place.

The chain lives on the chat; the database is the source of truth and RQ only runs
the work (`services.reminder_sending`, through `followup.queue`):

- `chain_cycle` counts the client's messages. Each one ends the cycle: nothing of
  it may be sent any more (every job carries its cycle and checks it).
- `chain_step_id` / `chain_due_at`: the reminder pending and the moment it may go
  (indexed: the sweep and the dashboard read it); both empty when none is pending.
- `chain_ended`: why this cycle ended before the client wrote again (a `ChainEnd`):
  every step went out (exhausted), or a follow-up request was taken in the chat (handed
  off: the team has it). Either way nothing more of it is sent; the next client message
  starts a new cycle.

The rules (PRODUCT.md "Auto Follow-up semantics"):

- The chain starts when the client has written and the business answers (the AI,
  or a staff member). Step 1 is due its delay after the client's last message;
  each later step its delay after the previous reminder was actually sent.
- A follow-up request taken in the chat ends the cycle: the team has it (PRODUCT.md
  "Handed to the team ends the chain").
- A run-once-per-chat step that fired in this chat, in any cycle, is skipped; the
  next step takes its place, its delay counted as usual.
- Each cycle sends every step at most once, in the agent's current order: the next
  step is the first one not yet sent this cycle. So steps edited, reordered or
  removed meanwhile simply change what comes next (`plan` decides again).
- Never while the chat is paused, the customer opted out, or the agent has auto
  follow-up off; never within STAFF_TAKEOVER_MINUTES of a staff reply; never
  outside the agent's working hours (the reminder waits for the next opening).

Every change to a chain happens with the chat's row locked (`lock_chat`), so the
web process and any number of workers see one order of events.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import Select, and_, bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError

from followup.clock import utcnow
from followup.extensions import db
from followup.models import (
    Agent,
    AutoFollowupStep,
    ChainEnd,
    Chat,
    Customer,
    FollowUpRequest,
    Message,
    ReminderSend,
    Role,
)
from followup.queue import queue_replan, schedule_wake_up
from followup.services import workflow, working_hours
from followup.services.queries import (
    LIKE_ESCAPE,
    MAX_ID,
    contains_pattern,
    keyset_cursor,
    lock_row,
    parse_keyset_cursor,
    row_id,
    row_update,
    update_and_reload,
)
from followup.services.validation import search_text, whole_number
from followup.services.visitors import LABEL_SQL

log = logging.getLogger(__name__)

# An agent open at no time in the coming year: look again after this long.
CLOSED_RECHECK = timedelta(days=1)
CONVERSATION_ROLES = (Role.CLIENT, Role.AGENT, Role.STAFF)
# Tries to replan a chat whose steps keep being deleted under it (`_replan_chat`).
REPLAN_ATTEMPTS = 5
# A chat's chain with no reminder pending, as column values.
NOTHING_PENDING = {"chain_step_id": None, "chain_due_at": None}


@dataclass(frozen=True)
class Pending:
    """A chat's pending reminder as plain values: what a job is queued for."""

    chat_id: int
    cycle: int
    step_id: int | None
    due_at: datetime


def pending(chat: Chat) -> Pending | None:
    if chat.chain_due_at is None:
        return None
    return Pending(chat.id, chat.chain_cycle, chat.chain_step_id, chat.chain_due_at)


# --- what happens in a chat ----------------------------------------------------------------------


def lock_chat(chat: Chat | int, *where) -> Chat | None:
    """The chat (given as itself or its id), freshly read and locked until the
    transaction ends (`queries.lock_row`; `where`: further conditions)."""
    chat_id = chat if isinstance(chat, int) else row_id(chat)
    return lock_row(Chat, chat_id, Chat.chain_cycle, *where)


_NEW_CYCLE = row_update(
    Chat,
    chain_cycle=Chat.chain_cycle + 1,
    chain_ended=None,
    last_message_at=bindparam("at"),
    last_client_message_at=bindparam("at"),
    **NOTHING_PENDING,
)


def on_client_message(chat: Chat, at: datetime) -> None:
    """In the transaction that adds the client's message, written `at`: the current
    cycle ends (no reminder of it may be sent any more) and a new one begins, waiting
    for an answer.

    One UPDATE that locks the row, as `lock_chat` does, and reads it back into `chat`:
    it runs before every AI answer, and a round trip saved here is time saved to the
    first token."""
    db.session.flush()  # changes made so far in this transaction are kept, not reloaded over
    update_and_reload(chat, _NEW_CYCLE, at=at)


def stage_agent_reply(chat: Chat) -> Pending | None:
    """In the transaction that adds an answer of the business (the AI's or a staff
    member's): the chain of this cycle starts, or its pending reminder is planned again
    (a staff reply holds it back). Nothing once the cycle has ended or before the client
    wrote. Returns the reminder to `schedule` once the transaction is committed."""
    chat = lock_chat(chat)
    if chat is None or chat.last_client_message_at is None or chat.chain_ended:
        return None
    plan(chat, utcnow())
    return pending(chat)


def schedule(due: Pending | None) -> None:
    """Wake the sending job when `due` falls due. Call after the commit that planned it."""
    schedule_wake_up(due.due_at if due is not None else None)


def on_agent_reply(chat: Chat) -> None:
    """`stage_agent_reply` in a transaction of its own, after an answer committed with
    other work (a follow-up request's thank-you)."""
    due = stage_agent_reply(chat)
    db.session.commit()
    schedule(due)


def set_paused(chat: Chat, paused: bool) -> None:
    """Staff pause or resume auto follow-up for this chat. Resuming plans the next
    reminder by the usual rules (if it is overdue, it goes at the next chance)."""
    chat = lock_chat(chat)
    chat.autofollowup_paused = bool(paused)
    if paused:
        _clear(chat)
    elif not chat.chain_ended and _awaits_client(chat):
        plan(chat, utcnow())
    commit_and_schedule(chat)


def on_handed_off(tenant_id: int, chat_id: int) -> None:
    """In the transaction that saves a follow-up request taken in this chat: the team
    has it now, so the current cycle ends (nothing of it may be sent) until the client
    writes again. The caller commits. Before the client wrote there is no cycle to end."""
    chat = lock_chat(chat_id, Chat.tenant_id == tenant_id)  # never another tenant's chat
    if chat is not None and chat.last_client_message_at is not None:
        chat.chain_ended = ChainEnd.HANDED_OFF
        plan(chat, utcnow())


def opt_out(chat: Chat) -> None:
    """The customer asked for no more messages (STOP): reminders end for this chat."""
    chat = lock_chat(chat)
    chat.opted_out = True
    chat.opted_out_at = utcnow()
    _clear(chat)
    db.session.commit()


def agent_settings_changed(agent_id: int) -> None:
    """Call after an agent's steps, working hours or auto follow-up switch were saved:
    its pending reminders are planned again in the background; with Redis away, here
    and now (nothing else would move a reminder that is now due sooner)."""
    try:
        queue_replan(agent_id)
    except RedisError as exc:
        log.warning("Replan of agent %s not queued (%s); planning it now.", agent_id, exc)
        replan_agent_chains(agent_id, queue_wake_ups=False)


def replan_agent_chains(agent_id: int, batch: int = 500, queue_wake_ups: bool = True) -> int:
    """Plan again every pending reminder of this agent; returns how many chats.
    `queue_wake_ups` False: Redis is away, so only the due times are saved (the sweep
    finds them) instead of a failing try at Redis for every chat."""
    done, after_id = 0, 0
    while True:
        chat_ids = db.session.scalars(
            select(Chat.id)
            .where(Chat.agent_id == agent_id, Chat.chain_due_at.is_not(None), Chat.id > after_id)
            .order_by(Chat.id)
            .limit(batch)
        ).all()
        for chat_id in chat_ids:
            _replan_chat(chat_id, queue_wake_ups)
        done += len(chat_ids)
        if len(chat_ids) < batch:
            return done
        after_id = chat_ids[-1]


def _replan_chat(chat_id: int, queue_wake_ups: bool) -> None:
    """Plan one chat again and commit. A step deleted after `plan` read the agent's steps
    fails the commit (the chat would point at it: a foreign-key error, on PostgreSQL);
    planning again reads the steps that are left. Steps deleted one after the other
    can do that a few times, hence the attempts."""
    for attempt in range(1, REPLAN_ATTEMPTS + 1):
        chat = lock_chat(chat_id)
        if chat is not None and chat.chain_due_at is not None:
            plan(chat, utcnow())
        try:
            commit_and_schedule(chat, queue_wake_ups)
        except IntegrityError:
            db.session.rollback()
            if attempt == REPLAN_ATTEMPTS:
                raise
            continue
        return


def staff_in_charge(chat: Chat, now: datetime | None = None) -> bool:
    """A staff member replied in the last STAFF_TAKEOVER_MINUTES (human takeover)."""
    ends = takeover_ends_at(chat)
    return ends is not None and (now or utcnow()) < ends


def takeover_ends_at(chat: Chat) -> datetime | None:
    if chat.last_staff_reply_at is None:
        return None
    return chat.last_staff_reply_at + timedelta(
        minutes=current_app.config["STAFF_TAKEOVER_MINUTES"]
    )


# --- deciding the next reminder ------------------------------------------------------------------


def plan(chat: Chat, now: datetime) -> AutoFollowupStep | None:
    """Decide from the facts which reminder is pending and when it may go; returns its
    step (None: nothing pending). Doing it again changes nothing unless facts changed."""
    if chat.chain_ended or not _may_remind(chat):
        _clear(chat)
        return None
    steps = chat.agent.steps
    step, counted_from = _next_step(chat, steps)
    if step is None:
        _clear(chat)
        if steps:  # every step went out: done until the client writes
            chat.chain_ended = ChainEnd.EXHAUSTED
        return None
    chat.chain_step_id = step.id
    chat.chain_due_at = _send_time(chat, counted_from + timedelta(minutes=step.delay_minutes), now)
    return step


def _may_remind(chat: Chat) -> bool:
    return chat.reminders_allowed and chat.last_client_message_at is not None


def _next_step(
    chat: Chat, steps: list[AutoFollowupStep]
) -> tuple[AutoFollowupStep | None, datetime]:
    """The first step, in the current order, not sent this cycle and not a run-once step
    that fired before; and the moment its delay counts from."""
    sends = db.session.execute(
        select(ReminderSend.step_id, ReminderSend.cycle, ReminderSend.sent_at).where(
            ReminderSend.chat_id == chat.id
        )
    ).all()
    this_cycle = [send for send in sends if send.cycle == chat.chain_cycle]
    sent_this_cycle = {send.step_id for send in this_cycle}
    ever_sent = {send.step_id for send in sends}
    counted_from = max((send.sent_at for send in this_cycle), default=chat.last_client_message_at)
    for step in steps:
        if step.id in sent_this_cycle or (step.run_once_per_chat and step.id in ever_sent):
            continue
        return step, counted_from
    return None, counted_from


def _send_time(chat: Chat, due: datetime, now: datetime) -> datetime:
    """The first moment from `due` on (never in the past) outside a staff takeover and
    inside working hours."""
    earliest = max(due, now, takeover_ends_at(chat) or now)
    opening = working_hours.next_opening(chat.agent, earliest)
    return opening if opening is not None else earliest + CLOSED_RECHECK


def _awaits_client(chat: Chat) -> bool:
    """The client wrote, and the last word in the conversation is the business's."""
    last_role = db.session.scalar(
        select(Message.role)
        .where(Message.chat_id == chat.id, Message.role.in_(CONVERSATION_ROLES))
        .order_by(Message.id.desc())
        .limit(1)
    )
    return chat.last_client_message_at is not None and last_role in (Role.AGENT, Role.STAFF)


def _clear(chat: Chat) -> None:
    for column, value in NOTHING_PENDING.items():
        setattr(chat, column, value)


def commit_and_schedule(chat: Chat | None, queue_wake_up: bool = True) -> None:
    """Commit what changed the chat's chain, then queue the wake-up for its pending
    reminder (`queue_wake_up` False: the due time is saved and the sweep finds it)."""
    # Read before the commit, which expires the chat.
    due = pending(chat) if chat is not None and queue_wake_up else None
    db.session.commit()
    schedule(due)


# --- the sending job's decisions -----------------------------------------------------------------


class Action(StrEnum):
    SEND = "send"
    WAIT = "wait"
    DROP = "drop"


@dataclass(frozen=True)
class Verdict:
    action: Action
    reason: str
    step: AutoFollowupStep | None = None


def verdict(chat: Chat, cycle: int, step_id: int | None, now: datetime) -> Verdict:
    """May the job queued for (chat, cycle, step) send now? Call with the chat locked;
    the chain is planned again, so commit afterwards unless the answer is SEND."""
    if chat.chain_cycle != cycle:
        return Verdict(Action.DROP, "the client wrote since: that cycle is over")
    if chat.chain_due_at is None:
        return Verdict(Action.DROP, "no reminder is pending")
    if chat.chain_step_id not in (step_id, None):  # None: its step was deleted meanwhile
        return Verdict(Action.DROP, "another step is pending; its own job sends it")
    step = plan(chat, now)
    if step is None:
        return Verdict(Action.DROP, "the chain has ended")
    if chat.chain_due_at > now:
        return Verdict(Action.WAIT, f"not before {chat.chain_due_at.isoformat()}", step)
    return Verdict(Action.SEND, "due", step)


def postpone(chat: Chat, until: datetime) -> None:
    """The model could not write the reminder: try again no earlier than `until`."""
    chat.chain_due_at = max(chat.chain_due_at or until, until)


def due_between(start: datetime, end: datetime) -> list[Pending]:
    """The pending reminders due from `start` up to (not including) `end` (indexed)."""
    rows = db.session.execute(
        select(Chat.id, Chat.chain_cycle, Chat.chain_step_id, Chat.chain_due_at)
        .where(Chat.chain_due_at >= start, Chat.chain_due_at < end)
        .order_by(Chat.chain_due_at, Chat.id)
    )
    return [Pending(*row) for row in rows]


def due_chains(now: datetime, after: Pending | None, limit: int) -> list[Pending]:
    """Pending reminders due by `now`, soonest first, after `after` (keyset; the index
    on chain_due_at makes this cost the same however many chains wait for later)."""
    query = select(Chat.id, Chat.chain_cycle, Chat.chain_step_id, Chat.chain_due_at).where(
        Chat.chain_due_at <= now
    )
    if after is not None:
        query = query.where(
            or_(
                Chat.chain_due_at > after.due_at,
                and_(Chat.chain_due_at == after.due_at, Chat.id > after.chat_id),
            )
        )
    rows = db.session.execute(query.order_by(Chat.chain_due_at, Chat.id).limit(limit))
    return [Pending(*row) for row in rows]


# --- the monitoring dashboard --------------------------------------------------------------------

# Where a dashboard page of handed-off chats ends: this prefix and the request's id.
HANDED_OFF_CURSOR = "handed-off-"


@dataclass(frozen=True)
class ActiveChain:
    chat: Chat
    agent: Agent
    customer: Customer | None
    step: AutoFollowupStep | None  # None for a moment if its step was just deleted
    due_at: datetime | None  # None once handed to the team
    reminders_sent: int  # in the current cycle
    # The open request that handed the chat to the team (the cycle ended with it).
    followup_id: int | None = None

    @property
    def handed_off(self) -> bool:
        return self.followup_id is not None


@dataclass(frozen=True)
class ActiveChainsPage:
    rows: list[ActiveChain]
    next_cursor: str | None  # pass back as `after` for the next page


def active_chains(
    tenant_id: int,
    q: str | None = None,
    agent_id: int | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> ActiveChainsPage:
    """The tenant's chats with an active chain, soonest reminder first; then the chats
    handed to the team (a follow-up request ended their cycle, and the team has not
    closed it yet), newest request first, so staff see why no reminder is coming, until
    the client writes again. `q` searches the client's name, the chat's title and label
    and the agent's name; `agent_id` keeps one agent's."""
    limit = limit or current_app.config["AUTO_FOLLOWUP_PAGE_SIZE"]
    filters = (tenant_id, search_text(q), agent_id)
    handed_off_after = _handed_off_position(after)
    rows = []
    if handed_off_after is None:
        rows = _scheduled_chains(*filters, parse_keyset_cursor(after), limit + 1)
    if len(rows) <= limit:
        rows += _handed_off_chains(*filters, handed_off_after, limit + 1 - len(rows))
    chains = rows[:limit]
    return ActiveChainsPage(chains, _cursor_after(chains[-1]) if len(rows) > limit else None)


def _chains_query(tenant_id: int, text: str, agent_id: int | None, *columns) -> Select:
    """The tenant's chats that reminders may reach, with what a row shows, filtered."""
    sent = (
        select(func.count(ReminderSend.id))
        .where(ReminderSend.chat_id == Chat.id, ReminderSend.cycle == Chat.chain_cycle)
        .correlate(Chat)
        .scalar_subquery()
    )
    query = (
        select(Chat, Agent, Customer, AutoFollowupStep, sent, *columns)
        .join(Agent, Agent.id == Chat.agent_id)
        .outerjoin(Customer, Customer.id == Chat.customer_id)
        .outerjoin(AutoFollowupStep, AutoFollowupStep.id == Chat.chain_step_id)
        .where(
            Chat.tenant_id == tenant_id,
            Agent.tenant_id == tenant_id,
            Chat.reminders_allowed,
        )
    )
    if text:
        pattern = contains_pattern(text)
        query = query.where(
            or_(
                *(
                    func.lower(column).like(pattern, escape=LIKE_ESCAPE)
                    for column in (Chat.title, LABEL_SQL, Agent.name, Customer.name)
                )
            )
        )
    if agent_id is not None:
        query = query.where(Chat.agent_id == agent_id)
    return query


def _scheduled_chains(
    tenant_id: int,
    text: str,
    agent_id: int | None,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[ActiveChain]:
    """Chats with a reminder pending, soonest first, after the (due time, id) `after`."""
    query = _chains_query(tenant_id, text, agent_id).where(Chat.chain_due_at.is_not(None))
    if after is not None:
        due_at, chat_id = after
        query = query.where(
            or_(Chat.chain_due_at > due_at, and_(Chat.chain_due_at == due_at, Chat.id > chat_id))
        )
    rows = db.session.execute(query.order_by(Chat.chain_due_at, Chat.id).limit(limit))
    return [
        ActiveChain(chat, agent, customer, step, chat.chain_due_at, count)
        for chat, agent, customer, step, count in rows
    ]


def _handed_off_chains(
    tenant_id: int, text: str, agent_id: int | None, after: int | None, limit: int
) -> list[ActiveChain]:
    """Chats handed to the team whose request is still open, newest request first,
    after the request `after`."""
    open_request = (
        select(func.max(FollowUpRequest.id))
        .where(
            FollowUpRequest.chat_id == Chat.id, FollowUpRequest.status.in_(workflow.OPEN_STATUSES)
        )
        .correlate(Chat)
        .scalar_subquery()
    )
    query = _chains_query(tenant_id, text, agent_id, open_request).where(
        Chat.chain_ended == ChainEnd.HANDED_OFF, open_request.is_not(None)
    )
    if after is not None:
        query = query.where(open_request < after)
    rows = db.session.execute(query.order_by(open_request.desc()).limit(limit))
    return [
        ActiveChain(chat, agent, customer, step, None, count, followup_id)
        for chat, agent, customer, step, count, followup_id in rows
    ]


def _cursor_after(row: ActiveChain) -> str:
    if row.handed_off:
        return f"{HANDED_OFF_CURSOR}{row.followup_id}"
    return keyset_cursor(row.due_at, row.chat.id)


def _handed_off_position(cursor: object) -> int | None:
    """The request id a cursor into the handed-off chats ends at; None for any other."""
    if not isinstance(cursor, str) or not cursor.startswith(HANDED_OFF_CURSOR):
        return None
    return whole_number(cursor.removeprefix(HANDED_OFF_CURSOR), MAX_ID)
