"""Every figure of the reports on the hand-made data set of tests/helpers/reports.py,
with the expected values worked out by hand, on SQLite and PostgreSQL, across the
spring change of daylight saving time (and the autumn one for the days)."""

from datetime import timedelta
from decimal import Decimal

import pytest

from followup.errors import ValidationFailed
from followup.extensions import db
from followup.models import Source
from followup.services import reports
from followup.services.reports import BacklogAge, ReportSource
from tests.helpers import reports as data
from tests.helpers.reports import NOW, add_followup, utc

API, CHAT, VOICE, SMS = ReportSource.API, ReportSource.CHAT, ReportSource.VOICE, ReportSource.SMS


@pytest.fixture
def dataset(tenant, staff):
    return data.build(tenant, staff.id)


@pytest.fixture
def period():
    return reports.period_of(data.ZONE, date_from=data.FIRST_DAY, date_to=data.LAST_DAY)


def counts(per_day, source):
    return [day[source] for day in per_day]


def test_the_period_is_local_days_and_the_spring_sunday_has_23_hours(period):
    days = period.days()
    assert [d.label for d in days][:3] == ["27 Mar", "28 Mar", "29 Mar"]
    assert len(days) == 7
    assert days[2].start == utc(3, 28, 23)  # midnight CET
    assert days[2].end == utc(3, 29, 22)  # midnight CEST
    assert [(w.label, w.end - w.start) for w in period.weeks()] == [
        ("Week of 27 Mar", timedelta(hours=71)),
        ("Week of 30 Mar", timedelta(hours=96)),
    ]


def test_requests_per_day_by_source(dataset, period):
    per_day = reports.requests_per_day(dataset.tenant.id, period)
    assert counts(per_day, API) == [1, 0, 0, 1, 1, 1, 2]
    assert counts(per_day, CHAT) == [0, 0, 1, 0, 0, 0, 0]
    assert counts(per_day, VOICE) == [0, 0, 1, 0, 0, 0, 0]
    assert counts(per_day, SMS) == [0, 0, 0, 1, 0, 0, 0]


def test_requests_of_one_employee(dataset, period):
    per_day = reports.requests_per_day(dataset.tenant.id, period, dataset.alex.id)
    assert counts(per_day, CHAT) == [0, 0, 1, 0, 0, 0, 0]
    assert counts(per_day, SMS) == [0, 0, 0, 1, 0, 0, 0]
    assert counts(per_day, API) == [0] * 7


def test_time_to_first_contact_in_bins_around_the_promise(dataset, period):
    bins = reports.contact_bins(dataset.tenant.id, period, 24)
    assert [(b.label, b.count) for b in bins] == [
        ("0-1 h", 0),
        ("1-4 h", 2),  # 1 h exactly, 2 h
        ("4-8 h", 1),
        ("8-24 h", 1),
        ("24-48 h", 1),
        ("48-72 h", 0),
        ("72 h +", 0),
    ]
    # A promise between the usual bounds becomes one, so it can be marked.
    assert [b.low_hours for b in reports.contact_bins(dataset.tenant.id, period, 12)][4] == 12


def test_share_contacted_within_the_promise(dataset, period):
    # Contacted: 5; within: 2 h, 6 h, 10 h, 1 h; decided: those 5 and one pending overdue.
    assert reports.promise_totals(dataset.tenant.id, period, now=NOW) == (5, 4, 6)
    weeks = reports.promise_per_week(dataset.tenant.id, period, now=NOW)
    assert [(w.decided, w.within_promise) for w in weeks] == [(3, 2), (3, 2)]


def test_backlog_by_age_uses_the_stored_promise(dataset):
    assert reports.backlog(dataset.tenant.id, now=NOW) == {
        BacklogAge.ON_TIME: 1,
        BacklogAge.AT_RISK: 1,  # 6 h of 8: at risk from that instant on
        BacklogAge.OVERDUE: 2,
    }
    just_before = NOW - timedelta(seconds=1)
    assert reports.backlog(dataset.tenant.id, now=just_before)[BacklogAge.AT_RISK] == 0


def test_per_assignee_with_the_median_time_to_contact(dataset, period, staff):
    rows = reports.per_assignee(dataset.tenant.id, period, now=NOW)
    assert [(r.name, r.requests, r.handled, r.decided, r.within_promise) for r in rows] == [
        ("Olivia Owner", 4, 4, 4, 3),
        ("Unassigned", 5, 1, 2, 1),
    ]
    # 1 h, 2 h, 10 h, 30 h: the mean of the middle two; 6 h alone.
    assert [r.median_contact_seconds for r in rows] == [6 * 3600, 6 * 3600]
    own = reports.per_assignee(dataset.tenant.id, period, only_assignee=staff.id, now=NOW)
    assert [r.name for r in own] == ["Olivia Owner"]


def test_a_member_without_a_name_is_listed_by_email(dataset, period, staff):
    staff.name = ""
    db.session.commit()
    rows = reports.per_assignee(dataset.tenant.id, period, now=NOW)
    assert [r.name for r in rows] == ["owner@acme.example", "Unassigned"]


