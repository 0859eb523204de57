"""The reports' daily rollups: each tenant's figures per local day, kept by the workers so
the reports page reads a few thousand sums instead of millions of rows."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from followup.extensions import db
from followup.models.base import UTCDateTime, one_of


class ReportMetric(StrEnum):
    """What a rollup row counts, for one local day (`key` says of what, where it is used)."""

    REQUESTS = "requests"  # follow-ups made; key: the report source
    CONTACTED = "contacted"  # of those, contacted
    WITHIN_PROMISE = "within_promise"  # contacted before their due time
    PENDING = "pending"  # still pending when the day was counted
    CONTACT_MINUTES = "contact_minutes"  # contacted after `key` minutes (a bucket's start)
    HANDOFFS = "handoffs"  # follow-ups made from a chat
    REMINDERS = "reminders"  # reminders sent; key: the step's id
    REPLIED = "replied"  # of those, written back to within 24 h; key: the step's id
    CHAINS_ENTERED = "chains_entered"  # a chat's first reminder ever
    EXHAUSTED = "exhausted"  # last reminder of a chain that ran out
    OPTED_OUT = "opted_out"  # chats whose customer asked for no more reminders
    CONVERSATIONS = "conversations"  # chats started
    CUSTOMER_MESSAGES = "customer_messages"
    MODEL_FAILURES = "model_failures"  # AI replies that fell back to the form
    INPUT_TOKENS = "input_tokens"  # key: the model
    OUTPUT_TOKENS = "output_tokens"  # key: the model


class ReportDay(db.Model):
    """A local day whose rollup rows are counted, and when: the page's "as of"."""

    __tablename__ = "report_days"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReportCount(db.Model):
    """One figure of one local day, for one AI employee (None: a request with no chat)
    and one assignee (None: unassigned or not a request's figure)."""

    __tablename__ = "report_counts"
    __table_args__ = (
        one_of("metric", ReportMetric),
        # The page sums a period's rows from the index alone on PostgreSQL.
        Index(
            "ix_report_counts_tenant_day",
            "tenant_id",
            "day",
            postgresql_include=["metric", "agent_id", "assignee_id", "key", "value"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    metric: Mapped[str] = mapped_column(String(32))
    agent_id: Mapped[int | None] = mapped_column(Integer)
    assignee_id: Mapped[int | None] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(100), default="")
    value: Mapped[int] = mapped_column(BigInteger)


class ReportMark(db.Model):
    """A follow-up changed after its day may have been counted (contacted, assigned,
    cancelled, erased): the day of `created_at` is counted again on the next pass."""

    __tablename__ = "report_marks"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
