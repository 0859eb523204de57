"""Export CSV: the Follow-Ups list as it is filtered, every page of it, streamed
(`services.followup_export`)."""

from flask import Response, stream_with_context

from followup.clock import utcnow
from followup.services import followup_export
from followup.services.permissions import Permission
from followup.web.admin import bp, current_tenant, lists, requires


@bp.get("/followups/export.csv")
@requires(Permission.WORK_REQUESTS)
def export_followups():
    tenant = current_tenant()
    filename = f"followups-{tenant.slug}-{utcnow():%Y-%m-%d}.csv"
    # The file starts with a byte order mark: spreadsheets then read the names as UTF-8.
    filters, viewer = lists.followup_filters(), lists.followup_viewer()
    chunks = followup_export.csv_chunks(tenant, filters, viewer)
    body = stream_with_context(_with_bom(chunks))
    return Response(
        body,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def _with_bom(chunks):
    yield "\ufeff"
    yield from chunks
