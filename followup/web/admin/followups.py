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
from followup.locales import staff_gettext
from followup.models import Source, Status
from followup.models.followup import SOURCE_LABELS
from followup.notify import email
from followup.services import activity, notifications, satisfaction
from followup.services import followup_settings as settings_service
from followup.services import followups as service
from followup.services.permissions import Permission
from followup.services.workflow import allowed_next
from followup.web.admin import bp, current_tenant, lists, requires
from followup.web.admin.forms import (
    AssignForm,
    BulkForm,
    FollowupSettingsForm,
    NoteForm,
    PriorityForm,
    RetryForm,
    StatusForm,
)

FOLLOWUPS_CHANGED = "followups-changed"
SETTINGS_CHANGED = "settings-changed"
PAGE = "admin/followups/page.html"
LIST = "admin/followups/_list.html"
MORE_ROWS = "admin/followups/_rows.html"
DETAIL = "admin/followups/_detail.html"
SETTINGS = "admin/followups/_settings.html"
BULK_OUTCOME = "admin/followups/_bulk_outcome.html"


def _filter_args(filters: service.Filters) -> dict:
    return lists.filter_args(
        q=filters.q,
        status=filters.status,
        assignee=filters.assignee,
        overdue="1" if filters.overdue else None,
        priority=filters.priority,
        source=filters.source,
    )


def _actor() -> service.Actor:
    return service.Actor(current_user.display_name, current_user.id)


def _list_html(
    filters: service.Filters, cursor: str | None = None, selected_id: int | None = None
) -> Markup:
    """The list (or, after `cursor`, its next rows) as HTML, queried and rendered now."""
    tenant = current_tenant()
    page = service.list_page(
        tenant.id,
        filters,
        cursor,
        limit=current_app.config["FOLLOWUPS_PAGE_SIZE"],
        viewer=lists.followup_viewer(),
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
        initials=lists.initials,
    )
    return Markup(html)  # noqa: S704 (an autoescaping template's output)


def _detail_context(followup_id: int) -> dict:
    followup = service.followup_for_detail(current_tenant().id, followup_id)
    deliveries = _notifications_context(followup.id)
    rating = satisfaction.rating_for(current_tenant().id, followup.id)
    return {
        "selected": followup,
        "rating": rating,
        "score_labels": {
            score: staff_gettext(label) for score, label in satisfaction.SCORE_LABELS.items()
        },
        "next_statuses": allowed_next(followup.status),
        "members": service.team_members(current_tenant().id),
        "timeline": activity.timeline(followup, deliveries["notifications"], rating),
        "may_change_note": lambda note: activity.may_change(note, current_user.id, utcnow()),
        "linkify": activity.linkify,
        **deliveries,
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
        "members": service.team_members(current_tenant().id),
        "sources": list(Source),
        "source_labels": {source: staff_gettext(label) for source, label in SOURCE_LABELS.items()},
        "selected": selected,
        "settings_form": None,
    } | extra


def _whole_page(status: int = 200, **extra):
    return render(PAGE, PAGE, status, **_page_context(lists.followup_filters(), **extra))


@bp.get("/followups")
@requires(Permission.WORK_REQUESTS)
def followups():
    filters = lists.followup_filters()
    return answer(
        lambda: html_response(_list_html(filters, request.args.get("cursor"))),
        page=_whole_page,
    )


@bp.get("/followups/<int:followup_id>")
@requires(Permission.WORK_REQUESTS)
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
        filter_args=_filter_args(lists.followup_filters()),
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
@requires(Permission.WORK_REQUESTS)
def change_status(followup_id: int):
    actor = _actor()
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


def _changed(followup_id: int, **extra):
    """The answer to a change of the request that was made: its pane, refreshed, and the
    list and the badge told to follow; a plain form post goes to the request's page."""
    return answer(
        lambda: _pane(followup_id, **extra),
        page_url=url_for("admin.followup_detail", followup_id=followup_id),
        events=[FOLLOWUPS_CHANGED],
    )


def _invalid(followup_id: int, **why):
    """A change refused for its input: the pane with why (422 for a plain form post)."""
    return answer(
        lambda: _pane(followup_id, **why),
        page=lambda: _whole_page(422, **_detail_context(followup_id), **why),
    )


def _set(followup_id: int, change, value: object, field: str, refused: str):
    """Set one field of the request by `change(tenant_id, followup_id, value, actor)`:
    the answer of `_changed`, or, refused for its input, the pane saying why under
    `refused`."""
    try:
        change(current_tenant().id, followup_id, value, _actor())
    except ValidationFailed as exc:
        return _invalid(followup_id, **{refused: exc.fields.get(field, exc.message)})
    return _changed(followup_id)


@bp.post("/followups/<int:followup_id>/assign")
@requires(Permission.WORK_REQUESTS)
def assign(followup_id: int):
    """Assign the request to a member (the select), to oneself ("Assign to me"), or to nobody."""
    assignee_id = AssignForm.posted().assignee_id.data
    return _set(followup_id, service.assign, assignee_id, "assignee_id", "assign_refused")


@bp.post("/followups/<int:followup_id>/priority")
@requires(Permission.WORK_REQUESTS)
def set_priority(followup_id: int):
    priority = PriorityForm.posted().priority.data
    return _set(followup_id, service.set_priority, priority, "priority", "priority_refused")


