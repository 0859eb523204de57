from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from followup.extensions import db
from followup.models.base import UTCDateTime, one_of


class AnswerState(StrEnum):
    WAITING = "waiting"  # for its job; `due_at` is when the sweep queues it again
    ANSWERING = "answering"  # claimed by a job; `due_at` is the end of its lease
    ANSWERED = "answered"  # written in the same transaction as the answer
    NOT_NEEDED = "not_needed"  # staff in charge, opted out, or a later text was answered
    GAVE_UP = "gave_up"  # out of attempts; staff were told in the chat


# Something still has to happen to a text in these states.
UNSETTLED = (AnswerState.WAITING, AnswerState.ANSWERING)


class SmsAnswer(db.Model):
    """An inbound text's claim to an answer by the AI, saved with the text itself, so
    neither a lost job (a worker killed, Redis restarted empty) nor a failed one can
    leave it unanswered: the sweep queues every text whose `due_at` has passed."""

    __tablename__ = "sms_answers"
    __table_args__ = (
        one_of("state", AnswerState),
        # The sweep: unsettled texts whose time has come (`due_at` is None once settled).
        Index("ix_sms_answers_due_at", "due_at"),
        # An answer settles the chat's unsettled texts.
        Index("ix_sms_answers_chat_id_state", "chat_id", "state"),
    )

    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default=AnswerState.WAITING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
