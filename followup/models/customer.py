from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from followup.clock import utcnow
from followup.extensions import db
from followup.models.base import UTCDateTime

CUSTOMER_GUEST = "guest"
CUSTOMER_REGISTERED = "registered"


class Customer(db.Model):
    """A person who chats or asks for a follow-up; one record per (tenant, email)."""

    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email"),
        # The Users page: newest first, in pages.
        Index("ix_customers_tenant_created", "tenant_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Served by the (tenant_id, email) unique index.
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str | None] = mapped_column(String(32))
    # Guest until they prove the email is theirs (see `proved_email`).
    status: Mapped[str] = mapped_column(String(16), default=CUSTOMER_GUEST)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def proved_email(self) -> None:
        """They showed the email is theirs (a login link opened, or the website's signed
        identity): a Registered customer from now on."""
        self.status = CUSTOMER_REGISTERED
