"""The promise as a clock: a request nobody has contacted raises one "at risk" alert at
75% of the promised time and one "overdue" alert at 100%, to its assignee or else the
team, by email and (where set up) SMS, through the outbox. The sweep is called as the
worker's cron calls it; the clock is moved, not waited for."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from followup.extensions import db
from followup.jobs.notifications import deliver_notifications, sweep_promises
from followup.models import FollowUpRequest, PromiseState, promise_clock
from followup.services import followups, promise, staff_accounts, team
from followup.services.activity import Actor
from tests.helpers.jobs import at_once, configure_tenant, outbox_rows

START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
TEAM_PHONE = "+14155550123"
ALERT_KINDS = ("at_risk", "overdue")


def alerts() -> list[tuple[int, str, str, str]]:
    """The outbox's promise alerts: (request id, kind, channel, recipient), oldest first."""
    return [
        (row["followup_id"], row["kind"], row["channel"], row["recipient"])
        for row in outbox_rows()
        if row["kind"] in ALERT_KINDS
    ]


def deliver_alerts() -> None:
    for row in outbox_rows():
        if row["kind"] in ALERT_KINDS:
            deliver_notifications([row["id"]])


@pytest.fixture
def quiet_tenant(tenant):
    """No customer confirmations: the outbox holds the team's messages only."""
    return configure_tenant(tenant, customer_confirmation_enabled=False)


@pytest.fixture
def agent(tenant):
    return staff_accounts.create_staff_user(
        "acme", "agent@acme.example", "a long enough password", name="Aaron Agent"
    )


def test_at_risk_at_75_percent_then_overdue_at_100_each_once(
    app, quiet_tenant, make_followup, smtp, twilio
):
    configure_tenant(quiet_tenant, sms_enabled=True, contact_phone=TEAM_PHONE)
    with time_machine.travel(START, tick=False) as clock:
        followup = make_followup(quiet_tenant, name="Ann Lee")  # promised within 24 h
        clock.move_to(START + timedelta(hours=18) - timedelta(seconds=1))
        assert (promise.sweep(), alerts()) == (0, [])
        clock.move_to(START + timedelta(hours=18))
        assert promise.sweep() == 1
        at_risk = [
            (followup.id, "at_risk", "staff_email", "team@acme.example"),
            (followup.id, "at_risk", "staff_sms", TEAM_PHONE),
        ]
        assert alerts() == at_risk
        clock.move_to(START + timedelta(hours=23, minutes=59))
        assert (promise.sweep(), alerts()) == (0, at_risk)
        clock.move_to(START + timedelta(hours=24, minutes=20))
        assert promise.sweep() == 1
        overdue = [
            (followup.id, "overdue", "staff_email", "team@acme.example"),
            (followup.id, "overdue", "staff_sms", TEAM_PHONE),
        ]
        assert alerts() == at_risk + overdue
        clock.move_to(START + timedelta(days=30))
        assert (promise.sweep(), alerts()) == (0, at_risk + overdue)
        deliver_alerts()
    subjects = [mail.message["Subject"] for mail in smtp.received()]
    assert subjects == [
        "At risk: follow-up request from Ann Lee, due in 6 h",
        "Overdue: follow-up request from Ann Lee",
    ]
    overdue_mail = smtp.received()[1].part("plain")
    assert "is overdue by 20 min: the promised 24-hour response time has passed" in overdue_mail
    assert f"/admin/followups/{followup.id}" in overdue_mail
    assert [sms.body.splitlines()[0] for sms in twilio.messages] == [
        "At risk: follow-up request due in 6 h",
        "Overdue: follow-up request overdue by 20 min",
    ]
    assert {row["state"] for row in outbox_rows() if row["kind"] in ALERT_KINDS} == {"sent"}


def test_a_request_contacted_before_75_percent_raises_no_alert(
    app, quiet_tenant, make_followup, staff
):
    with time_machine.travel(START, tick=False) as clock:
        followup = make_followup(quiet_tenant)
        clock.move_to(START + timedelta(hours=17))
        followups.change_status(quiet_tenant.id, followup.id, "contacted", Actor("Olivia"))
        for hours in (18, 24, 100):
            clock.move_to(START + timedelta(hours=hours))
            assert promise.sweep() == 0
    assert alerts() == []


@pytest.mark.parametrize("closed_as", ["cancelled", "contacted"])
def test_a_request_closed_after_its_at_risk_alert_raises_no_overdue_one(
    app, quiet_tenant, make_followup, closed_as
):
    with time_machine.travel(START, tick=False) as clock:
        followup = make_followup(quiet_tenant)
        clock.move_to(START + timedelta(hours=20))
        assert promise.sweep() == 1
        followups.change_status(quiet_tenant.id, followup.id, closed_as, Actor("Olivia"))
        clock.move_to(START + timedelta(hours=25))
        assert promise.sweep() == 0
    assert [kind for _, kind, _, _ in alerts()] == ["at_risk"]


