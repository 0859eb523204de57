from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from followup.clock import utcnow
from followup.extensions import db
from followup.models.base import UTCDateTime, one_of


class NotificationChannel(StrEnum):
    STAFF_EMAIL = "staff_email"
    STAFF_SMS = "staff_sms"
    CUSTOMER_EMAIL = "customer_email"
    CUSTOMER_SMS = "customer_sms"  # only "How did we do?" to a customer with no email


class NotificationKind(StrEnum):
    """What the message is about: a follow-up request (`followup_id`; to a member,
    `staff_user_id` too), or a staff member's one-time link (`staff_user_id`,
    `staff_token_id`)."""

    NEW_REQUEST = "new_request"
    ASSIGNED = "assigned"  # to the member someone else gave the request
    AT_RISK = "at_risk"  # 75% of the promised time gone, nobody has contacted the customer
    OVERDUE = "overdue"  # the promised time is over
    STAFF_INVITATION = "staff_invitation"
    PASSWORD_RESET = "password_reset"  # noqa: S105 (a kind of link, no password)
    EMAIL_CHANGE = "email_change"
    SATISFACTION = "satisfaction"  # "How did we do?" to the customer of a resolved request


# The promise's alerts: one of each per request and channel.
PROMISE_ALERT_KINDS = (NotificationKind.AT_RISK, NotificationKind.OVERDUE)

# Kinds about a staff member's one-time link, one row per link.
STAFF_LINK_KINDS = (
    NotificationKind.STAFF_INVITATION,
    NotificationKind.PASSWORD_RESET,
    NotificationKind.EMAIL_CHANGE,
)


class DeliveryState(StrEnum):
    PENDING = "pending"  # waiting for its job, or for the next attempt after a failure
    SENDING = "sending"  # claimed by a job; `next_attempt_at` is then the end of its lease
    SENT = "sent"
    # No MAIL_SERVER is configured: the email was written to a file (instance/mail).
    SAVED_TO_FILE = "saved_to_file"
    FAILED = "failed"  # out of attempts, or a failure that no retry can fix


# Nothing more will happen to a notification in these states.
SETTLED = (DeliveryState.SENT, DeliveryState.SAVED_TO_FILE, DeliveryState.FAILED)


class Notification(db.Model):
    """The outbox: one message on one channel, about a follow-up request or to a staff
    member (an invitation, a password reset: `kind`).

    Written in the same transaction as what it tells of, so a request never exists
    without its notifications; jobs deliver it and record the outcome here.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        # One of each kind per request and channel (a request may be assigned many
        # times, each telling its assignee); one per staff link.
        Index(
            "uq_notifications_followup_channel_kind",
            "followup_id",
            "channel",
            "kind",
            unique=True,
            sqlite_where=text(f"kind <> '{NotificationKind.ASSIGNED}'"),
            postgresql_where=text(f"kind <> '{NotificationKind.ASSIGNED}'"),
        ),
        UniqueConstraint("staff_token_id"),
        one_of("channel", NotificationChannel),
        one_of("kind", NotificationKind),
        one_of("state", DeliveryState),
        # The sweep: unfinished rows whose time has come, oldest first.
        Index("ix_notifications_state_next_attempt", "state", "next_attempt_at"),
        # How many confirmations one address got lately (services/notifications.py limits them).
        Index("ix_notifications_tenant_recipient", "tenant_id", "recipient", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    kind: Mapped[str] = mapped_column(
        String(32),
        default=NotificationKind.NEW_REQUEST,
        server_default=NotificationKind.NEW_REQUEST,
    )
    followup_id: Mapped[int | None] = mapped_column(
        ForeignKey("followup_requests.id", ondelete="CASCADE")
    )
    staff_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    staff_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_tokens.id", ondelete="CASCADE")
    )
    channel: Mapped[str] = mapped_column(String(32))
    # An email address or an E.164 number; None when there is nobody to send to.
    recipient: Mapped[str | None] = mapped_column(String(320))
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last failure in staff words, and the provider's technical text beside it
    # (None when that says nothing more): notify/failures.py writes both.
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_detail: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_settled(self) -> bool:
        return self.state in SETTLED