@bp.post("/followups/<int:followup_id>/timeline/notes")
@requires(Permission.WORK_REQUESTS)
def add_note(followup_id: int):
    followup = service.get_followup(current_tenant().id, followup_id)
    typed = NoteForm.posted().text.data
    try:
        activity.add_note(followup, typed, _actor())
    except ValidationFailed as exc:
        why = {"note_refused": exc.fields.get("text", exc.message), "note_typed": typed}
        return _invalid(followup_id, **why)
    return _changed(followup_id)


def _note_change(followup_id: int, note_id: int, change):
    """Edit or delete a note: refused when it changed since the page was read (the note
    as it is now, and the typed text kept), or when it is not one's own any more."""
    form = NoteForm.posted()
    try:
        change(form)
    except activity.NoteChangedMeanwhile as exc:
        conflict = {"note_id": note_id, "message": exc.message, "yours": form.text.data}
        return _refused(followup_id, exc, note_conflict=conflict)
    except (activity.NoteLocked, ValidationFailed) as exc:
        message = exc.fields.get("text") or exc.fields.get("version") or exc.message
        return _refused(followup_id, exc, note_refused=message)
    return _changed(followup_id)


@bp.post("/followups/<int:followup_id>/timeline/notes/<int:note_id>")
@requires(Permission.WORK_REQUESTS)
def edit_note(followup_id: int, note_id: int):
    tenant_id = current_tenant().id
    return _note_change(
        followup_id,
        note_id,
        lambda form: activity.edit_note(
            tenant_id, followup_id, note_id, form.text.data, _actor(), form.version.data
        ),
    )


@bp.post("/followups/<int:followup_id>/timeline/notes/<int:note_id>/delete")
@requires(Permission.WORK_REQUESTS)
def delete_note(followup_id: int, note_id: int):
    tenant_id = current_tenant().id
    return _note_change(
        followup_id,
        note_id,
        lambda form: activity.delete_note(
            tenant_id, followup_id, note_id, _actor(), form.version.data
        ),
    )


BULK_ACTIONS = {
    "assign": (service.bulk_assign, "assignee_id"),
    "priority": (service.bulk_priority, "priority"),
    "status": (service.bulk_status, "status"),
}


@bp.post("/followups/bulk")
@requires(Permission.WORK_REQUESTS)
def bulk_action():
    """The bulk bar: one action on the selected requests; those refused are listed, with
    why, above the list (which shows the others changed)."""
    form = BulkForm.posted()
    action = BULK_ACTIONS.get(form.action.data or "")
    try:
        if action is None:
            raise ValidationFailed({"action": staff_gettext("Choose assign, priority or status.")})
        run, value_field = action
        result = run(current_tenant().id, form.ids.data, form[value_field].data, _actor())
    except ValidationFailed as exc:
        outcome = {"error": next(iter(exc.fields.values()), exc.message)}
        status = 422
    else:
        outcome = {"result": result, "names": _names_of(result)}
        status = 200
    return answer(
        lambda: render(PAGE, BULK_OUTCOME, status, bulk=outcome),
        page=lambda: _whole_page(status, bulk=outcome),
        events=[FOLLOWUPS_CHANGED] if status == 200 else [],
    )


def _names_of(result: service.BulkResult) -> dict[int, str]:
    """The customer's name of each refused request of the tenant (the outcome names them)."""
    names = {}
    for followup_id in result.refused:
        try:
            names[followup_id] = service.get_followup(current_tenant().id, followup_id).name
        except DomainError:
            names[followup_id] = f"#{followup_id}"
    return names


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
@requires(Permission.WORK_REQUESTS)
def followup_notifications(followup_id: int):
    return _deliveries_pane(followup_id)


@bp.post("/followups/<int:followup_id>/notifications/retry")
@requires(Permission.WORK_REQUESTS)
def retry_notification(followup_id: int):
    followup = service.get_followup(current_tenant().id, followup_id)  # another tenant's id: 404
    notifications.retry_now(
        current_tenant().id, followup.id, RetryForm.posted().notification_id.data
    )
    return _deliveries_pane(followup.id)


# The badge and the banner exist only inside the page: a plain visit goes to the page.


@bp.get("/followups/badge")
@requires(Permission.WORK_REQUESTS)
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
@requires(Permission.WORK_REQUESTS)
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
        "satisfaction_survey": (
            tenant.satisfaction_survey_enabled if values is None else values["satisfaction_survey"]
        ),
        "errors": errors or {},
        "saved": saved,
    }


@bp.get("/followups/settings")
@requires(Permission.MANAGE_SETTINGS)
def followup_settings():
    form = _settings_form(current_tenant())
    return answer(
        lambda: render(PAGE, SETTINGS, settings_form=form),
        page=lambda: _whole_page(settings_form=form),
    )


@bp.post("/followups/settings")
@requires(Permission.MANAGE_SETTINGS)
def save_followup_settings():
    values = FollowupSettingsForm.posted().data
    try:
        tenant = settings_service.update_followup_settings(
            current_tenant().id,
            values["enabled"],
            values["response_time_hours"],
            customer_confirmation=values["customer_confirmation"],
            satisfaction_survey=values["satisfaction_survey"],
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
