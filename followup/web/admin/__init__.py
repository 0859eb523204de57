from flask import Blueprint
from flask_login import current_user, login_required

from followup.models import Tenant
from followup.web.staff_pages import add_staff_page_headers

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.after_request(add_staff_page_headers)


@bp.before_request
@login_required
def require_staff_login():
    """Every admin page needs a logged-in staff member."""


def current_tenant() -> Tenant:
    """The logged-in staff member's business: every admin query is scoped to it."""
    return current_user.tenant


from followup.web.admin import agents, autofollowup, chats, followups, settings, users  # noqa: E402, F401
