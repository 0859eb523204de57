"""The Follow-Up Requests page: list, detail, workflow, notes, settings.

Each view renders the whole page for a normal request and only its pane for an
HTMX request (`followup.htmx.render`); mutations answer with the refreshed pane
plus an `HX-Trigger` event so the list and the pending badge follow at once.
"""

from flask import current_app, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from followup.clock import utcnow
from followup.errors import DomainError, TransitionNotAllowed, ValidationFailed
from followup.htmx import answer, html_response, render
from followup.models import Status
from followup.notify import email
from followup.services import followup_settings as settings_service
from followup.services import followups as service
from followup.services import notifications
from followup.services.workflow import allowed_next
from followup.web.admin import bp, current_tenant, lists
from followup.web.admin.forms import FollowupSettingsForm, NotesForm, RetryForm, StatusForm

FOLLOWUPS_CHANGED = "followups-changed"
SETTINGS_CHANGED = "settings-changed"
PAGE = "admin/followups/page.html"
LIST = "admin/followups/_list.html"
MORE_ROWS = "admin/followups/_rows.html"
DETAIL = "admin/followups/_detail.html"
SETTINGS = "admin/followups/_settings.html"


def _filters() -> service.Filters:
    return service.Filters.parse(request.args.get("q"), request.args.get("status"))


def _filter_args(filters: service.Filters) -> dict:
    return lists.filter_args(q=filters.q, status=filters.status)


def _list_html(
    filters: service.Filters, cursor: str | None = None, selected_id: int | None = None
) -> Markup:
    """The list (or, after `cursor`, its next rows) as HTML, queried and rendered now."""
    tenant = current_tenant()
    page = service.list_page(
        tenant.id, filters, cursor, limit=current_app.config["FOLLOWUPS_PAGE_SIZE"]
    )
    filter_args = _filter_args(filters)
    html = render_template(
        MORE_ROWS if cursor else LIST,
        filters=filters,
        filter_args=filter_args,
        detail_url_of=lists.detail_url_maker("admin.followup_detail", "followup_id", filter_args),
        page=page,
        now=utcnow(),
        tenant=tenant,
        selected_id=selected_id,
    )
    return Markup(html)  # noqa: S704 (an autoescaping template's output)


def _detail_context(followup_id: int) -> dict:
    followup = service.followup_for_detail(current_tenant().id, followup_id)
    return {
        "selected": followup,
        "next_statuses": allowed_next(followup.status),
        **_notifications_context(followup.id),
    }


def _notifications_context(followup_id: int) -> dict:
    """The request's notifications, and the folder of those saved as files (their rows
    keep the file's name only)."""
    return {
        "notifications": notifications.notifications_of(current_tenant().id, followup_id),
        "mail_folder": email.mail_folder_label(),
        "may_retry": notifications.staff_may_retry,
    }


def _page_context(filters: service.Filters, selected=None, **extra) -> dict:
    return {
        "filters": filters,
        "filter_args": _filter_args(filters),
        "statuses": list(Status),
        "tenant": current_tenant(),
        "now": utcnow(),
        "list_html": _list_html(filters, selected_id=selected.id if selected else None),
        "pending_count": service.count_pending(current_tenant().id),
        "selected": selected,
        "settings_form": None,
    } | extra


def _whole_page(status: int = 200, **extra):
    return render(PAGE, PAGE, status, **_page_context(_filters(), **extra))


@bp.get("/followups")
def followups():
    filters = _filters()
    return answer(
        lambda: html_response(_list_html(filters, request.args.get("cursor"))),
        page=_whole_page,
    )


@bp.get("/followups/<int:followup_id>")
def followup_detail(followup_id: int):
    return answer(
        lambda: _pane(followup_id),
        page=lambda: _whole_page(**_detail_context(followup_id)),
    )


def _pane(followup_id: int, **extra):
    """The detail pane of the request as it is now (for HTMX)."""
    return render(
        PAGE,
        DETAIL,
        now=utcnow(),
        tenant=current_tenant(),
        filter_args=_filter_args(_filters()),
        **_detail_context(followup_id),
        **extra,
    )


