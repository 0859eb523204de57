import hashlib
import secrets
from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from followup.clock import utcnow
from followup.extensions import db
from followup.models.base import UTCDateTime
from followup.models.tenant import Tenant


class StaffRole(StrEnum):
    OWNER = "owner"  # one per business: the widget secret, origins and the like
    STAFF = "staff"


class StaffUser(UserMixin, db.Model):
    """A person who logs into one tenant's admin panel."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    # Login is by email alone, so an email names one staff account across tenants.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16), default=StaffRole.STAFF)
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Each login copies it into the session; raising it ends every session of this member
    # (web/auth/sessions.py), wherever its cookie went.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    tenant: Mapped[Tenant] = relationship(lazy="joined")

    def set_password(self, password: str, method: str = "scrypt") -> None:
        self.password_hash = generate_password_hash(password, method)
        self.end_sessions()

    def end_sessions(self) -> None:
        """Sign this member out everywhere (a new password, logout, deactivation)."""
        self.session_version = (self.session_version or 0) + 1

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def display_name(self) -> str:
        return self.name or self.email


def hash_api_token(token: str) -> str:
    # Tokens are 256-bit random strings, so a fast hash is enough: there is
    # nothing to brute-force, and lookups stay one indexed equality.
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(db.Model):
    """A bearer token for the REST API. Only its hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tenant: Mapped[Tenant] = relationship(lazy="joined")

    @staticmethod
    def generate() -> str:
        return "fu_" + secrets.token_urlsafe(32)

    @property
    def actor_label(self) -> str:
        return f"API token {self.prefix}…" + (f" ({self.name})" if self.name else "")
