import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    false,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from followup.clock import utcnow
from followup.extensions import db
from followup.locales import Language
from followup.models.agent import Agent
from followup.models.base import UTCDateTime, one_of
from followup.models.customer import Customer


class Channel(StrEnum):
    WEB = "web"
    SMS = "sms"


class Mode(StrEnum):
    """How a message was said: typed, or spoken in the widget's voice mode."""

    TEXT = "text"
    VOICE = "voice"


class DeviceClass(StrEnum):
    MOBILE = "mobile"
    TABLET = "tablet"
    DESKTOP = "desktop"


# Crockford's base 32: no I, L, O or U, so a code read out or copied by hand stays right.
VISITOR_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
VISITOR_CODE_LENGTH = 4


def new_visitor_code() -> str:
    """A random code, e.g. "4F2A": about a million of them, so a tenant's chats rarely share
    one; random, so it tells nobody how many chats there are."""
    return "".join(secrets.choice(VISITOR_CODE_ALPHABET) for _ in range(VISITOR_CODE_LENGTH))


class Role(StrEnum):
    CLIENT = "client"
    AGENT = "agent"
    STAFF = "staff"
    SYSTEM = "system"


class ActionType(StrEnum):
    """What a message's action shows beside its text (`Message.action["type"]`)."""

    FOLLOWUP_FORM = "followup_form"  # the inline follow-up form, pre-filled
    FOLLOWUP_CREATED = "followup_created"  # the request the form created


class ChainEnd(StrEnum):
    """Why a chat's reminder cycle ended before the client wrote again."""

    EXHAUSTED = "exhausted"  # every step was sent
    HANDED_OFF = "handed_off"  # a follow-up request was taken in the chat: the team has it


class Chat(db.Model):
    """One conversation: one customer, one agent, one channel.

    It also holds its auto follow-up chain (the database is the source of truth;
    RQ only runs the work): the current cycle, the step due next and when.
    """

    __tablename__ = "chats"
    __table_args__ = (
        Index("ix_chats_tenant_last_message", "tenant_id", "last_message_at"),
        # The sweep: chains with a reminder due, across tenants, soonest first.
        Index("ix_chats_chain_due_at", "chain_due_at"),
        # The dashboard: one tenant's active chains in due order (its keyset cursor).
        Index("ix_chats_tenant_chain_due_at", "tenant_id", "chain_due_at", "id"),
        # Inbound SMS: the chat of this number with this agent.
        Index("ix_chats_agent_phone", "agent_id", "phone"),
        one_of("locale", Language),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8), default=Channel.WEB)
    title: Mapped[str] = mapped_column(String(200), default="")
    # What the website said about the visitor: {id, name, email, phone, verified}.
    visitor: Mapped[dict] = mapped_column(JSON, default=dict)
    # Progress of a follow-up being captured in conversation, by voice or SMS
    # (see services/capture.py).
    followup_capture: Mapped[dict | None] = mapped_column(JSON)
    # The customer's number on the SMS channel (E.164).
    phone: Mapped[str | None] = mapped_column(String(32))
    # Telling chats apart: the code of the chat's label ("Visitor 4F2A"), and where a
    # widget chat started as the browser reported it (None when it said nothing).
    visitor_code: Mapped[str] = mapped_column(String(8), default=new_visitor_code)
    page_url: Mapped[str | None] = mapped_column(String(2000))
    referrer: Mapped[str | None] = mapped_column(String(2000))
    language: Mapped[str | None] = mapped_column(String(35))
    # The language this customer is served in, chosen when the chat started: its pages,
    # emails, SMS and reminders.
    locale: Mapped[str] = mapped_column(String(5), default=Language.ENGLISH, server_default="en")
    device: Mapped[str | None] = mapped_column(String(8))

    # Auto follow-up. A client message starts a new cycle; nothing of an older
    # cycle may be sent. `chain_step_id` and `chain_due_at` are set while a
    # reminder is pending and cleared when the cycle ends; `chain_ended` says why
    # it ended (a ChainEnd), None until then.
    chain_cycle: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    chain_step_id: Mapped[int | None] = mapped_column(
        ForeignKey("auto_followup_steps.id", ondelete="SET NULL")
    )
    chain_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    chain_ended: Mapped[str | None] = mapped_column(String(16))
    autofollowup_paused: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # When the customer last said stop: the reports count opt-outs per period.
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_client_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_staff_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agent: Mapped[Agent] = relationship()
    customer: Mapped[Customer | None] = relationship()

    @hybrid_property
    def reminders_allowed(self) -> bool:
        """Auto follow-up may run here: on for its agent, not paused by staff, and the
        customer did not opt out. In SQL, the query joins the chat's Agent."""
        return (
            self.agent.autofollowup_enabled and not self.autofollowup_paused and not self.opted_out
        )

    @reminders_allowed.inplace.expression
    @classmethod
    def _reminders_allowed_sql(cls) -> ColumnElement[bool]:
        return and_(
            Agent.autofollowup_enabled.is_(True),
            cls.autofollowup_paused.is_(False),
            cls.opted_out.is_(False),
        )


class Message(db.Model):
    """One message of a chat; AI messages carry the token use of the call that wrote them."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_chat_id_id", "chat_id", "id"),
        # The reports: did the customer write back within 24 h of a reminder (per chat).
        Index("ix_messages_chat_role_created", "chat_id", "role", "created_at"),
        # The reports' AI figures: a period's messages, read from the index alone on
        # PostgreSQL (the columns they count ride along).
        Index(
            "ix_messages_created_at",
            "created_at",
            postgresql_include=[
                "chat_id",
                "role",
                "model",
                "model_failed",
                "prompt_tokens",
                "completion_tokens",
            ],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(8))
    content: Mapped[str] = mapped_column(Text, default="")
    mode: Mapped[str] = mapped_column(String(8), default=Mode.TEXT)
    # Something the chat UI should show beside the text, e.g. the follow-up form:
    # {"type": "followup_form", "prefill": {...}, "reason": ..., "summary": ...}.
    action: Mapped[dict | None] = mapped_column(JSON)
    model: Mapped[str | None] = mapped_column(String(100))
    # Set on reminders: the auto follow-up step that wrote this message.
    reminder_step_id: Mapped[int | None] = mapped_column(
        ForeignKey("auto_followup_steps.id", ondelete="SET NULL")
    )
    # True on the plain answer sent when the model failed (the follow-up offered instead).
    model_failed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    # On the AI's answer to a client message: that message. Unique, so a message has
    # one answer however many streams asked for it (services.chats.answer_message).
    reply_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), unique=True
    )
    # On a client message: when a stream took the turn of answering it; another may take
    # it over once this is older than the lease (a stream that died mid-answer).
    answer_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Texted messages: the Twilio SID of each part Twilio accepted, saved as each comes
    # back, so a send tried again never texts a part twice (services/channels.py).
    sms_sids: Mapped[list | None] = mapped_column(JSON)

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
    # The code the asking chat shows: whoever opens the link must type it, so a link
    # sent to somebody who did not ask for it logs nobody in. Only its hash is kept.
    code_hash: Mapped[str | None] = mapped_column(String(64))
    wrong_codes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
