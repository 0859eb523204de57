"""The page a customer's one-time login link opens.

Opening the link (GET) only asks for the code the chat showed; the button (POST)
uses the link up. Mail scanners open links before people do, and must not spend
them. The link logs the customer in to the chat that asked for it (the chat, not
this browser tab, is what the customer uses), so the page then only says what
happened. Only the code shown in that chat does it: somebody who got a link they
did not ask for cannot log the asker's chat in.
"""

from flask import Blueprint, current_app, make_response, render_template, request

from followup.errors import NotFound, ValidationFailed
from followup.extensions import db, limiter
from followup.models import Tenant
from followup.services import customer_login as service
from followup.web.forms import PostedForm, Text
from followup.web.locale import use_locale, visitor_locale

bp = Blueprint("customer_login", __name__)


class LoginCodeForm(PostedForm):
    code = Text()  # the code the chat that asked for the link shows


MAX_TOKEN_LENGTH = 200


def _rate_limit() -> str:
    return current_app.config["CUSTOMER_LOGIN_RATE_LIMIT"]


def _page(status: int, **context):
    ttl_minutes = int(service.LOGIN_LINK_TTL.total_seconds() // 60)
    context = {"errors": {}, "code": ""} | context
    page = render_template(
        "customer_login.html",
        ttl_minutes=ttl_minutes,
        code_length=service.LOGIN_CODE_LENGTH,
        **context,
    )
    response = make_response(page, status)
    # The token is in the URL: keep it out of caches, Referer headers and search engines.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _speak_as_the_chat(token: str) -> None:
    """The page is in the language of the chat that asked for the link (the browser's,
    when the link is unknown)."""
    asked = service.link_locale(token)
    use_locale(visitor_locale(None, asked))


@bp.route("/customer-login/<token>", methods=["GET", "POST"])
@limiter.limit(_rate_limit)
def customer_login(token: str):
    code = LoginCodeForm.posted().code.data
    try:
        if len(token) > MAX_TOKEN_LENGTH:
            raise NotFound()
        _speak_as_the_chat(token)
        if request.method == "POST":
            customer = service.consume_login_link(token, code)
        else:
            customer = service.login_link_customer(token)
    except NotFound:
        return _page(404, customer=None, tenant=None, logged_in=False)
    except ValidationFailed as exc:  # a wrong code: the link still works, a few times
        customer = service.login_link_customer(token)
        tenant = db.session.get(Tenant, customer.tenant_id)
        return _page(422, customer=customer, tenant=tenant, logged_in=False, errors=exc.fields)
    tenant = db.session.get(Tenant, customer.tenant_id)
    return _page(200, customer=customer, tenant=tenant, logged_in=request.method == "POST")
