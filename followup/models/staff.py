import base64
import hashlib
import hmac
import secrets
from datetime import datetime
from enum import StrEnum

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from followup.clock import utcnow
from followup.extensions import db
from followup.locales import staff_gettext
from followup.models.base import UTCDateTime, one_of
from followup.models.tenant import Tenant


class StaffRole(StrEnum):
    """What a member may do is decided in one place: services/permissions.py."""

    OWNER = "owner"  # one per business: the widget secret, origins, ownership
    ADMIN = "admin"  # everything else, settings and the team included
    AGENT = "agent"  # works requests and chats; no settings


class StaffStatus(StrEnum):
    INVITED = "invited"  # asked by email; no password yet, cannot sign in
    ACTIVE = "active"
    DEACTIVATED = "deactivated"  # kept (their name stays on their work), cannot sign in


class StaffUser(UserMixin, db.Model):
    """A person who logs into one tenant's admin panel."""

    __tablename__ = "staff_users"
    __table_args__ = (one_of("role", StaffRole), one_of("status", StaffStatus))

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    # Login is by email alone, so an email names one staff account across tenants.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # Their own mobile, E.164, if they gave it (Account): the System page's test SMS.
    phone: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16), default=StaffRole.ADMIN)
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Each login copies it into the session; raising it ends every session of this member
    # (web/auth/sessions.py), wherever its cookie went.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    status: Mapped[str] = mapped_column(
        String(16), default=StaffStatus.ACTIVE, server_default=StaffStatus.ACTIVE
    )
    # Two-factor sign-in (services/two_factor.py): the authenticator app's base32 secret,
    # set once a code from the app proved it, sealed with a key derived from SECRET_KEY
    # (followup/sealing.py); and the last time step a code was used at, so a code works
    # once.
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

    tenant: Mapped[Tenant] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:
        """Flask-Login's question: only active members may be signed in."""
        return self.status == StaffStatus.ACTIVE

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

    @property
    def has_two_factor(self) -> bool:
        return self.totp_secret is not None


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
        # Kept on the records it signs, in the words of the panel when it was written.
        if self.name:
            return staff_gettext(
                "API token %(prefix)s… (%(name)s)", prefix=self.prefix, name=self.name
            )
        return staff_gettext("API token %(prefix)s…", prefix=self.prefix)


class StaffTokenPurpose(StrEnum):
    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"  # noqa: S105 (a kind of link, no password)
    EMAIL_CHANGE = "email_change"


def link_token(nonce: str) -> str:
    """The secret part of a link, derived from the row's random nonce and SECRET_KEY.

    The email is written by a worker after the commit, so the row must let it make the
    link again; only the nonce and the token's hash are stored, so a copy of the
    database alone opens no link (it also needs SECRET_KEY)."""
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"staff-link:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hash_link_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class StaffToken(db.Model):
    """A one-time link for a staff member: an invitation, a password reset, or the
    confirmation of a new email address. Single use, until `expires_at`."""

    __tablename__ = "staff_tokens"
    __table_args__ = (one_of("purpose", StaffTokenPurpose),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    staff_user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(16))
    nonce: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Who sent the invitation (None for links a member asks for themselves).
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    # The address an email change will set, once its link is opened.
    new_email: Mapped[str | None] = mapped_column(String(320))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    staff_user: Mapped[StaffUser] = relationship(foreign_keys=[staff_user_id], lazy="joined")
    created_by: Mapped[StaffUser | None] = relationship(foreign_keys=[created_by_id])

    @property
    def invited_by_name(self) -> str | None:
        return self.created_by.display_name if self.created_by else None

    @staticmethod
    def new_nonce() -> str:
        return secrets.token_urlsafe(32)

    @property
    def token(self) -> str:
        return link_token(self.nonce)


class StaffRecoveryCode(db.Model):
    """A one-time code that signs a member in without their authenticator app. Hashed."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
