"""`GET /api/v1/reports/summary`: the same numbers as the page, as JSON, per token tenant."""

from decimal import Decimal

from sqlalchemy import select

from followup.extensions import db
from followup.models import SatisfactionRating
from tests.helpers import reports as data

URL = "/api/v1/reports/summary"
RANGE = f"from={data.FIRST_DAY}&to={data.LAST_DAY}"


def _get(app, token, query=""):
    return app.test_client().get(f"{URL}?{query}", headers={"Authorization": f"Bearer {token}"})


def test_the_summary_has_the_reports_numbers(app, tenant, staff, api_token, report_clock):
    dataset = data.build(tenant, staff.id)
    body = _get(app, api_token, RANGE).get_json()
    assert body["period"] == {"from": "2026-03-27", "to": "2026-04-02", "time_zone": data.ZONE}
    followups = body["followups"]
    assert followups["total"] == 9
    assert followups["per_day"][3] == {
        "date": "2026-03-30",
        "chat": 0,
        "voice": 0,
        "sms": 1,
        "api": 1,
    }
    assert (followups["contacted"], followups["within_promise"], followups["decided"]) == (5, 4, 6)
    assert followups["backlog"] == {"on_time": 1, "at_risk": 1, "overdue": 2}
    assert [w["week_start"] for w in followups["per_week"]] == ["2026-03-27", "2026-03-30"]
    assert body["assignees"][0]["median_contact_seconds"] == 21600
    chains = body["auto_followup"]
    assert (chains["sent"], chains["replied_within_24h"], chains["opted_out"]) == (6, 2, 1)
    ai = body["ai"]
    assert (ai["conversations"], ai["handoffs"], ai["model_failures"]) == (4, 3, 1)
    assert Decimal(ai["estimated_cost"]) == Decimal("0.001575")
    assert ai["tokens_per_day"][0] == {
        "date": "2026-03-28",
        "agent_id": dataset.alex.id,
        "input_tokens": 100,
        "output_tokens": 20,
    }


def test_the_summary_has_the_ratings(app, tenant, staff, api_token, report_clock):
    dataset = data.build(tenant, staff.id)
    rated = {r.comment: r.followup_id for r in db.session.scalars(select(SatisfactionRating))}
    ratings = _get(app, api_token, RANGE).get_json()["satisfaction"]
    assert ratings == {
        "count": 3,
        "average": 3.67,  # (5 + 4 + 2) / 3
        "distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1},
        "comments": [
            {
                "followup_id": rated["<script>alert(1)</script> too slow"],
                "score": 2,
                "comment": "<script>alert(1)</script> too slow",
                "created_at": "2026-04-01T09:00:00Z",
            },
            {
                "followup_id": rated["Quick & kind <3"],
                "score": 5,
                "comment": "Quick & kind <3",
                "created_at": "2026-03-26T23:00:00Z",
            },
        ],
    }
    bea = _get(app, api_token, f"{RANGE}&agent={dataset.bea.id}").get_json()["satisfaction"]
    assert (bea["count"], bea["average"], len(bea["comments"])) == (1, 2.0, 1)


def test_one_employee(app, tenant, staff, api_token, report_clock):
    dataset = data.build(tenant, staff.id)
    body = _get(app, api_token, f"{RANGE}&agent={dataset.bea.id}").get_json()
    assert body["agent_id"] == dataset.bea.id
    assert body["followups"]["total"] == 1  # the voice request of Bea's chat
    assert [e["name"] for e in body["ai"]["employees"]] == ["Bea"]


def test_the_last_days_as_the_page_takes_them(app, tenant, staff, api_token, report_clock):
    data.build(tenant, staff.id)
    body = _get(app, api_token, "days=7").get_json()
    assert body["period"] == {"from": "2026-03-27", "to": "2026-04-02", "time_zone": data.ZONE}
    assert body["followups"]["total"] == 9
    refused = _get(app, api_token, "days=5")
    assert refused.status_code == 422
    assert refused.get_json()["error"]["fields"] == {
        "days": "Period: choose the last 7, 30, 90 days."
    }


def test_bad_parameters_are_refused_in_our_words(app, api_token, tenant):
    response = _get(app, api_token, "from=2026-04-02&to=2026-03-01&agent=x")
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert fields == {
        "to": "To: pick a day on or after From.",
        "agent": "Agent: give the id of one AI employee.",
    }


def test_another_tenants_employee_is_not_found(app, api_token, tenant, other_tenant):
    agent = data.add_agent(other_tenant, "Zed", 0)[0]
    assert _get(app, api_token, f"agent={agent.id}").status_code == 404


def test_no_token_no_figures(app):
    assert app.test_client().get(URL).status_code == 401
