"""A sent reminder: the record that lets each step of a cycle go out once."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from followup.clock import utcnow
from followup.extensions import db
from followup.models.base import UTCDateTime


class ReminderSend(db.Model):
    """A reminder that was sent. The unique key makes a second send of the same
    (chat, cycle, step) impossible, whatever the workers do."""

    __tablename__ = "reminder_sends"
    __table_args__ = (
        UniqueConstraint("chat_id", "cycle", "step_id"),
        # The reports: a period's reminders (index-only on PostgreSQL).
        Index("ix_reminder_sends_sent_at", "sent_at", postgresql_include=["chat_id", "step_id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    cycle: Mapped[int] = mapped_column(Integer)
    step_id: Mapped[int] = mapped_column(
        ForeignKey("auto_followup_steps.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
