"""The page a customer's one-time login link opens.

Opening the link (GET) only asks "Log in?"; the button (POST) uses the link up.
Mail scanners open links before people do, and must not spend them. The link
logs the customer in to the chat that asked for it (the chat, not this browser
tab, is what the customer uses), so the page then only says what happened.
"""

from flask import Blueprint, current_app, make_response, render_template, request

from followup.errors import NotFound
from followup.extensions import db, limiter
from followup.models import Tenant
from followup.services import customers

bp = Blueprint("customer_login", __name__)

MAX_TOKEN_LENGTH = 200


def _rate_limit() -> str:
    return current_app.config["CUSTOMER_LOGIN_RATE_LIMIT"]


def _page(status: int, **context):
    ttl_minutes = int(customers.LOGIN_LINK_TTL.total_seconds() // 60)
    page = render_template("customer_login.html", ttl_minutes=ttl_minutes, **context)
    response = make_response(page, status)
    # The token is in the URL: keep it out of caches, Referer headers and search engines.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.route("/customer-login/<token>", methods=["GET", "POST"])
@limiter.limit(_rate_limit)
def customer_login(token: str):
    use_it = (
        customers.consume_login_link
        if request.method == "POST"
        else (customers.login_link_customer)
    )
    try:
        if len(token) > MAX_TOKEN_LENGTH:
            raise NotFound()
        customer = use_it(token)
    except NotFound:
        return _page(404, customer=None, tenant=None, logged_in=False)
    tenant = db.session.get(Tenant, customer.tenant_id)
    return _page(200, customer=customer, tenant=tenant, logged_in=request.method == "POST")
