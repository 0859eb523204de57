"""Export CSV: the Follow-Ups list as filtered, every page of it, streamed, in the tenant's
time zone, with spreadsheet formulas neutralised (web/admin/export.py)."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import time_machine
from flask import g

from followup.extensions import db
from followup.services import followup_export, followups

EXPORT = "/admin/followups/export.csv"


def exported(browser, query: str = "") -> list[dict]:
    vars(g).clear()
    response = browser.get(EXPORT + query)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_the_file_has_the_rows_of_the_filter_newest_first(
    staff_browser, tenant, other_tenant, make_followup
):
    wanted_old = make_followup(tenant, reason="Invoice for the boiler")
    make_followup(tenant, reason="Something else entirely")
    contacted = make_followup(tenant, reason="Invoice again")
    followups.change_status(tenant.id, contacted.id, "contacted", followups.Actor("Olivia"))
    wanted_new = make_followup(tenant, reason="Another invoice question")
    make_followup(other_tenant, reason="Their invoice")  # another tenant's: never exported

    rows = exported(staff_browser, "?q=invoice&status=pending")
    assert [int(row["id"]) for row in rows] == [wanted_new.id, wanted_old.id]
    everything = exported(staff_browser)
    assert len(everything) == 4
    assert {row["status"] for row in everything} == {"pending", "contacted"}


def test_the_columns_and_times_in_the_tenants_zone(staff_browser, staff, tenant, make_followup):
    tenant.timezone = "America/New_York"
    db.session.commit()
    with time_machine.travel(datetime(2026, 7, 1, 14, 30, tzinfo=UTC), tick=False):
        followup = make_followup(
            tenant, name="Ada", phone="+1 415 555 0100", summary="Asked twice.", priority="high"
        )
    with time_machine.travel(datetime(2026, 7, 1, 16, 5, tzinfo=UTC), tick=False):
        followups.change_status(tenant.id, followup.id, "contacted", followups.Actor("Olivia"))
        followups.assign(tenant.id, followup.id, staff.id, followups.Actor("Olivia", staff.id))
    (row,) = exported(staff_browser)
    assert ",".join(row) == (  # the header line, as the file has it
        "id,created (America/New_York),status,priority,source,name,email,phone,reason,"
        "summary,due (America/New_York),contacted (America/New_York),"
        "resolved (America/New_York),assignee"
    )
    assert row["created (America/New_York)"] == "2026-07-01 10:30:00"  # EDT, UTC-4
    assert row["due (America/New_York)"] == "2026-07-02 10:30:00"  # 24 h promised
    assert row["contacted (America/New_York)"] == "2026-07-01 12:05:00"
    assert row["assignee"] == staff.email
    assert row["resolved (America/New_York)"] == ""
    assert row["status"] == "contacted"
    assert row["priority"] == "high"
    assert row["source"] == "api"
    assert row["name"] == "Ada"
    assert row["summary"] == "Asked twice."
    assert row["phone"] == "'" + followup.phone  # "+..." would be a formula


def test_formulas_are_neutralised(staff_browser, tenant, make_followup):
    make_followup(tenant, name='=HYPERLINK("http://evil.example","x")', reason="+cmd|' /C calc'!A0")
    make_followup(tenant, name="@SUM(1+1)", reason="-2+3")
    make_followup(tenant, name="Plain Name", reason="Tab\tinside is fine")
    rows = {row["name"]: row for row in exported(staff_browser)}
    assert rows['\'=HYPERLINK("http://evil.example","x")']["reason"] == "'+cmd|' /C calc'!A0"
    assert rows["'@SUM(1+1)"]["reason"] == "'-2+3"
    assert rows["Plain Name"]["reason"] == "Tab\tinside is fine"


def test_cells_starting_with_tab_or_return_are_neutralised():
    assert followup_export.neutralised("\t=1+1") == "'\t=1+1"
    assert followup_export.neutralised("\r=1+1") == "'\r=1+1"
    assert followup_export.neutralised("a=1") == "a=1"
    assert followup_export.neutralised(None) == ""


def test_a_large_export_is_streamed_batch_by_batch(
    staff_browser, tenant, make_followup, monkeypatch
):
    monkeypatch.setattr(followup_export, "BATCH", 3)
    start = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    made = []
    for minutes in range(8):
        with time_machine.travel(start + timedelta(minutes=minutes // 2), tick=False):
            made.append(make_followup(tenant))  # two at a time share a creation time
    vars(g).clear()
    response = staff_browser.get(EXPORT)
    assert response.is_streamed
    chunks = list(response.response)
    # The mark, the header with the first batch, then one piece per batch: 3 + 3 + 2.
    assert len(chunks) == 4
    body = b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks).decode()
    ids = [int(row["id"]) for row in csv.DictReader(io.StringIO(body.lstrip("\ufeff")))]
    assert ids == [followup.id for followup in reversed(made)]  # each once, newest first


def test_the_page_has_the_export_button_with_its_filters(staff_browser, tenant):
    vars(g).clear()
    html = staff_browser.get("/admin/followups?q=boiler&status=pending").get_data(as_text=True)
    button = re.search(r'<a class="btn" id="export-button" href="([^"]+)"', html)
    assert button, "no Export CSV button"
    assert button.group(1) == "/admin/followups/export.csv?q=boiler&amp;status=pending"


def test_a_bad_filter_is_refused(staff_browser):
    vars(g).clear()
    response = staff_browser.get(EXPORT + "?status=nonsense")
    assert response.status_code in (400, 422)
    assert response.mimetype != "text/csv"


def test_the_export_needs_a_login(browser):
    response = browser.get(EXPORT)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
