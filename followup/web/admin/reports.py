"""The reports page (`/admin/reports`): the period and the AI employee in the URL (a GET
form), the charts with their numbers, and each chart's numbers as CSV. Owners and
admins see the team; an agent sees their own row of the per-assignee table only."""

import csv
import io

from flask import Response, abort, request
from flask_login import current_user

from followup.errors import ValidationFailed
from followup.htmx import render
from followup.services import agents as agent_service
from followup.services import reports
from followup.services.followup_export import neutralised
from followup.services.permissions import Permission, allows
from followup.services.validation import FieldErrors
from followup.web.admin import bp, current_tenant, requires
from followup.web.admin.autofollowup import agent_filter_id
from followup.web.admin.report_charts import CHARTS, charts_of, percent

PAGE = "admin/reports/page.html"
PARTIAL = "admin/reports/_report.html"


def _sees_team() -> bool:
    return allows(current_user.role, Permission.VIEW_TEAM_REPORTS)


def _filters() -> tuple[reports.Period, int | None]:
    """The period and AI employee the URL asks for; every bad field refused at once."""
    tenant = current_tenant()
    errors = FieldErrors()
    period = errors.check(
        reports.period_of,
        tenant.timezone,
        request.args.get("days"),
        request.args.get("from") or None,
        request.args.get("to") or None,
    )
    agent_id = errors.check(agent_filter_id, request.args.get("agent", ""))
    errors.raise_if_any()
    if agent_id is not None:
        agent_service.get_agent(tenant.id, agent_id)  # another tenant's: 404
    return period, agent_id


def _report(period: reports.Period, agent_id: int | None) -> reports.Report:
    tenant = current_tenant()
    return reports.report(
        tenant.id,
        period,
        tenant.response_time_hours,
        agent_id,
        only_assignee=None if _sees_team() else current_user.id,
    )


def _form_values() -> dict:
    return {key: request.args.get(key, "") for key in ("days", "from", "to", "agent")}


@bp.get("/reports", endpoint="reports")
@requires(Permission.WORK_REQUESTS)
def reports_page():
    tenant = current_tenant()
    context = {
        "values": _form_values(),
        "agents": agent_service.agents_of(tenant.id) if _sees_team() else [],
        "last_days": reports.LAST_DAYS,
        "percent": percent,
        "errors": {},
        "report": None,
        "charts": {},
    }
    try:
        period, agent_id = _filters()
    except ValidationFailed as exc:
        return render(PAGE, PARTIAL, 422, **(context | {"errors": exc.fields}))
    report = _report(period, agent_id)
    query = request.query_string.decode()
    return render(
        PAGE, PARTIAL, **(context | {"report": report, "charts": charts_of(report), "query": query})
    )


@bp.get("/reports/<key>.csv")
@requires(Permission.WORK_REQUESTS)
def report_csv(key: str):
    if key not in CHARTS or not _sees_team():
        abort(404)
    period, agent_id = _filters()
    chart = charts_of(_report(period, agent_id))[key]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(chart.headers)
    writer.writerows([neutralised(cell) for cell in row] for row in chart.rows)
    filename = f"{key}-{period.first_day}-{period.last_day}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
