"""The reports page and its CSV: who sees what, the filters in the URL, bad input; the
steps' figures on the Auto Follow-up tab, and the model prices in Settings."""

from decimal import Decimal

from followup.models import StaffRole
from followup.services import reports, staff_accounts
from tests.helpers import reports as data
from tests.helpers.apps import text_of
from tests.helpers.staff import PASSWORD, logged_in_browser

RANGE = f"from={data.FIRST_DAY}&to={data.LAST_DAY}"


def test_the_owner_sees_every_chart_with_its_finding(staff_browser, tenant, staff, report_clock):
    data.build(tenant, staff.id)
    page = staff_browser.get(f"/admin/reports?{RANGE}")
    assert page.status_code == 200
    text = text_of(page)
    assert "9 follow-up requests, most via API" in text
    assert "67% contacted within 24 h" in text
    assert "33% of reminders got a reply within 24 h" in text
    assert "Promise: 24 h" in text
    assert page.get_data(as_text=True).count('<svg class="chart"') == 7
    # Counted now (2 Apr 12:00 UTC) in the tenant's time, and how often it is counted again.
    assert (
        "Figures as of Apr 2, 2026 14:00 CEST; the latest days are counted again every "
        "5 minutes." in text
    )


def test_an_empty_period_says_so(staff_browser, report_clock):
    text = text_of(staff_browser.get("/admin/reports?days=7"))
    assert "No follow-up requests in the last 7 days." in text
    assert "No reminders were sent in the last 7 days." in text
    assert "No customer rated a request in the last 7 days." in text
    assert "No comments in the last 7 days." in text


def test_customer_satisfaction_in_the_period(staff_browser, tenant, staff, report_clock):
    dataset = data.build(tenant, staff.id)
    text = text_of(staff_browser.get(f"/admin/reports?{RANGE}"))
    section = text[text.index("Customer satisfaction") :]
    assert "3.7 average from 3 ratings" in section  # (5 + 4 + 2) / 3
    assert "<dt>Average rating</dt><dd>3.7 of 5</dd>" in section
    # Comments newest first, escaped, at Berlin times (CEST after 29 March, CET before).
    assert "&lt;script&gt;alert(1)&lt;/script&gt; too slow" in section
    assert "<script>alert" not in text
    assert section.index("too slow") < section.index("Quick &amp; kind &lt;3")
    assert "Apr 1, 2026 11:00 CEST" in section and "Mar 27, 2026 00:00 CET" in section
    assert "Before the period" not in section and "After the period" not in section
    bea = text_of(staff_browser.get(f"/admin/reports?{RANGE}&agent={dataset.bea.id}"))
    assert "2.0 average from 1 rating" in bea and "Quick &amp;" not in bea


def test_the_satisfaction_csv_has_the_distribution(staff_browser, tenant, staff):
    data.build(tenant, staff.id)
    response = staff_browser.get(f"/admin/reports/data.csv?chart=satisfaction&{RANGE}")
    assert response.get_data(as_text=True).splitlines() == [
        "Score,Ratings",
        "1 · Very poor,0",
        "2 · Poor,1",
        "3 · Okay,0",
        "4 · Good,1",
        "5 · Excellent,1",
    ]


def test_the_csv_has_the_charts_numbers(staff_browser, tenant, staff):
    data.build(tenant, staff.id)
    response = staff_browser.get(f"/admin/reports/data.csv?chart=requests&{RANGE}")
    assert response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "Day,Chat,Voice,SMS,API,Total"
    assert lines[3] == "29 Mar,1,1,0,0,2"
    assert staff_browser.get(f"/admin/reports/data.csv?chart=nope&{RANGE}").status_code == 404


def test_an_agent_sees_only_their_own_row(app, tenant, staff):
    data.build(tenant, staff.id)
    staff_accounts.create_staff_user("acme", "agent@acme.example", PASSWORD, role=StaffRole.AGENT)
    browser = logged_in_browser(app, "agent@acme.example")
    text = text_of(browser.get(f"/admin/reports?{RANGE}"))
    assert "Your requests" in text
    assert "Olivia Owner" not in text
    assert "follow-up requests, most via" not in text
    assert browser.get(f"/admin/reports/data.csv?chart=requests&{RANGE}").status_code == 404


def test_a_bad_period_is_refused_and_nothing_is_counted(staff_browser):
    page = staff_browser.get("/admin/reports?from=2026-04-02&to=2026-03-01")
    assert page.status_code == 422
    assert "To: pick a day on or after From." in text_of(page)


def test_another_tenants_employee_is_not_found(staff_browser, other_tenant):
    agent = data.add_agent(other_tenant, "Zed", 0)[0]
    assert staff_browser.get(f"/admin/reports?agent={agent.id}").status_code == 404


def test_htmx_gets_the_report_alone(staff_browser):
    partial = staff_browser.get("/admin/reports?days=90", headers={"HX-Request": "true"})
    assert "<nav" not in partial.get_data(as_text=True)
    assert "No follow-up requests in the last 90 days." in text_of(partial)


def test_each_step_card_shows_its_last_30_days(staff_browser, tenant, staff, report_clock):
    dataset = data.build(tenant, staff.id)
    page = text_of(staff_browser.get(f"/admin/agents/{dataset.alex.id}/auto-followup"))
    # The 30 days up to 2 April take in the reminder of 21 March too.
    s1, s2 = dataset.steps["s1"].id, dataset.steps["s2"].id
    assert f'id="step-{s1}-stats">Last 30 days: 4 sent, 25% replied within 24 h' in page
    assert f'id="step-{s2}-stats">Last 30 days: 2 sent, 50% replied within 24 h' in page
    bea = text_of(staff_browser.get(f"/admin/agents/{dataset.bea.id}/auto-followup"))
    assert "Last 30 days: 1 sent, 0% replied within 24 h" in bea


def test_prices_set_in_settings_give_the_cost(staff_browser, tenant, staff):
    data.build(tenant, staff.id)
    settings = text_of(staff_browser.get("/admin/settings"))
    assert 'name="model" value="gpt-x"' in settings and 'name="model" value="gpt-y"' in settings
    saved = staff_browser.post(
        "/admin/settings/model-prices",
        data={
            "model": ["gpt-x", "gpt-y", ""],
            "input": ["2.5", "1", ""],
            "output": ["10", "2", ""],
        },
        htmx=True,
    )
    assert saved.status_code == 200 and "Prices saved." in text_of(saved)
    # gpt-y: 1000 in at $1, 500 out at $2 per million; gpt-x as before: $0.001575.
    page = text_of(staff_browser.get(f"/admin/reports?{RANGE}"))
    assert "1,920 tokens, about $0.0036" in page


def test_a_bad_price_saves_nothing(staff_browser, tenant, staff):
    data.build(tenant, staff.id)
    refused = staff_browser.post(
        "/admin/settings/model-prices",
        data={"model": ["gpt-x", "gpt-y"], "input": ["1", "-3"], "output": ["1", "ten"]},
        htmx=True,
    )
    assert refused.status_code == 422
    text = text_of(refused)
    assert "Input price of gpt-y: give dollars per million tokens" in text
    assert "Output price of gpt-y: give dollars per million tokens" in text

    prices = {row.model: row.input_per_million for row in reports.price_rows(tenant.id)}
    assert prices == {"gpt-x": Decimal("2.5000"), "gpt-y": None}
