"""Answers kept for a while so that a request sent twice is carried out once."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from followup.clock import utcnow
from followup.extensions import db
from followup.models.base import UTCDateTime


class IdempotencyKey(db.Model):
    """A key a client sent with a create, and the answer it got.

    `scope` says whose keys these are ("api-token:<id>", "chat:<id>"): two clients'
    keys never meet. Stored in the same commit as what the request created, so a
    key is either unused or answered, never half-done.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    scope: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of the request's body
    status_code: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[dict | None] = mapped_column(JSON)
    headers: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
