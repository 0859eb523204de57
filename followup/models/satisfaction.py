from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from followup.clock import utcnow
from followup.extensions import db
from followup.models.base import UTCDateTime

SCORES = range(1, 6)  # 1 (very poor) to 5 (excellent)


class SatisfactionRating(db.Model):
    """A customer's answer to "How did we do?" about a resolved request: one per request
    (the unique request id is what makes the emailed link single use)."""

    __tablename__ = "satisfaction_ratings"
    __table_args__ = (
        CheckConstraint(f"score BETWEEN {SCORES[0]} AND {SCORES[-1]}", name="score_range"),
        # The reports: a tenant's ratings in a period.
        Index("ix_satisfaction_ratings_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    followup_id: Mapped[int] = mapped_column(
        ForeignKey("followup_requests.id", ondelete="CASCADE"), unique=True
    )
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
