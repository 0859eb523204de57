"""The reports page (`/admin/reports`): the period and the AI employee in the URL (a GET
form), the charts with their numbers, and each chart's numbers as CSV. Owners and
admins see the team; an agent sees their own row of the per-assignee table only."""

import csv
import io

from flask import Response, abort, current_app, request
from flask_login import current_user

from followup.errors import ValidationFailed
from followup.htmx import render
from followup.services import agents as agent_service
from followup.services import reports
from followup.services.followup_export import neutralised
from followup.services.permissions import Permission, allows
from followup.web.admin import bp, current_tenant, requires
from followup.web.admin.report_charts import CHARTS, charts_of, dollars, percent

PAGE = "admin/reports/page.html"
PARTIAL = "admin/reports/_report.html"


def _sees_team() -> bool:
    return allows(current_user.role, Permission.VIEW_TEAM_REPORTS)


def _report() -> reports.Report:
    """The report the URL asks for; an agent's has their own row only."""
    return reports.requested_report(
        current_tenant().id,
        days=request.args.get("days"),
        date_from=request.args.get("from") or None,
        date_to=request.args.get("to") or None,
        agent=request.args.get("agent"),
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
        "dollars": dollars,
        "errors": {},
        "report": None,
        "charts": {},
        "refresh_minutes": max(current_app.config["REPORT_REFRESH_INTERVAL_S"] // 60, 1),
    }
    try:
        report = _report()
    except ValidationFailed as exc:
        return render(PAGE, PARTIAL, 422, **(context | {"errors": exc.fields}))
    query = request.query_string.decode()
    return render(
        PAGE, PARTIAL, **(context | {"report": report, "charts": charts_of(report), "query": query})
    )


@bp.get("/reports/data.csv")
@requires(Permission.WORK_REQUESTS)
def report_csv():
    """One chart's numbers (`chart`: its key), for the period and employee the page had."""
    key = request.args.get("chart", "")
    if key not in CHARTS or not _sees_team():
        abort(404)
    report = _report()
    chart = charts_of(report)[key]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(chart.headers)
    writer.writerows([neutralised(cell) for cell in row] for row in chart.rows)
    filename = f"{key}-{report.period.first_day}-{report.period.last_day}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
