"""The demo tenant as `make run` seeds it: its sample customers are as old as their requests."""

import re
from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import select

from followup.extensions import db
from followup.models import Chat, Customer, FollowUpRequest
from followup.services import demo, promise
from tests.helpers.staff import StaffBrowser

SEEDED_AT = datetime(2031, 5, 6, 10, 0, tzinfo=UTC)


def first_contact(customer: Customer) -> datetime:
    requests = select(FollowUpRequest.created_at).where(FollowUpRequest.customer_id == customer.id)
    chats = select(Chat.created_at).where(Chat.customer_id == customer.id)
    return min([*db.session.scalars(requests), *db.session.scalars(chats)])


def test_demo_customers_were_added_when_they_first_asked_not_when_seeded(app):
    with time_machine.travel(SEEDED_AT, tick=False):
        tenant = demo.seed()
        db.session.expire_all()
        customers = db.session.scalars(select(Customer).where(Customer.tenant_id == tenant.id))
        added = {c.name: c.created_at for c in customers}
        assert added == {c.name: first_contact(c) for c in db.session.scalars(select(Customer))}
        # Every sample asked two hours ago or earlier: none was added "just now".
        assert all(at <= SEEDED_AT - timedelta(hours=2) for at in added.values()), added
        assert len(added) == len(demo.SAMPLES)

    # An hour later, the Users page says so beside each of them.
    with time_machine.travel(SEEDED_AT + timedelta(hours=1), tick=False):
        browser = StaffBrowser(app.test_client())
        browser.login(demo.DEMO_EMAIL, demo.DEMO_PASSWORD)
        page = browser.get("/admin/users").get_data(as_text=True)
    shown = re.findall(r">added ([^<]+)</time>", page)
    assert len(shown) == len(demo.SAMPLES) and "just now" not in shown
    maria = added["Maria Garcia"]
    assert (
        f"added {(SEEDED_AT + timedelta(hours=1) - maria) // timedelta(hours=1)} hours ago" in page
    )


def test_demo_requests_are_due_from_when_they_were_asked_and_raise_no_alerts(app):
    with time_machine.travel(SEEDED_AT, tick=False):
        demo.seed()
        db.session.expire_all()
        requests = db.session.scalars(select(FollowUpRequest).order_by(FollowUpRequest.id))
        due = [(r.due_at - r.created_at, r.next_alert_at) for r in requests]
        assert due == [(timedelta(hours=24), None)] * len(demo.SAMPLES)
    with time_machine.travel(SEEDED_AT + timedelta(days=9), tick=False):
        assert promise.sweep() == 0
