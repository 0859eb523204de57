"""The daily rollups behind the reports: a report counts the days it has never counted,
the workers' pass counts again the days still changing, a follow-up changed after its
day was counted has that day counted again, and the page says how fresh it all is. On
the hand-made data set of tests/helpers/reports.py, on SQLite and PostgreSQL, with the
clock standing at the data set's "now" and moved by hand."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from followup.extensions import db
from followup.models import Message, ReportCount, ReportDay, ReportMark, Role
from followup.services import agents, followups, report_rollups, reports, tenant_settings
from followup.services.activity import Actor
from followup.services.reports import BacklogAge
from tests.helpers import reports as data
from tests.helpers.reports import NOW, add_followup, utc

STAFF = Actor("Olivia Owner")


@pytest.fixture
def dataset(tenant, staff):
    return data.build(tenant, staff.id)


@pytest.fixture
def period():
    return reports.period_of(data.ZONE, date_from=data.FIRST_DAY, date_to=data.LAST_DAY)


def marked_days(tenant_id: int) -> set[date]:
    marks = db.session.scalars(
        select(ReportMark.created_at).where(ReportMark.tenant_id == tenant_id)
    )
    return {report_rollups.local_day(at, data.ZONE) for at in marks}


def days_counted(tenant_id: int) -> int:
    return db.session.scalar(select(func.count()).where(ReportDay.tenant_id == tenant_id))


def test_a_report_counts_each_day_of_its_period_once(dataset, period, report_clock):
    tenant_id = dataset.tenant.id
    assert days_counted(tenant_id) == 0
    first = reports.report(tenant_id, period, 24)
    assert days_counted(tenant_id) == 7  # the week's (26 March's mark waits for the workers)
    rows = db.session.scalar(select(func.count()).select_from(ReportCount))
    assert rows > 0

    report_clock.shift(timedelta(minutes=5))
    again = reports.report(tenant_id, period, 24)
    # Read, not counted again: the same rows, the same figures, counted 5 minutes ago.
    assert db.session.scalar(select(func.count()).select_from(ReportCount)) == rows
    assert again.followups.per_day == first.followups.per_day
    assert again.as_of == first.as_of == NOW


def test_a_request_contacted_days_later_has_its_day_counted_again(dataset, period, report_clock):
    tenant_id = dataset.tenant.id
    late = add_followup(dataset.tenant, utc(3, 27, 9))  # a pending request of 27 Mar
    db.session.commit()
    before = reports.report(tenant_id, period, 24, now=NOW)
    assert before.followups.contacted == 5

    report_clock.shift(timedelta(hours=1))
    followups.change_status(tenant_id, late.id, "contacted", STAFF)
    assert db.session.scalar(select(func.count()).select_from(ReportMark)) >= 1

    after = reports.report(tenant_id, period, 24, now=NOW + timedelta(hours=1))
    assert after.followups.contacted == 6
    # Contacted 6 days after it was made: in the last bin, and past its promise.
    assert [b.count for b in after.followups.contact_bins][-1] == 1
    assert after.followups.within_promise == before.followups.within_promise
    # Its day is counted again; 26 March's mark waits for the workers.
    assert marked_days(tenant_id) == {date(2026, 3, 26)}


def test_the_workers_pass_counts_a_reply_that_came_after_the_day_was_counted(dataset, report_clock):
    """Bea's step of 1 April 10:00 UTC was answered 24 h and 1 s later (too late). A reply
    within its 24 h stored after the day was counted shows after the next pass."""
    tenant_id = dataset.tenant.id
    report_rollups.refresh(tenant_id)  # the data set's days
    assert marked_days(tenant_id) == set()
    today = reports.period_of(data.ZONE, date_from="2026-04-01", date_to="2026-04-02")
    before = reports.chain_figures(tenant_id, today)
    assert [(s.agent_name, s.sent, s.replied) for s in before.steps] == [("Bea", 1, 0)]

    report_clock.shift(timedelta(minutes=10))
    chat = dataset.chats["c3"]
    reply = Message(chat_id=chat.id, role=Role.CLIENT, content="Yes", created_at=utc(4, 2, 9))
    db.session.add(reply)
    db.session.commit()
    stale = reports.chain_figures(tenant_id, today)
    assert [s.replied for s in stale.steps] == [0]  # as of the last count

    assert report_rollups.refresh(tenant_id) == 2  # 1 and 2 April: the last 24 h
    fresh = reports.chain_figures(tenant_id, today)
    assert [s.replied for s in fresh.steps] == [1]


def test_as_of_is_the_oldest_count_of_a_day_that_could_still_change(dataset, report_clock):
    tenant_id = dataset.tenant.id
    week = reports.period_of(data.ZONE, date_from=data.FIRST_DAY, date_to=data.LAST_DAY)
    assert reports.report(tenant_id, week, 24).as_of == NOW

    report_clock.shift(timedelta(minutes=5))
    report_rollups.refresh(tenant_id)
    # The pass counted 1 and 2 April again; 27-31 March were final when first counted.
    assert reports.report(tenant_id, week, 24).as_of == NOW + timedelta(minutes=5)
    closed = reports.period_of(data.ZONE, date_from="2026-03-27", date_to="2026-03-28")
    assert reports.report(tenant_id, closed, 24).as_of == NOW


def test_a_new_time_zone_counts_every_day_again(dataset, period, tenant, report_clock):
    tenant_id = dataset.tenant.id
    reports.report(tenant_id, period, 24)
    assert days_counted(tenant_id) == 7
    tenant_settings.update_business(
        tenant_id,
        {
            "name": tenant.name,
            "contact_email": tenant.contact_email or "team@example.com",
            "timezone": "America/New_York",
        },
    )
    assert days_counted(tenant_id) == 0
    new_york = reports.period_of("America/New_York", date_from="2026-03-27", date_to="2026-04-02")
    per_day = reports.requests_per_day(tenant_id, new_york)
    # 28 Mar 23:30 UTC, made on 29 Mar in Berlin, is 28 Mar in New York (19:30 EDT); 2 Apr
    # 06:00 and 11:00 UTC are 02:00 and 07:00 there.
    assert [sum(day.values()) for day in per_day] == [1, 1, 2, 1, 1, 1, 2]


def test_counting_a_day_twice_leaves_one_set_of_rows(dataset, report_clock):
    tenant_id = dataset.tenant.id
    day = date.fromisoformat(data.FIRST_DAY)
    report_rollups.count_day(tenant_id, data.ZONE, day)
    rows = db.session.scalar(select(func.count()).where(ReportCount.day == day))
    report_rollups.count_day(tenant_id, data.ZONE, day)
    assert db.session.scalar(select(func.count()).where(ReportCount.day == day)) == rows > 0


def test_the_backlog_counts_old_requests_from_the_rollups_once_every_day_is(dataset, report_clock):
    """A month on, the four pending requests are all overdue. Until every day since the
    first request is counted they are counted live; then the rollups count those made
    before the longest promise (168 h) ago, and the answer is the same."""
    tenant_id = dataset.tenant.id
    later = NOW + timedelta(days=30)
    report_clock.move_to(later)
    recent_day = report_rollups.local_day(later - timedelta(hours=168), data.ZONE)
    overdue_only = {BacklogAge.ON_TIME: 0, BacklogAge.AT_RISK: 0, BacklogAge.OVERDUE: 4}
    assert report_rollups.pending_before(tenant_id, data.ZONE, recent_day, None) is None
    assert reports.backlog(tenant_id, now=later) == overdue_only

    # 26 March to 2 May, 38 days: the newest 31 and the six other days of the data set's
    # requests (marked when made); then 28 March, and 1 and 2 May (the last 24 h) again.
    assert [report_rollups.refresh(tenant_id), report_rollups.refresh(tenant_id)] == [37, 3]
    assert report_rollups.pending_before(tenant_id, data.ZONE, recent_day, None) == 4
    assert reports.backlog(tenant_id, now=later) == overdue_only
    assert reports.backlog(tenant_id, dataset.bea.id, now=later)[BacklogAge.OVERDUE] == 0


def test_time_to_contact_is_kept_in_buckets_that_start_on_their_minute(tenant, report_clock):
    """6-minute buckets under 72 hours, hourly ones after; a contact a second short of a
    bound is in the bucket before it (PostgreSQL's CAST would round it up)."""
    made = utc(3, 30, 8)
    for after in (
        timedelta(seconds=359),
        timedelta(minutes=6),
        timedelta(hours=5, minutes=59, seconds=59),
        timedelta(hours=72, minutes=59),
    ):
        add_followup(tenant, made, contacted_after=after)
    db.session.commit()
    report_rollups.count_day(tenant.id, data.ZONE, date(2026, 3, 30))
    keys = db.session.scalars(
        select(ReportCount.key).where(ReportCount.metric == "contact_minutes")
    )
    assert sorted(int(key) for key in keys) == [0, 6, 354, 4320]
    assert reports.median_of_buckets({0: 1, 6: 1, 354: 1, 4320: 1}) == (6 + 354) / 2 * 60


def test_a_day_counted_while_it_could_change_is_counted_again_after_its_window(
    dataset, report_clock
):
    """A page counted 2 April at noon; the workers were away for three days. Their first
    pass counts it again (its reminders could get replies until 3 April), the next not."""
    tenant_id = dataset.tenant.id
    today = reports.period_of(data.ZONE, date_from=data.LAST_DAY, date_to=data.LAST_DAY)
    reports.report(tenant_id, today, 24)
    report_clock.move_to(NOW + timedelta(days=3))
    report_rollups.refresh(tenant_id)
    counted = db.session.scalar(
        select(ReportDay.computed_at).where(ReportDay.day == date(2026, 4, 2))
    )
    assert counted == NOW + timedelta(days=3)
    report_clock.shift(timedelta(minutes=5))
    report_rollups.refresh(tenant_id)
    assert db.session.scalar(
        select(ReportDay.computed_at).where(ReportDay.day == date(2026, 4, 2))
    ) == NOW + timedelta(days=3)


def test_a_chain_that_ends_later_has_the_day_of_its_last_reminder_counted_again(
    dataset, period, report_clock
):
    tenant_id = dataset.tenant.id
    assert reports.chain_figures(tenant_id, period).exhausted == 1  # c2's, on 31 March
    chat = dataset.chats["c1"]  # its last reminder: 30 March
    chat.chain_ended = "exhausted"
    db.session.commit()
    assert date(2026, 3, 30) in marked_days(tenant_id)
    assert reports.chain_figures(tenant_id, period).exhausted == 2


def test_a_deleted_step_takes_its_reminders_out_of_the_counted_days(dataset, period, report_clock):
    tenant_id = dataset.tenant.id
    before = reports.chain_figures(tenant_id, period)
    assert (before.sent, [s.position for s in before.steps if s.agent_name == "Alex"]) == (
        6,
        [1, 2],
    )
    step = dataset.steps["s2"]  # Alex's second: sent on 30 and 31 March
    agents.remove_step(tenant_id, step.agent_id, step.id)
    assert marked_days(tenant_id) >= {date(2026, 3, 30), date(2026, 3, 31)}
    after = reports.chain_figures(tenant_id, period)
    assert after.sent == 4
    assert sum(row.sent for row in after.employees) == sum(row.sent for row in after.steps)


def test_one_tenant_failing_leaves_the_others_counted(dataset, report_clock, other_tenant):
    broken = dataset.tenant
    broken.timezone = "Mars/Olympus_Mons"  # not a zone: its count fails
    db.session.commit()
    assert report_rollups.refresh_all() >= 1  # the other tenant's days
    assert days_counted(other_tenant.id) >= 1
    assert days_counted(broken.id) == 0