def test_the_median_of_an_odd_count(dataset, period):
    add_followup(dataset.tenant, utc(4, 2, 7), contacted_after=timedelta(hours=3))
    db.session.commit()
    rows = reports.per_assignee(dataset.tenant.id, period, now=NOW)
    assert rows[-1].median_contact_seconds == 4.5 * 3600  # 3 h and 6 h
    add_followup(dataset.tenant, utc(4, 2, 8), contacted_after=timedelta(hours=1))
    db.session.commit()
    rows = reports.per_assignee(dataset.tenant.id, period, now=NOW)
    assert rows[-1].median_contact_seconds == 3 * 3600  # 1 h, 3 h, 6 h


def test_auto_followup_per_employee_and_step(dataset, period):
    chains = reports.chain_figures(dataset.tenant.id, period)
    assert [
        (e.name, e.chats, e.sent, e.replied, e.exhausted, e.opted_out) for e in chains.employees
    ] == [("Alex", 2, 5, 2, 1, 1), ("Bea", 1, 1, 0, 0, 0)]
    assert (chains.chats, chains.sent, chains.replied, chains.exhausted, chains.opted_out) == (
        3,
        6,
        2,
        1,
        1,
    )
    assert [(s.agent_name, s.position, s.sent, s.replied) for s in chains.steps] == [
        ("Alex", 1, 3, 1),
        ("Alex", 2, 2, 1),
        ("Bea", 1, 1, 0),  # the answer came 24 h and 1 s later
    ]
    only_bea = reports.chain_figures(dataset.tenant.id, period, dataset.bea.id)
    assert (only_bea.sent, [s.position for s in only_bea.steps]) == (1, [1])


def test_ai_figures_tokens_and_cost(dataset, period):
    ai = reports.ai_figures(dataset.tenant.id, period)
    assert [
        (
            e.name,
            e.conversations,
            e.customer_messages,
            e.handoffs,
            e.model_failures,
            e.input_tokens,
            e.output_tokens,
        )
        for e in ai.employees
    ] == [("Alex", 2, 4, 2, 1, 1300, 560), ("Bea", 2, 2, 1, 0, 50, 10)]
    assert ai.handoff_share == 0.75
    alex, bea = dataset.alex.id, dataset.bea.id
    assert [(t.day, t.agent_id, t.input_tokens, t.output_tokens) for t in ai.token_days] == [
        (1, alex, 100, 20),
        (3, alex, 1000, 500),
        (4, alex, 200, 40),
        (5, bea, 50, 10),
    ]
    assert [(m.model, m.input_tokens, m.output_tokens, m.cost) for m in ai.models] == [
        ("gpt-x", 350, 70, Decimal("0.001575")),
        ("gpt-y", 1000, 500, None),  # no price set: no cost
    ]
    assert ai.cost == Decimal("0.001575")


def test_an_agent_sees_only_their_own_row(dataset, period, staff):
    report = reports.report(dataset.tenant.id, period, 24, only_assignee=staff.id, now=NOW)
    assert report.own_row_only
    assert [r.name for r in report.assignees] == ["Olivia Owner"]
    assert (report.followups, report.chains, report.ai) == (None, None, None)


def test_another_tenants_rows_never_count(dataset, period, other_tenant):
    add_followup(other_tenant, utc(3, 27, 10), contacted_after=timedelta(hours=1))
    db.session.commit()
    assert counts(reports.requests_per_day(dataset.tenant.id, period), API)[0] == 1
    assert reports.backlog(other_tenant.id, now=NOW)[BacklogAge.OVERDUE] == 0
    assert reports.chain_figures(other_tenant.id, period).sent == 0


def test_the_autumn_sunday_has_25_hours(tenant):
    add_followup(tenant, utc(10, 24, 22, 30), Source.API)  # 00:30 CEST on 25 Oct
    add_followup(tenant, utc(10, 25, 22, 30), Source.API)  # 23:30 CET on 25 Oct
    add_followup(tenant, utc(10, 25, 23, 30), Source.API)  # 00:30 CET on 26 Oct
    db.session.commit()
    period = reports.period_of(data.ZONE, date_from="2026-10-24", date_to="2026-10-26")
    assert period.days()[1].end - period.days()[1].start == timedelta(hours=25)
    assert counts(reports.requests_per_day(tenant.id, period), API) == [0, 2, 1]


def test_last_days_end_today_in_the_tenants_zone():
    late_evening = utc(4, 2, 22, 30)  # already 3 April in Berlin
    period = reports.period_of(data.ZONE, "7", now=late_evening)
    assert (str(period.first_day), str(period.last_day)) == ("2026-03-28", "2026-04-03")
    assert period.description == "the last 7 days"


@pytest.mark.parametrize(
    ("arguments", "field", "words"),
    [
        ({"last_days": "14"}, "days", "choose the last 7, 30, 90 days"),
        ({"date_from": "2026-04-02", "date_to": "2026-04-01"}, "to", "on or after From"),
        ({"date_from": "2026-04-02"}, "to", "give both dates"),
        ({"date_from": "yesterday", "date_to": "2026-04-01"}, "from", "YYYY-MM-DD"),
        ({"date_from": "2025-01-01", "date_to": "2026-04-01"}, "to", "at most 366 days"),
    ],
)
def test_a_bad_period_is_refused_in_our_words(arguments, field, words):
    with pytest.raises(ValidationFailed) as refused:
        reports.period_of(data.ZONE, **arguments)
    assert words in refused.value.fields[field]
