"""The workers keep the reports' daily rollups: the cron job counts every tenant's days
still changing once per interval (one worker of many does it), and workers counting the
same day at once leave one set of rows. Real Redis; SQLite and PostgreSQL."""

from datetime import date

import time_machine
from sqlalchemy import func, select

from followup.extensions import db
from followup.jobs.reports import refresh_reports
from followup.models import ReportCount, ReportDay
from followup.services import report_rollups
from tests.helpers import reports as data
from tests.helpers.jobs import at_once


def rows_of(day: date) -> int:
    return db.session.scalar(select(func.count()).where(ReportCount.day == day))


def test_the_cron_job_counts_the_days_still_changing_once_per_interval(app, tenant, staff):
    data.build(tenant, staff.id)
    with time_machine.travel(data.NOW, tick=False):
        # Every day from the first request (26 March) to 2 April: never counted yet.
        assert [refresh_reports(), refresh_reports()] == [8, 0]
    days = db.session.scalars(select(ReportDay.day).where(ReportDay.tenant_id == tenant.id))
    assert date(2026, 4, 2) in set(days)


def test_workers_counting_one_day_at_once_leave_one_set_of_rows(app, tenant, staff):
    data.build(tenant, staff.id)
    day = date(2026, 3, 29)
    with time_machine.travel(data.NOW, tick=False):
        report_rollups.count_day(tenant.id, data.ZONE, day)
        once = rows_of(day)
        runs = at_once(3, lambda: report_rollups.count_day(tenant.id, data.ZONE, day))
    assert runs.errors == []
    assert rows_of(day) == once > 0
