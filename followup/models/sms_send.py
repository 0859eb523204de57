from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from followup.extensions import db
from followup.models.base import UTCDateTime, one_of


class SendState(StrEnum):
    TO_SEND = "to_send"  # `due_at` is when the sweep queues it (a retry's time, or a lost job)
    SENDING = "sending"  # claimed by one sender; `due_at` is the end of its lease
    SENT = "sent"  # Twilio accepted every part (their SIDs are on the message)
    UNDELIVERABLE = "undeliverable"  # refused, or out of attempts: staff were told in the chat


# Something still has to happen to a send in these states.
UNSETTLED = (SendState.TO_SEND, SendState.SENDING)


class SmsSend(db.Model):
    """The SMS delivery of one outgoing message of an SMS chat (an AI answer, a reminder,
    a staff reply), saved in the message's own commit: neither a sender killed before
    Twilio took it nor a retry Redis lost can leave it unsent, since the sweep queues
    every send whose `due_at` has passed."""

    __tablename__ = "sms_sends"
    __table_args__ = (
        one_of("state", SendState),
        # The sweep: unsettled sends whose time has come (`due_at` is None once settled).
        Index("ix_sms_sends_due_at", "due_at"),
    )

    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(16), default=SendState.TO_SEND)
    # Sends begun (claims); a job names the count it expects, so a stale job does nothing.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
