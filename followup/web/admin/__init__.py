from collections.abc import Callable
from typing import TypeVar

from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_login import current_user, login_required

from followup.locales import staff_gettext, staff_text
from followup.models import Tenant
from followup.services.permissions import Permission, allows
from followup.web.staff_pages import add_staff_page_headers

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.after_request(add_staff_page_headers)

View = TypeVar("View", bound=Callable)
PERMISSION_ATTRIBUTE = "required_permission"
UNDECLARED = staff_text("This page has no access rule yet, so it is closed to everyone.")


def requires(permission: Permission) -> Callable[[View], View]:
    """Declare what a member's role must allow to use this admin route (checked before
    the view runs, by `require_staff_login`)."""

    def declare(view: View) -> View:
        setattr(view, PERMISSION_ATTRIBUTE, permission)
        return view

    return declare


def permission_of(endpoint: str | None) -> Permission | None:
    view = current_app.view_functions.get(endpoint or "")
    return getattr(view, PERMISSION_ATTRIBUTE, None)


def refusal(role: str, permission: Permission) -> str:
    return staff_gettext(
        "Your role (%(role)s) does not allow this. Ask an owner or admin of your team.", role=role
    )


@bp.before_request
@login_required
def require_staff_login():
    """Every admin page needs a logged-in staff member whose role allows the page;
    a page that declares no permission is refused to everyone (secure by default)."""
    permission = permission_of(request.endpoint)
    if permission is None:
        abort(403, staff_gettext(UNDECLARED))
    if not allows(current_user.role, permission):
        abort(403, refusal(current_user.role, permission))
    if current_user.tenant.require_two_factor and not current_user.has_two_factor:
        # The owner requires a second factor: set it up before anything else.
        setup = url_for("auth.two_factor_setup")
        if request.headers.get("HX-Request"):
            return "", 204, {"HX-Redirect": setup}
        return redirect(setup)
    return None


def current_tenant() -> Tenant:
    """The logged-in staff member's business: every admin query is scoped to it."""
    return current_user.tenant


def can(permission: str) -> bool:
    """For templates: whether the logged-in member's role allows `permission`."""
    return current_user.is_authenticated and allows(current_user.role, Permission(permission))


@bp.app_context_processor
def _permissions_in_templates() -> dict:
    return {"can": can, "Permission": Permission}


from followup.web.admin import (  # noqa: E402, F401
    agents,
    autofollowup,
    chats,
    export,
    followups,
    live,
    reports,
    settings,
    system,
    team,
    users,
)
