"""The Follow-Ups list as CSV: every request that passes the list's filters, newest first.

Streamed: the rows are read in batches by keyset over the list's own conditions and
order (`services.followups`), and each batch is written out before the next is read,
so an export of a million requests holds one batch in memory, never the whole file.
Times are in the tenant's time zone (named in the header). A cell that a spreadsheet
would run as a formula (= + - @, a tab or a carriage return first) is prefixed with
an apostrophe, which makes it text.
"""

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from followup.extensions import db
from followup.models import FollowUpRequest, StaffUser, Tenant
from followup.services.followups import Cursor, Filters, Viewer, filtered

BATCH = 500
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

_COLUMNS = (
    FollowUpRequest.id,
    FollowUpRequest.created_at,
    FollowUpRequest.status,
    FollowUpRequest.priority,
    FollowUpRequest.source,
    FollowUpRequest.name,
    FollowUpRequest.email,
    FollowUpRequest.phone,
    FollowUpRequest.reason,
    FollowUpRequest.summary,
    FollowUpRequest.due_at,
    FollowUpRequest.contacted_at,
    FollowUpRequest.resolved_at,
    # The assignee's email (names need not be unique), read per row: no join to filter.
    select(StaffUser.email)
    .where(StaffUser.id == FollowUpRequest.assignee_id)
    .scalar_subquery()
    .label("assignee"),
)


def header(timezone: str) -> list[str]:
    zone = f" ({timezone})"
    return [
        "id",
        "created" + zone,
        "status",
        "priority",
        "source",
        "name",
        "email",
        "phone",
        "reason",
        "summary",
        "due" + zone,
        "contacted" + zone,
        "resolved" + zone,
        "assignee",
    ]


def neutralised(value: object) -> str:
    """The cell as text, with a formula made harmless: "=1+1" becomes "'=1+1"."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(zone).strftime(TIME_FORMAT)


def _batches(tenant_id: int, filters: Filters, viewer: Viewer) -> Iterator[list]:
    """The filtered requests, newest first, BATCH at a time (keyset: each batch starts
    after the last row of the one before, as the list's "more" does)."""
    after = None
    while True:
        statement, params = filtered(tenant_id, filters, viewer, _COLUMNS, BATCH, after)
        batch = db.session.connection().execute(statement, params).all()
        yield batch
        if len(batch) < BATCH:
            return
        after = Cursor(batch[-1].created_at, batch[-1].id)


def csv_chunks(tenant: Tenant, filters: Filters, viewer: Viewer) -> Iterator[str]:
    """The CSV file in pieces: the header, then one piece per batch of rows."""
    zone = ZoneInfo(tenant.timezone)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header(tenant.timezone))
    for batch in _batches(tenant.id, filters, viewer):
        for row in batch:
            writer.writerow(
                [
                    row.id,
                    _local(row.created_at, zone),
                    neutralised(row.status),
                    neutralised(row.priority),
                    neutralised(row.source),
                    neutralised(row.name),
                    neutralised(row.email),
                    neutralised(row.phone),
                    neutralised(row.reason),
                    neutralised(row.summary),
                    _local(row.due_at, zone),
                    _local(row.contacted_at, zone),
                    _local(row.resolved_at, zone),
                    neutralised(row.assignee),
                ]
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
