from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followup.clock import utcnow
from followup.extensions import db
from followup.models.base import UTCDateTime
from followup.models.customer import Customer


class Channel(StrEnum):
    WEB = "web"
    SMS = "sms"


class Role(StrEnum):
    CLIENT = "client"
    AGENT = "agent"
    STAFF = "staff"
    SYSTEM = "system"


class Agent(db.Model):
    """An AI employee: the persona that talks to a tenant's customers."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(200), default="Customer support assistant")
    tone: Mapped[str] = mapped_column(String(200), default="Friendly, clear and concise")
    instructions: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Chat(db.Model):
    """One conversation: one customer, one agent, one channel."""

    __tablename__ = "chats"
    __table_args__ = (Index("ix_chats_tenant_last_message", "tenant_id", "last_message_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8), default=Channel.WEB)
    title: Mapped[str] = mapped_column(String(200), default="")
    # What the website said about the visitor: {id, name, email, phone, verified}.
    visitor: Mapped[dict] = mapped_column(JSON, default=dict)
    # Progress of a follow-up being captured by voice (see services/voice.py).
    voice_capture: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agent: Mapped[Agent] = relationship()
    customer: Mapped[Customer | None] = relationship()


class Message(db.Model):
    """One message of a chat; AI messages carry the token use of the call that wrote them."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_chat_id_id", "chat_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(8))
    content: Mapped[str] = mapped_column(Text, default="")
    mode: Mapped[str] = mapped_column(String(8), default="text")
    # Something the chat UI should show beside the text, e.g. the follow-up form:
    # {"type": "followup_form", "prefill": {...}, "reason": ..., "summary": ...}.
    action: Mapped[dict | None] = mapped_column(JSON)
    model: Mapped[str | None] = mapped_column(String(100))
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    chat: Mapped[Chat] = relationship()

    @property
    def total_tokens(self) -> int | None:
        if self.prompt_tokens is None and self.completion_tokens is None:
            return None
        return (self.prompt_tokens or 0) + (self.completion_tokens or 0)


class CustomerLoginToken(db.Model):
    """A one-time login link sent by email; only its hash is stored."""

    __tablename__ = "customer_login_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    # The chat that asked for the link: logging in binds the customer to it.
    chat_id: Mapped[int | None] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
