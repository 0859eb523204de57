from flask import Blueprint

from followup.web.staff_pages import add_staff_page_headers

bp = Blueprint("auth", __name__)
bp.after_request(add_staff_page_headers)

from followup.web.auth import links, routes  # noqa: E402, F401
