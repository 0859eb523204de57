"""Customers of a tenant as staff see them: the list, one customer, their chats.

Every query is scoped to the tenant; another tenant's ids are NotFound. Lists are
bounded: the customer list is paged by keyset, a customer's follow-ups, chats
and transcripts are capped and say how many there are in all.
"""

from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import and_, func, or_, select

from followup.errors import NotFound
from followup.extensions import db
from followup.locales import staff_text
from followup.models import (
    Chat,
    Customer,
    CustomerStatus,
    FollowUpRequest,
    Message,
)
from followup.services.conversations import Conversation, conversation_of
from followup.services.followups import Cursor
from followup.services.queries import LIKE_ESCAPE, MAX_ID, contains_pattern, tenant_row
from followup.services.validation import FieldErrors, search_text, status_filter, whole_number

CUSTOMER_STATUSES = tuple(CustomerStatus)
DETAIL_FOLLOWUPS_LIMIT = 50
DETAIL_CHATS_LIMIT = 50
TRANSCRIPT_LIMIT = 500


@dataclass(frozen=True)
class Filters:
    q: str = ""
    status: str | None = None

    @classmethod
    def parse(cls, q: object = None, status: object = None) -> "Filters":
        errors = FieldErrors()
        text = errors.check(search_text, q)
        chosen = errors.check(status_filter, status, CUSTOMER_STATUSES)
        errors.raise_if_any()
        return cls(q=text, status=chosen)


@dataclass(frozen=True)
class CustomerRow:
    customer: Customer
    followup_count: int
    chat_count: int


@dataclass(frozen=True)
class Page:
    rows: list[CustomerRow]
    next_cursor: str | None


_NEWEST_FIRST = (Customer.created_at.desc(), Customer.id.desc())


def _filtered(tenant_id: int, filters: Filters):
    query = select(Customer).where(Customer.tenant_id == tenant_id)
    if filters.status:
        query = query.where(Customer.status == filters.status)
    if filters.q:
        pattern = contains_pattern(filters.q)
        # Emails are stored lowercased; names are not.
        query = query.where(
            or_(
                func.lower(Customer.name).like(pattern, escape=LIKE_ESCAPE),
                Customer.email.like(pattern, escape=LIKE_ESCAPE),
            )
        )
    return query


def _after(cursor: str):
    after = Cursor.decode(cursor)
    return or_(
        Customer.created_at < after.created_at,
        and_(Customer.created_at == after.created_at, Customer.id < after.id),
    )


def _counts_by_customer(model, tenant_id: int, customer_ids: list[int]) -> dict[int, int]:
    if not customer_ids:
        return {}
    rows = db.session.execute(
        select(model.customer_id, func.count())
        .where(model.tenant_id == tenant_id, model.customer_id.in_(customer_ids))
        .group_by(model.customer_id)
    )
    return {customer_id: count for customer_id, count in rows}


def list_page(tenant_id: int, filters: Filters, cursor: str | None = None, limit: int = 25) -> Page:
    """One page of customers, newest first, with their follow-up and chat counts."""
    query = _filtered(tenant_id, filters)
    if cursor:
        query = query.where(_after(cursor))
    found = list(db.session.scalars(query.order_by(*_NEWEST_FIRST).limit(limit + 1)))
    customers = found[:limit]
    ids = [customer.id for customer in customers]
    followup_counts = _counts_by_customer(FollowUpRequest, tenant_id, ids)
    chat_counts = _counts_by_customer(Chat, tenant_id, ids)
    rows = [
        CustomerRow(c, followup_counts.get(c.id, 0), chat_counts.get(c.id, 0)) for c in customers
    ]
    more = len(found) > limit
    next_cursor = Cursor(customers[-1].created_at, customers[-1].id).encode() if more else None
    return Page(rows, next_cursor)


def get_customer(tenant_id: int, customer_id: int) -> Customer:
    return tenant_row(Customer, tenant_id, customer_id, staff_text("No such customer."))


@dataclass(frozen=True)
class ChatSummary:
    chat: Chat
    message_count: int


@dataclass(frozen=True)
class CustomerDetail:
    customer: Customer
    followups: list[FollowUpRequest]
    followup_total: int
    chats: list[ChatSummary]
    chat_total: int


def _count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.subquery()))


def customer_detail(tenant_id: int, customer_id: int) -> CustomerDetail:
    """The customer with their newest follow-ups and chats (capped; totals given)."""
    customer = get_customer(tenant_id, customer_id)
    followups = select(FollowUpRequest).where(
        FollowUpRequest.tenant_id == tenant_id, FollowUpRequest.customer_id == customer.id
    )
    chats = select(Chat).where(Chat.tenant_id == tenant_id, Chat.customer_id == customer.id)
    message_count = (
        select(func.count(Message.id)).where(Message.chat_id == Chat.id).scalar_subquery()
    )
    chat_rows = db.session.execute(
        chats.add_columns(message_count)
        .order_by(Chat.last_message_at.desc(), Chat.id.desc())
        .limit(DETAIL_CHATS_LIMIT)
    )
    return CustomerDetail(
        customer=customer,
        followups=list(
            db.session.scalars(
                followups.order_by(
                    FollowUpRequest.created_at.desc(), FollowUpRequest.id.desc()
                ).limit(DETAIL_FOLLOWUPS_LIMIT)
            )
        ),
        followup_total=_count(followups),
        chats=[ChatSummary(chat, count) for chat, count in chat_rows],
        chat_total=_count(chats),
    )


def parse_chat_id(raw: str) -> int:
    """The `chat` query argument; anything but an id names no chat."""
    chat_id = whole_number(raw, MAX_ID)
    if not chat_id:
        raise NotFound(gettext("No such chat."))
    return chat_id


def transcript(tenant_id: int, customer_id: int, chat_id: int) -> Conversation:
    """One chat of this customer with its latest messages, oldest first, and its token use."""
    chat = db.session.scalar(
        select(Chat).where(
            Chat.id == chat_id, Chat.tenant_id == tenant_id, Chat.customer_id == customer_id
        )
    )
    if chat is None:
        raise NotFound(gettext("No such chat."))
    return conversation_of(chat, TRANSCRIPT_LIMIT)