def _refused(followup_id: int, refusal: DomainError, **why):
    """A change refused because the tab showed an older state (another tab or a colleague
    got there first): the request as it is now, fresh from the database, with why. The
    list and the badge refresh too. HTMX gets the pane as a 200, swapped like any other
    (htmx reports other 4xx answers as errors); a plain form post the page, with the
    refusal's status."""
    return answer(
        lambda: _pane(followup_id, **why),
        page=lambda: _whole_page(refusal.http_status, **_detail_context(followup_id), **why),
        events=[FOLLOWUPS_CHANGED],
    )


@bp.post("/followups/<int:followup_id>/status")
def change_status(followup_id: int):
    actor = service.Actor(current_user.display_name, current_user.id)
    try:
        status = StatusForm.posted().status.data
        service.change_status(current_tenant().id, followup_id, status, actor)
    except (TransitionNotAllowed, ValidationFailed) as exc:
        message = exc.fields.get("status", exc.message)
        return _refused(followup_id, exc, status_refused=message)
    return answer(
        lambda: _pane(followup_id),
        page_url=url_for("admin.followup_detail", followup_id=followup_id),
        events=[FOLLOWUPS_CHANGED],
    )


@bp.post("/followups/<int:followup_id>/notes")
def save_notes(followup_id: int):
    form = NotesForm.posted()
    typed = form.notes.data
    try:
        service.update_notes(
            current_tenant().id, followup_id, typed, based_on=form.notes_version.data
        )
    except service.NotesChangedMeanwhile as exc:
        # Both texts are shown: the saved ones and, in the box, what this person typed.
        conflict = {"message": exc.message, "yours": typed}
        return _refused(followup_id, exc, notes_conflict=conflict)
    return answer(
        lambda: _pane(followup_id, notes_saved=True),
        page_url=url_for("admin.followup_detail", followup_id=followup_id),
        events=[FOLLOWUPS_CHANGED],
    )


def _deliveries_pane(followup_id: int):
    """The delivery state of the request's notifications (polled while unsettled); a
    plain visit goes to the request's page."""
    followup = service.get_followup(current_tenant().id, followup_id)
    return answer(
        lambda: render(
            PAGE,
            "admin/followups/_notifications.html",
            selected=followup,
            tenant=current_tenant(),
            **_notifications_context(followup.id),
        ),
        page_url=url_for("admin.followup_detail", followup_id=followup.id),
    )


@bp.get("/followups/<int:followup_id>/notifications")
def followup_notifications(followup_id: int):
    return _deliveries_pane(followup_id)


@bp.post("/followups/<int:followup_id>/notifications/retry")
def retry_notification(followup_id: int):
    followup = service.get_followup(current_tenant().id, followup_id)  # another tenant's id: 404
    notifications.retry_now(current_tenant().id, followup.id, RetryForm.posted().channel.data)
    return _deliveries_pane(followup.id)


# The badge and the banner exist only inside the page: a plain visit goes to the page.


@bp.get("/followups/badge")
def pending_badge():
    return answer(
        lambda: render(
            PAGE,
            "admin/followups/_badge.html",
            pending_count=service.count_pending(current_tenant().id),
        ),
        page_url=url_for("admin.followups"),
    )


@bp.get("/followups/banner")
def disabled_banner():
    return answer(
        lambda: render(PAGE, "admin/followups/_banner.html", tenant=current_tenant()),
        page_url=url_for("admin.followups"),
    )


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
    form = _settings_form(current_tenant())
    return answer(
        lambda: render(PAGE, SETTINGS, settings_form=form),
        page=lambda: _whole_page(settings_form=form),
    )


@bp.post("/followups/settings")
def save_followup_settings():
    values = FollowupSettingsForm.posted().data
    try:
        tenant = settings_service.update_followup_settings(
            current_tenant().id,
            values["enabled"],
            values["response_time_hours"],
            customer_confirmation=values["customer_confirmation"],
        )
    except ValidationFailed as exc:
        form = _settings_form(current_tenant(), exc.fields, values)
        return answer(
            lambda: render(PAGE, SETTINGS, 422, settings_form=form),
            page=lambda: _whole_page(422, settings_form=form),
        )
    return answer(
        lambda: render(PAGE, SETTINGS, settings_form=_settings_form(tenant, saved=True)),
        page_url=url_for("admin.followups"),
        events=[SETTINGS_CHANGED, FOLLOWUPS_CHANGED],
    )
