"""An AI employee (`Agent`), its working hours' shape and its reminder chain's steps."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    false,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followup.clock import utcnow
from followup.extensions import db
from followup.models.base import UTCDateTime

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def always_open() -> dict:
    """Working hours of 24/7: every weekday one interval over the whole day."""
    return {day: [["00:00", "24:00"]] for day in WEEKDAYS}


class Agent(db.Model):
    """An AI employee: the persona that talks to a tenant's customers."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(200), default="Customer support assistant")
    tone: Mapped[str] = mapped_column(String(200), default="Friendly, clear and concise")
    instructions: Mapped[str] = mapped_column(Text, default="")
    # Working hours in the agent's own time zone: {"mon": [["09:00", "18:00"], ...], ...}
    # (an empty list is a day off) and special dates {"2026-12-24": [["10:00", "14:00"]]}
    # that replace the weekday's hours on that date (empty: closed all day).
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    working_hours: Mapped[dict] = mapped_column(JSON, default=always_open)
    special_dates: Mapped[dict] = mapped_column(JSON, default=dict)
    # Channels: the agent that answers the tenant's web widget, and an SMS number.
    serves_web_widget: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    sms_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    autofollowup_enabled: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    steps: Mapped[list["AutoFollowupStep"]] = relationship(
        back_populates="agent",
        order_by="AutoFollowupStep.position",
        cascade="all, delete-orphan",
    )


def website_agent_id(tenant_id):
    """The id of the employee that answers a business's website chat: the one assigned to
    it, else the first. `tenant_id`: a value, or a column to correlate with (Tenant.id)."""
    return (
        select(Agent.id)
        .where(Agent.tenant_id == tenant_id)
        .order_by(Agent.serves_web_widget.desc(), Agent.id)
        .limit(1)
        .correlate_except(Agent)  # the outer query may read agents too
        .scalar_subquery()
    )


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
