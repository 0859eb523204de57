from flask import Blueprint
from flask_login import login_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def require_staff_login():
    """Every admin page needs a logged-in staff member."""


from followup.web.admin import agents, autofollowup, chats, followups, settings, users  # noqa: E402, F401
