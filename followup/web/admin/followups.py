"""The Follow-Up Requests page: list, detail, workflow, notes, settings.

Each view renders the whole page for a normal request and only its pane for an
HTMX request (`followup.htmx.render`); mutations answer with the refreshed pane
plus an `HX-Trigger` event so the list and the pending badge follow at once.
"""

from collections.abc import Callable
from datetime import datetime

from flask import current_app, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from followup.clock import utcnow
from followup.errors import ValidationFailed
from followup.htmx import html_response, is_partial_request, render, trigger
from followup.models import Status
from followup.notify import outbox
from followup.services import followups as service
from followup.services import settings as settings_service
from followup.services.queries import MAX_ID
from followup.services.workflow import allowed_next
from followup.web import fragment_cache
from followup.web.admin import bp

FOLLOWUPS_CHANGED = "followups-changed"
SETTINGS_CHANGED = "settings-changed"
PAGE = "admin/followups/page.html"
LIST = "admin/followups/_list.html"
MORE_ROWS = "admin/followups/_rows.html"


def _tenant():
    return current_user.tenant


def _filters() -> service.Filters:
    return service.Filters.parse(request.args.get("q"), request.args.get("status"))


def _filter_args(filters: service.Filters) -> dict:
    """The filters as URL query arguments, so links keep them."""
    args = {}
    if filters.q:
        args["q"] = filters.q
    if filters.status:
        args["status"] = filters.status.value
    return args


def _detail_url_maker(filter_args: dict) -> Callable[[int], str]:
    """The detail URL of each card, keeping the filters.

    `url_for` costs more than the rest of a card, and a page's URLs differ only in
    the id: build one for a marker id and put each card's id in its place.
    """
    marker = MAX_ID
    url = url_for("admin.followup_detail", followup_id=marker, **filter_args)
    head, _, tail = url.partition(str(marker))
    return lambda followup_id: f"{head}{followup_id}{tail}"


def _list_html(
    filters: service.Filters, cursor: str | None = None, selected_id: int | None = None
) -> Markup:
    """The list (or, after `cursor`, its next rows) as HTML. Rendered once a minute per
    view of the data: the key holds all the list shows, and the tenant's
    followups_version changes with every write of its requests, so only the "time ago"
    texts and overdue marks may be up to a minute old."""
    tenant = _tenant()
    now = utcnow()
    template = MORE_ROWS if cursor else LIST
    key = (
        template,
        tenant.id,
        tenant.created_at,  # SQLite may give a new tenant a deleted one's id
        tenant.followups_version,
        tenant.response_time_hours,
        tenant.timezone,
        filters.q,
        filters.status,
        cursor,
        selected_id,
        now.replace(second=0, microsecond=0),
    )
    html = fragment_cache.get_or_render(
        key, lambda: _render_list(template, filters, cursor, selected_id, now)
    )
    return Markup(html)  # noqa: S704 (an autoescaping template's output)


def _render_list(template: str, filters, cursor, selected_id, now: datetime) -> str:
    tenant = _tenant()
    page = service.list_page(
        tenant.id, filters, cursor, limit=current_app.config["FOLLOWUPS_PAGE_SIZE"]
    )
    filter_args = _filter_args(filters)
    return render_template(
        template,
        filters=filters,
        filter_args=filter_args,
        detail_url_of=_detail_url_maker(filter_args),
        page=page,
        now=now,
        tenant=tenant,
        selected_id=selected_id,
    )


def _detail_context(followup_id: int) -> dict:
    followup = service.followup_for_detail(_tenant().id, followup_id)
    return {
        "selected": followup,
        "next_statuses": allowed_next(followup.status),
        "notifications": outbox.notifications_of(_tenant().id, followup.id),
    }


def _page_context(filters: service.Filters, selected=None, **extra) -> dict:
    return {
        "filters": filters,
        "filter_args": _filter_args(filters),
        "statuses": list(Status),
        "tenant": _tenant(),
        "now": utcnow(),
        "list_html": _list_html(filters, selected_id=selected.id if selected else None),
        "pending_count": service.count_pending(_tenant().id),
        "selected": selected,
        "settings_form": None,
    } | extra


@bp.get("/followups")
def followups():
    filters = _filters()
    if not is_partial_request():
        return render(PAGE, PAGE, **_page_context(filters))
    return html_response(_list_html(filters, request.args.get("cursor")))


