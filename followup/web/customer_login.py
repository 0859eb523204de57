"""The page a customer's one-time login link opens.

The link logs the customer in to the chat that asked for it (the chat, not this
browser tab, is what the customer uses), so this page only says what happened.
"""

from flask import Blueprint, current_app, make_response, render_template

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


@bp.get("/customer-login/<token>")
@limiter.limit(_rate_limit)
def customer_login(token: str):
    try:
        if len(token) > MAX_TOKEN_LENGTH:
            raise NotFound()
        customer = customers.consume_login_link(token)
    except NotFound:
        return _page(404, customer=None, tenant=None)
    return _page(200, customer=customer, tenant=db.session.get(Tenant, customer.tenant_id))
