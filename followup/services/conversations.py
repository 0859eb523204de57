"""Chats as the staff see them: one agent's chats, one chat's conversation and chain.

Read-only queries, always inside the staff member's tenant. What a chain *does*
is the engine's (`services/autofollowup.py`); this only describes its state.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from followup.extensions import db
from followup.locales import mark, staff_gettext, staff_text
from followup.models import Agent, AutoFollowupStep, ChainEnd, Chat, Message, ReminderSend
from followup.services import autofollowup
from followup.services.queries import tenant_row

AGENT_CHATS_LIMIT = 50
CONVERSATION_LIMIT = 300


def get_chat(tenant_id: int, chat_id: int) -> Chat:
    return tenant_row(Chat, tenant_id, chat_id, mark("No such chat."))


class ChainStatus(StrEnum):
    """Where a chat's auto follow-up stands (its badge's CSS class is chain-<value>)."""

    OPTED_OUT = "opted_out"
    PAUSED = "paused"
    OFF = "off"
    SCHEDULED = "scheduled"
    HANDED_OFF = "handed_off"
    FINISHED = "finished"
    IDLE = "idle"


# What a list's badge says; the chat's own page says more (`ChainState.label`).
_BADGES = {
    ChainStatus.OPTED_OUT: staff_text("Opted out"),
    ChainStatus.PAUSED: staff_text("Paused"),
    ChainStatus.OFF: staff_text("Off"),
    ChainStatus.SCHEDULED: staff_text("Scheduled"),
    ChainStatus.HANDED_OFF: staff_text("Handed to the team"),
    ChainStatus.FINISHED: staff_text("Finished"),
    ChainStatus.IDLE: staff_text("Not running"),
}


@dataclass(frozen=True)
class ChainState:
    """Where a chat's auto follow-up stands, in words the staff understand."""

    state: ChainStatus
    label: str
    step_number: int | None = None
    due_at: datetime | None = None
    # While a staff member's reply holds reminders back: when that ends.
    held_until: datetime | None = None

    @property
    def badge(self) -> str:
        return staff_gettext(_BADGES[self.state])


def chain_state(chat: Chat, now: datetime | None = None) -> ChainState:
    if not chat.reminders_allowed:
        return _why_not_allowed(chat)
    held_until = (
        autofollowup.takeover_ends_at(chat) if autofollowup.staff_in_charge(chat, now) else None
    )
    if chat.chain_due_at is not None and chat.chain_step_id is not None:
        # From the session when the agent's steps are loaded (a list of chats), else one query.
        step = db.session.get(AutoFollowupStep, chat.chain_step_id)
        number = step.position if step else None
        return ChainState(
            ChainStatus.SCHEDULED, staff_gettext("Scheduled"), number, chat.chain_due_at, held_until
        )
    if chat.chain_ended == ChainEnd.HANDED_OFF:
        return ChainState(ChainStatus.HANDED_OFF, staff_gettext("Handed to the team"))
    if chat.chain_ended == ChainEnd.EXHAUSTED:
        return ChainState(ChainStatus.FINISHED, staff_gettext("Finished: every step was sent"))
    return ChainState(ChainStatus.IDLE, staff_gettext("Not running"))


def _why_not_allowed(chat: Chat) -> ChainState:
    if chat.opted_out:
        return ChainState(
            ChainStatus.OPTED_OUT, staff_gettext("Opted out: the client asked for no more messages")
        )
    if chat.autofollowup_paused:
        return ChainState(ChainStatus.PAUSED, staff_gettext("Paused by staff"))
    return ChainState(ChainStatus.OFF, staff_gettext("Off for %(name)s", name=chat.agent.name))


@dataclass(frozen=True)
class AgentChat:
    chat: Chat
    last_message: Message | None
    chain: ChainState


def agent_chats(tenant_id: int, agent_id: int, limit: int = AGENT_CHATS_LIMIT) -> list[AgentChat]:
    """The agent's most recent chats, each with its last message and chain state."""
    chats = list(
        db.session.scalars(
            select(Chat)
            .options(
                selectinload(Chat.customer), selectinload(Chat.agent).selectinload(Agent.steps)
            )
            .where(Chat.tenant_id == tenant_id, Chat.agent_id == agent_id)
            .order_by(Chat.last_message_at.desc(), Chat.id.desc())
            .limit(limit)
        )
    )
    last_ids = (
        select(func.max(Message.id))
        .where(Message.chat_id.in_([chat.id for chat in chats]))
        .group_by(Message.chat_id)
    )
    last = {
        m.chat_id: m for m in db.session.scalars(select(Message).where(Message.id.in_(last_ids)))
    }
    return [AgentChat(chat, last.get(chat.id), chain_state(chat)) for chat in chats]


def count_agent_chats(tenant_id: int, agent_id: int) -> int:
    return db.session.scalar(
        select(func.count(Chat.id)).where(Chat.tenant_id == tenant_id, Chat.agent_id == agent_id)
    )


@dataclass(frozen=True)
class Conversation:
    chat: Chat
    messages: list[Message]
    message_total: int
    prompt_tokens: int
    completion_tokens: int
    # The step number of every reminder shown, by message id ("Reminder · step 2").
    reminder_steps: dict[int, int]
    reminders_sent: int
    chain: ChainState

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def _reminder_step_numbers(messages: list[Message]) -> dict[int, int]:
    step_ids = {m.reminder_step_id for m in messages if m.reminder_step_id is not None}
    if not step_ids:
        return {}
    positions = dict(
        db.session.execute(
            select(AutoFollowupStep.id, AutoFollowupStep.position).where(
                AutoFollowupStep.id.in_(step_ids)
            )
        ).all()
    )
    return {
        m.id: positions[m.reminder_step_id] for m in messages if m.reminder_step_id in positions
    }


def conversation(tenant_id: int, chat_id: int, limit: int = CONVERSATION_LIMIT) -> Conversation:
    """The chat's latest messages, oldest first, with token use and the chain's state."""
    return conversation_of(get_chat(tenant_id, chat_id), limit)


def conversation_of(chat: Chat, limit: int) -> Conversation:
    """`conversation` of a chat the caller has already found in its tenant."""
    latest = db.session.scalars(
        select(Message).where(Message.chat_id == chat.id).order_by(Message.id.desc()).limit(limit)
    )
    messages = list(reversed(list(latest)))
    total, prompt, completion = db.session.execute(
        select(
            func.count(Message.id),
            func.coalesce(func.sum(Message.prompt_tokens), 0),
            func.coalesce(func.sum(Message.completion_tokens), 0),
        ).where(Message.chat_id == chat.id)
    ).one()
    # Counted like the dashboard counts them: since the client's last message.
    reminders = db.session.scalar(
        select(func.count(ReminderSend.id)).where(
            ReminderSend.chat_id == chat.id, ReminderSend.cycle == chat.chain_cycle
        )
    )
    return Conversation(
        chat=chat,
        messages=messages,
        message_total=total,
        prompt_tokens=int(prompt),
        completion_tokens=int(completion),
        reminder_steps=_reminder_step_numbers(messages),
        reminders_sent=reminders,
        chain=chain_state(chat),
    )