def test_a_request_first_seen_past_its_due_time_raises_only_the_overdue_alert(
    app, quiet_tenant, make_followup
):
    with time_machine.travel(START, tick=False) as clock:
        followup = make_followup(quiet_tenant)
        clock.move_to(START + timedelta(hours=30))  # the workers were down meanwhile
        assert promise.sweep() == 1
    assert alerts() == [(followup.id, "overdue", "staff_email", "team@acme.example")]


def test_the_response_time_in_force_at_creation_counts(app, quiet_tenant, make_followup):
    with time_machine.travel(START, tick=False) as clock:
        followup = make_followup(quiet_tenant)  # 24 h
        configure_tenant(quiet_tenant, response_time_hours=2)
        clock.move_to(START + timedelta(hours=2))
        assert promise.sweep() == 0  # 2 h of 24: nothing yet
        clock.move_to(START + timedelta(hours=18))
        assert promise.sweep() == 1
        later = make_followup(quiet_tenant)  # 2 h from now on
        clock.move_to(START + timedelta(hours=19, minutes=30))
        assert promise.sweep() == 1
    stored = db.session.get(FollowUpRequest, later.id)
    assert (stored.response_time_hours, stored.due_at) == (2, START + timedelta(hours=20))
    assert [(i, kind) for i, kind, _, _ in alerts()] == [
        (followup.id, "at_risk"),
        (later.id, "at_risk"),
    ]


def test_the_assignee_gets_the_alerts_of_their_request_and_the_team_once_they_left(
    app, quiet_tenant, make_followup, staff, agent
):
    with time_machine.travel(START, tick=False) as clock:
        followup = make_followup(quiet_tenant)
        followups.assign(quiet_tenant.id, followup.id, agent.id, Actor("Olivia", staff.id))
        clock.move_to(START + timedelta(hours=18))
        promise.sweep()
        team.deactivate(staff, agent.id)
        clock.move_to(START + timedelta(hours=24))
        promise.sweep()
    assert alerts() == [
        (followup.id, "at_risk", "staff_email", "agent@acme.example"),
        (followup.id, "overdue", "staff_email", "team@acme.example"),
    ]


def test_two_workers_sweeping_at_once_raise_each_alert_once(app, quiet_tenant, make_followup):
    with time_machine.travel(START, tick=False) as clock:
        due = [make_followup(quiet_tenant) for _ in range(3)]
        clock.move_to(START + timedelta(hours=19))
        runs = at_once(4, promise.sweep)
    assert (runs.errors, sum(runs.results)) == ([], 3)
    assert sorted(i for i, _, _, _ in alerts()) == sorted(f.id for f in due)


def test_the_cron_job_sweeps_once_per_interval(app, quiet_tenant, make_followup, redis_db):
    with time_machine.travel(START, tick=False) as clock:
        make_followup(quiet_tenant)
        make_followup(quiet_tenant)
        clock.move_to(START + timedelta(hours=19))
        assert [sweep_promises(), sweep_promises()] == [2, 0]


@pytest.mark.parametrize(
    ("after", "state", "words"),
    [
        (timedelta(0), PromiseState.ON_TIME, "due in 24 h"),
        (timedelta(seconds=30), PromiseState.ON_TIME, "due in 24 h"),
        (timedelta(hours=5, minutes=31), PromiseState.ON_TIME, "due in 18 h"),
        (timedelta(hours=20, minutes=40), PromiseState.AT_RISK, "due in 3 h 20 min"),
        (timedelta(hours=21), PromiseState.AT_RISK, "due in 3 h"),
        (timedelta(hours=23, minutes=40), PromiseState.AT_RISK, "due in 20 min"),
        (timedelta(hours=23, minutes=59, seconds=30), PromiseState.AT_RISK, "due in 1 min"),
        (timedelta(hours=24), PromiseState.OVERDUE, "overdue by 1 min"),
        (timedelta(hours=24, minutes=20), PromiseState.OVERDUE, "overdue by 20 min"),
        (timedelta(hours=27), PromiseState.OVERDUE, "overdue by 3 h"),
        (timedelta(hours=40, minutes=29), PromiseState.OVERDUE, "overdue by 16 h"),
        (timedelta(days=4), PromiseState.OVERDUE, "overdue by 3 d"),
    ],
)
def test_the_clock_says_the_time_left_or_past(after, state, words):
    clock = promise_clock(START, 24, START + timedelta(hours=24), START + after)
    assert (clock.state, clock.words) == (state, words)
