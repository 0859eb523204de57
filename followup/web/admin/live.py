"""Live admin pages: every open admin page asks about once a second "anything new since
version v?" (`services.live`).

The answer is cheap when nothing changed, which is nearly always: one Redis GET and a
204, no SQL beyond the login's own user load. After a change it is the poller itself
with the new version, the pending count and the newest request's id (the tab title and
the optional desktop notification follow them: static/js/admin-live.js), plus the
`followups-changed` event that refreshes the list and the badge as a local change does.

Polling rather than server-sent events: an SSE stream holds a gunicorn thread and a
Redis subscription per open tab for as long as the tab is open, and needs a proxy that
does not buffer; a one-second poll answered from Redis costs about a millisecond and
works through any proxy, with every web process (Redis is shared).
"""

import json

from flask import Response, make_response, request, url_for
from flask_login import current_user

from followup.htmx import answer, render
from followup.services import followups as followups_service
from followup.services import live
from followup.services.permissions import Permission
from followup.web.admin import bp, current_tenant, requires

POLLER = "admin/_live.html"
FOLLOWUPS_CHANGED = "followups-changed"
# Sent with this tab's own changes: the version they made, so the poll does not bring
# them back as news (an open detail would be refreshed over the answer just shown).
LIVE_VERSION = "live-version"


def live_state(version: str | None = None) -> dict:
    """What the poller carries: the version it saw, the pending count, the newest id."""
    tenant_id = current_tenant().id
    return {
        "version": live.version(tenant_id) if version is None else version,
        "pending": followups_service.count_pending(tenant_id),
        "newest_id": live.newest_request_id(tenant_id) or 0,
    }


@bp.context_processor
def _live_poller():
    """The layout calls `live_state()` once per whole admin page (never for a partial)."""
    if not current_user.is_authenticated:
        return {}
    return {"live_state": live_state}


@bp.get("/live")
@requires(Permission.WORK_REQUESTS)
def live_poll():
    now = live.version(current_tenant().id)
    if now is None or now == request.args.get("v", ""):
        # Nothing new (or Redis away: the page waits and asks again).
        return answer(lambda: make_response("", 204), page_url=url_for("admin.followups"))
    # Changed: the poller anew, with the new version and counts.
    return answer(
        lambda: render(POLLER, POLLER, live=live_state(now)),
        page_url=url_for("admin.followups"),
        events=[FOLLOWUPS_CHANGED],
    )


@bp.after_request
def _tell_own_change(response: Response) -> Response:
    """A change made from this tab (its answer refreshes the panes: `followups-changed`)
    also tells the tab the version it made and the pending count."""
    raw = response.headers.get("HX-Trigger")
    if request.endpoint == "admin.live_poll" or not raw or FOLLOWUPS_CHANGED not in json.loads(raw):
        return response
    state = live_state()
    told = {LIVE_VERSION: {"version": state["version"] or "", "pending": state["pending"]}}
    # A header of its own (after the swap), leaving the answer's own events as they are.
    response.headers["HX-Trigger-After-Settle"] = json.dumps(told)
    return response
