from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followup.clock import utcnow
from followup.extensions import db
from followup.models.base import UTCDateTime
from followup.models.chat import Agent


class AutoFollowupStep(db.Model):
    """One reminder of an agent's chain: wait `delay_minutes`, then write per the instruction."""

    __tablename__ = "auto_followup_steps"
    __table_args__ = (CheckConstraint("delay_minutes >= 1", name="delay_at_least_a_minute"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    delay_minutes: Mapped[int] = mapped_column(Integer)
    instruction: Mapped[str] = mapped_column(Text)
    run_once_per_chat: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agent: Mapped[Agent] = relationship(back_populates="steps")


class ReminderSend(db.Model):
    """A reminder that was sent. The unique key makes a second send of the same
    (chat, cycle, step) impossible, whatever the workers do."""

    __tablename__ = "reminder_sends"
    __table_args__ = (UniqueConstraint("chat_id", "cycle", "step_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    cycle: Mapped[int] = mapped_column(Integer)
    step_id: Mapped[int] = mapped_column(
        ForeignKey("auto_followup_steps.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
