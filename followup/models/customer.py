from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from followup.clock import utcnow
from followup.extensions import db
from followup.models.base import UTCDateTime


class CustomerStatus(StrEnum):
    GUEST = "guest"
    REGISTERED = "registered"  # proved their email (a login link and its code)


class Customer(db.Model):
    """A person who chats or asks for a follow-up.

    Keyed by (tenant, external id) when the business's website signed who they are,
    else by (tenant, email). A website customer's email, name and phone are contact
    details only, never a key: the website's signature covers the id alone.
    """

    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id"),
        Index(
            "ux_customers_tenant_email_unkeyed",
            "tenant_id",
            "email",
            unique=True,
            sqlite_where=text("external_id IS NULL"),
            postgresql_where=text("external_id IS NULL"),
        ),
        # The Users page: newest first, in pages.
        Index("ix_customers_tenant_created", "tenant_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Served by the (tenant_id, …) unique indexes.
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    # The website's own id for its signed-in user (see services/prefill.py).
    external_id: Mapped[str | None] = mapped_column(String(200))
    # "" for a website customer who has not given one yet.
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str | None] = mapped_column(String(32))
    # Guest until they prove the email is theirs (see `proved_email`).
    status: Mapped[str] = mapped_column(String(16), default=CustomerStatus.GUEST)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def proved_email(self) -> None:
        """They showed the email is theirs (a login link opened, or the website's signed
        identity): a Registered customer from now on."""
        self.status = CustomerStatus.REGISTERED
