"""The reports page in real Chromium, at desktop and phone size: with the hand-made data
set (tests/helpers/reports.py) the charts draw, a chart's Data table opens and its CSV
downloads; with nothing in the period the page says so; axe finds no violation."""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from followup.extensions import db
from followup.models import StaffUser, Tenant
from tests.helpers import reports as data
from tests.helpers.accessibility import assert_accessible
from tests.helpers.browser import SCREENS, screenshot, staff_login

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]
WITH_DATA = f"/admin/reports?from={data.FIRST_DAY}&to={data.LAST_DAY}"
EMPTY = "/admin/reports?from=2026-01-05&to=2026-01-11"


def with_report_data(live_server) -> None:
    with live_server.app.app_context():
        tenant = db.session.query(Tenant).filter_by(slug="acme").one()
        owner = db.session.query(StaffUser).filter_by(tenant_id=tenant.id).one()
        data.build(tenant, owner.id)
        db.session.remove()


def _size(viewport) -> str:
    return "phone" if viewport is PHONE else "desktop"


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_reports_draw_and_give_their_numbers(page: Page, live_server, seeded, viewport):
    with_report_data(live_server)
    staff_login(page, WITH_DATA)
    expect(page.get_by_role("heading", name="Reports", level=1)).to_be_visible()
    nav = page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports")
    expect(nav).to_have_attribute("aria-current", "page")
    requests = page.locator("#chart-requests")
    expect(requests.get_by_role("heading")).to_have_text("9 follow-up requests, most via API")
    expect(page.locator("svg.chart")).to_have_count(7)
    expect(page.locator("#chart-contact .chart-marker-label")).to_have_text("Promise: 24 h")
    ratings = page.locator("#chart-satisfaction").get_by_role("heading")
    expect(ratings).to_have_text("3.7 average from 3 ratings")
    expect(page.locator("#report-comments li").first).to_contain_text(
        "<script>alert(1)</script> too slow"
    )
    screenshot(page, f"reports-{_size(viewport)}")
    # Charts up close: their text must be readable.
    for key in ("requests", "contact", "satisfaction"):
        SCREENS.mkdir(parents=True, exist_ok=True)
        page.locator(f"#chart-{key}").screenshot(
            path=SCREENS / f"reports-{key}-{_size(viewport)}.png"
        )

    requests.get_by_text("Data", exact=True).click()
    row = requests.get_by_role("row", name="29 Mar")
    expect(row).to_be_visible()
    expect(row.get_by_role("cell")).to_have_text(["1", "1", "0", "0", "2"])
    with page.expect_download() as download:
        requests.get_by_role("link", name="Download CSV").click()
    csv_text = Path(download.value.path()).read_text()
    assert csv_text.splitlines()[3] == "29 Mar,1,1,0,0,2"
    screenshot(page, f"reports-data-{_size(viewport)}")
    assert_accessible(page, "the reports page")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_an_empty_period_says_so(page: Page, live_server, seeded, viewport):
    staff_login(page, EMPTY)
    expect(page.locator("#chart-requests")).to_contain_text(
        "No follow-up requests in the days 5 Jan 2026 to 11 Jan 2026."
    )
    # The backlog is today's, whatever the period: the seed's open requests are in it.
    expect(page.locator("svg.chart")).to_have_count(1)
    expect(page.locator("#chart-backlog svg.chart")).to_be_visible()
    expect(page.locator("#chart-satisfaction")).to_contain_text("No customer rated a request")
    screenshot(page, f"reports-empty-{_size(viewport)}")
    assert_accessible(page, "the empty reports page")
