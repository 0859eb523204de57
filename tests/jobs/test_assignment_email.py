"""The assignee hears of a request someone else gave them: an email through the outbox,
staged with the assignment (never when they take it themselves), retried like any."""

import pytest

from followup.jobs.notifications import deliver_notifications
from followup.services import followups, notifications, staff_accounts
from followup.services.activity import Actor
from tests.helpers.jobs import configure_tenant, outbox_rows


@pytest.fixture
def agent(tenant):
    return staff_accounts.create_staff_user(
        "acme", "agent@acme.example", "a long enough password", name="Aaron Agent"
    )


def assignment_rows() -> list[dict]:
    return [row for row in outbox_rows() if row["kind"] == "assigned"]


def test_each_assignment_by_someone_else_emails_the_assignee(
    app, tenant, make_followup, staff, agent, smtp
):
    configure_tenant(tenant, customer_confirmation_enabled=False)
    followup = make_followup(tenant, name="Ann Lee")
    by_owner, by_agent = Actor("Olivia", staff.id), Actor("Aaron Agent", agent.id)
    followups.assign(tenant.id, followup.id, agent.id, by_owner)
    followups.assign(tenant.id, followup.id, staff.id, by_agent)  # the owner gets it back
    followups.assign(tenant.id, followup.id, agent.id, by_agent)  # takes it: no email
    followups.assign(tenant.id, followup.id, None, by_agent)
    followups.assign(tenant.id, followup.id, agent.id, by_owner)  # again: a new email
    rows = assignment_rows()
    assert [(row["staff_user_id"], row["recipient"]) for row in rows] == [
        (agent.id, "agent@acme.example"),
        (staff.id, staff.email),
        (agent.id, "agent@acme.example"),
    ]
    for row in rows:
        deliver_notifications([row["id"]])
    first = smtp.received()[0]
    assert first.rcpt_tos == ["agent@acme.example"]
    assert first.message["Subject"] == "Assigned to you: follow-up request from Ann Lee"
    assert "The follow-up request from Ann Lee was assigned to you." in first.part("plain")
    assert f"/admin/followups/{followup.id}" in first.part("plain")
    assert {row["state"] for row in assignment_rows()} == {"sent"}


def test_bulk_assignment_emails_the_assignee_once_per_request(
    app, tenant, make_followup, staff, agent
):
    ids = [make_followup(tenant).id for _ in range(3)]
    followups.bulk_assign(tenant.id, ids, agent.id, Actor("Olivia", staff.id))
    assert sorted(row["followup_id"] for row in assignment_rows()) == ids


def test_a_failed_assignment_email_is_retried_by_its_id(
    app, tenant, make_followup, staff, agent, smtp
):
    followup = make_followup(tenant)
    followups.assign(tenant.id, followup.id, agent.id, Actor("Olivia", staff.id))
    (row,) = assignment_rows()
    smtp.stop()
    deliver_notifications([row["id"]])
    smtp.start()
    retried = notifications.retry_now(tenant.id, followup.id, str(row["id"]))
    assert (retried.kind, retried.recipient, retried.state) == (
        "assigned",
        "agent@acme.example",
        "pending",
    )
    deliver_notifications([row["id"]])
    assert [mail.rcpt_tos for mail in smtp.received()] == [["agent@acme.example"]]
