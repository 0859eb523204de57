"""The Users page: the tenant's customers, one customer's follow-ups and chats.

Like the Follow-Ups page, every view renders the whole page for a normal request
and only its pane for an HTMX request; the selected customer (and chat) live in
the URL, so a reload or a shared link shows the same thing.
"""

from flask import current_app, request

from followup.clock import utcnow
from followup.htmx import answer, render
from followup.services import customer_directory as service
from followup.services.permissions import Permission
from followup.web.admin import bp, current_tenant, lists, requires

PAGE = "admin/users/page.html"


def _filters() -> service.Filters:
    return service.Filters.parse(request.args.get("q"), request.args.get("status"))


def _filter_args(filters: service.Filters) -> dict:
    return lists.filter_args(q=filters.q, status=filters.status)


def _list_context(filters: service.Filters, cursor: str | None = None) -> dict:
    tenant = current_tenant()
    limit = current_app.config["USERS_PAGE_SIZE"]
    page = service.list_page(tenant.id, filters, cursor, limit=limit)
    filter_args = _filter_args(filters)
    return {
        "filters": filters,
        "filter_args": filter_args,
        "detail_url_of": lists.detail_url_maker("admin.user_detail", "customer_id", filter_args),
        "page": page,
        "now": utcnow(),
        "tenant": tenant,
        "statuses": service.CUSTOMER_STATUSES,
    }


def _detail_context(customer_id: int) -> dict:
    tenant = current_tenant()
    detail = service.customer_detail(tenant.id, customer_id)
    chat_arg = request.args.get("chat")
    transcript = (
        service.transcript(tenant.id, customer_id, service.parse_chat_id(chat_arg))
        if chat_arg is not None
        else None
    )
    return {"detail": detail, "transcript": transcript}


@bp.get("/users")
@requires(Permission.WORK_REQUESTS)
def users():
    filters = _filters()
    cursor = request.args.get("cursor")
    partial = "admin/users/_rows.html" if cursor else "admin/users/_list.html"
    return answer(
        lambda: render(PAGE, partial, detail=None, **_list_context(filters, cursor)),
        page=lambda: render(PAGE, PAGE, detail=None, **_list_context(filters)),
    )


@bp.get("/users/<int:customer_id>")
@requires(Permission.WORK_REQUESTS)
def user_detail(customer_id: int):
    detail = _detail_context(customer_id)
    filters = _filters()
    return answer(
        lambda: render(
            PAGE,
            "admin/users/_detail.html",
            now=utcnow(),
            tenant=current_tenant(),
            filter_args=_filter_args(filters),
            **detail,
        ),
        page=lambda: render(PAGE, PAGE, **_list_context(filters) | detail),
    )
