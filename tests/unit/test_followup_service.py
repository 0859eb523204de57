"""Creating follow-ups: validation of every field, customer records, search and overdue."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from followup.errors import ValidationFailed
from followup.extensions import db
from followup.models import Customer, FollowUpRequest, Source, Status
from followup.services import followups
from followup.services.followup_settings import parse_response_time_hours
from followup.services.followups import Filters


def test_create_normalizes_email_and_phone(tenant):
    created = followups.create_followup(
        tenant.id,
        {
            "name": "  Ana  ",
            "email": "Ana@Example.COM",
            "phone": "+1 (415) 555-0101",
            "reason": "Call me",
        },
        source=Source.TEXT,
    )
    assert (created.name, created.email, created.phone) == (
        "Ana",
        "ana@example.com",
        "+14155550101",
    )
    assert created.status == Status.PENDING and created.source == Source.TEXT


def test_create_reports_every_bad_field_at_once_and_saves_nothing(tenant):
    with pytest.raises(ValidationFailed) as caught:
        followups.create_followup(
            tenant.id,
            {
                "name": "",
                "email": "not-an-email",
                "phone": "12",
                "reason": " ",
                "priority": "urgent",
            },
            source=Source.API,
        )
    assert set(caught.value.fields) == {"name", "email", "phone", "reason", "priority"}
    assert db.session.query(FollowUpRequest).count() == 0
    assert db.session.query(Customer).count() == 0


def test_guest_customer_is_created_once_per_tenant_and_email(tenant, other_tenant):
    data = {"name": "Ana", "email": "ana@example.com", "reason": "One"}
    first = followups.create_followup(tenant.id, data, source=Source.API)
    second = followups.create_followup(tenant.id, data | {"reason": "Two"}, source=Source.API)
    theirs = followups.create_followup(other_tenant.id, data, source=Source.API)
    assert first.customer_id == second.customer_id != theirs.customer_id
    assert db.session.get(Customer, first.customer_id).status == "guest"


def test_search_is_scoped_to_the_tenant(tenant, other_tenant, make_followup):
    make_followup(tenant, name="Shared Name")
    make_followup(other_tenant, name="Shared Name")
    page = followups.list_page(tenant.id, Filters.parse("shared"))
    assert [f.tenant_id for f in page.items] == [tenant.id]


@pytest.mark.parametrize("status", [None, Status.PENDING])
@pytest.mark.parametrize("q", ["", "refund"])
def test_list_pages_through_exactly_the_matching_requests_newest_first(
    tenant, other_tenant, make_followup, status, q
):
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    for n in range(13):
        reason = "Wants a refund" if n % 2 else "Asks for a quote"
        with time_machine.travel(start + timedelta(minutes=n // 2), tick=False):  # ties too
            made = make_followup(tenant, name=f"Person {n:02d}", reason=reason)
            make_followup(other_tenant, name=f"Other {n:02d}", reason=reason)
        if n % 3 == 0:
            followups.change_status(tenant.id, made.id, Status.CONTACTED, followups.Actor("t"))
    filters = Filters.parse(q, status)
    expected = [
        f.id
        for f in db.session.scalars(
            select(FollowUpRequest)
            .where(FollowUpRequest.tenant_id == tenant.id)
            .order_by(FollowUpRequest.created_at.desc(), FollowUpRequest.id.desc())
        )
        if (status is None or f.status == status) and q in f.reason
    ]
    shown, cursor = [], None
    while True:
        page = followups.list_page(tenant.id, filters, cursor, limit=3)
        shown += [row.id for row in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert expected and shown == expected


def test_list_rows_carry_what_a_card_shows(tenant, make_followup):
    high = make_followup(tenant, name="Ana", phone="+14155550101", priority="high")
    make_followup(tenant, name="Ben")
    rows = {row.name: row for row in followups.list_page(tenant.id, Filters()).items}
    assert rows["Ana"].id == high.id and rows["Ana"].phone == "+14155550101"
    assert rows["Ana"].is_high_priority and not rows["Ben"].is_high_priority
    assert rows["Ana"].created_at == high.created_at  # timezone-aware, like the model's


def test_overdue_only_for_pending_past_the_response_time(tenant, make_followup):
    followup = make_followup(tenant)
    created = followup.created_at
    assert not followups.is_overdue(followup, created + timedelta(hours=24, microseconds=-1))
    assert followups.is_overdue(followup, created + timedelta(hours=24))
    followup.status = Status.CONTACTED
    assert not followups.is_overdue(followup, created + timedelta(days=9))


@pytest.mark.parametrize(("raw", "hours"), [("1", 1), ("168", 168), (" 24 ", 24), (48, 48)])
def test_response_time_accepts_whole_hours_in_range(raw, hours):
    assert parse_response_time_hours(raw) == hours


@pytest.mark.parametrize("raw", ["0", "169", "1.5", "abc", "", None, True, 2.0, "-1"])
def test_response_time_refuses_everything_else(raw):
    with pytest.raises(ValidationFailed):
        parse_response_time_hours(raw)


def test_cursor_round_trips():
    cursor = followups.Cursor(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), 42)
    assert followups.Cursor.decode(cursor.encode()) == cursor