@bp.get("/followups/<int:followup_id>")
def followup_detail(followup_id: int):
    detail = _detail_context(followup_id)
    if is_partial_request():
        return render(
            PAGE,
            "admin/followups/_detail.html",
            now=utcnow(),
            tenant=_tenant(),
            filter_args=_filter_args(_filters()),
            **detail,
        )
    return render(PAGE, PAGE, **_page_context(_filters(), **detail))


def _after_change(followup_id: int, notes_saved: bool = False):
    """The refreshed detail pane for HTMX, or back to the page for a plain form post."""
    if not is_partial_request():
        return redirect(url_for("admin.followup_detail", followup_id=followup_id), 303)
    response = render(
        PAGE,
        "admin/followups/_detail.html",
        now=utcnow(),
        tenant=_tenant(),
        filter_args=_filter_args(_filters()),
        notes_saved=notes_saved,
        **_detail_context(followup_id),
    )
    return trigger(response, FOLLOWUPS_CHANGED)


@bp.post("/followups/<int:followup_id>/status")
def change_status(followup_id: int):
    actor = service.Actor(current_user.display_name, current_user.id)
    service.change_status(_tenant().id, followup_id, request.form.get("status"), actor)
    return _after_change(followup_id)


@bp.post("/followups/<int:followup_id>/notes")
def save_notes(followup_id: int):
    service.update_notes(_tenant().id, followup_id, request.form.get("notes", ""))
    return _after_change(followup_id, notes_saved=True)


def _deliveries_pane(followup_id: int):
    """The delivery state of the request's notifications (polled while unsettled)."""
    followup = service.get_followup(_tenant().id, followup_id)
    if not is_partial_request():
        return redirect(url_for("admin.followup_detail", followup_id=followup.id), 303)
    return render(
        PAGE,
        "admin/followups/_notifications.html",
        selected=followup,
        notifications=outbox.notifications_of(_tenant().id, followup.id),
        tenant=_tenant(),
    )


@bp.get("/followups/<int:followup_id>/notifications")
def followup_notifications(followup_id: int):
    return _deliveries_pane(followup_id)


@bp.post("/followups/<int:followup_id>/notifications/retry")
def retry_notification(followup_id: int):
    followup = service.get_followup(_tenant().id, followup_id)  # another tenant's id: 404
    outbox.retry_now(_tenant().id, followup.id, request.form.get("channel"))
    return _deliveries_pane(followup.id)


def _pane_only(partial: str, **context):
    """Panes that exist only inside the page: a plain visit goes to the page."""
    if not is_partial_request():
        return redirect(url_for("admin.followups"))
    return render(PAGE, partial, **context)


@bp.get("/followups/badge")
def pending_badge():
    return _pane_only(
        "admin/followups/_badge.html", pending_count=service.count_pending(_tenant().id)
    )


@bp.get("/followups/banner")
def disabled_banner():
    return _pane_only("admin/followups/_banner.html", tenant=_tenant())


def _settings_form(
    tenant, errors: dict | None = None, values: dict | None = None, saved: bool = False
) -> dict:
    return {
        "enabled": tenant.followups_enabled if values is None else values["enabled"],
        "response_time_hours": (
            tenant.response_time_hours if values is None else values["response_time_hours"]
        ),
        "customer_confirmation": (
            tenant.customer_confirmation_enabled
            if values is None
            else values["customer_confirmation"]
        ),
        "errors": errors or {},
        "saved": saved,
    }


@bp.get("/followups/settings")
def followup_settings():
    form = _settings_form(_tenant())
    if is_partial_request():
        return render(PAGE, "admin/followups/_settings.html", settings_form=form)
    return render(PAGE, PAGE, **_page_context(_filters(), settings_form=form))


@bp.post("/followups/settings")
def save_followup_settings():
    values = {
        "enabled": request.form.get("enabled") == "on",
        "response_time_hours": request.form.get("response_time_hours", ""),
        "customer_confirmation": request.form.get("customer_confirmation") == "on",
    }
    try:
        tenant = settings_service.update_followup_settings(
            _tenant().id,
            values["enabled"],
            values["response_time_hours"],
            customer_confirmation=values["customer_confirmation"],
        )
    except ValidationFailed as exc:
        form = _settings_form(_tenant(), exc.fields, values)
        if is_partial_request():
            return render(PAGE, "admin/followups/_settings.html", 422, settings_form=form)
        return render(PAGE, PAGE, 422, **_page_context(_filters(), settings_form=form))
    if not is_partial_request():
        return redirect(url_for("admin.followups"), 303)
    response = render(
        PAGE, "admin/followups/_settings.html", settings_form=_settings_form(tenant, saved=True)
    )
    return trigger(response, SETTINGS_CHANGED, FOLLOWUPS_CHANGED)
