"""Errors to HTTP, in one place: JSON for the APIs, a message partial for HTMX, a page otherwise."""

from flask import Flask, jsonify, make_response, render_template, request
from flask_babel import gettext
from flask_limiter import RateLimitExceeded
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from followup.errors import DomainError
from followup.extensions import login_manager
from followup.htmx import is_partial_request
from followup.locales import mark
from followup.web.rate_limits import retry_after_s

# Werkzeug's and Flask-Limiter's texts are written for developers ("The browser (or
# proxy) sent a request that this server could not understand.", "20 per 1 minute"):
# people get ours. A description our own code gave (abort with a message) is kept.
HTTP_MESSAGES = {
    400: mark("The request could not be read. Reload the page and try again."),
    401: mark("Please log in first."),
    403: mark("You are not allowed to do this."),
    404: mark("There is nothing at this address. Check the link, or start again from the menu."),
    405: mark("This address does not take that kind of request."),
    413: mark("That was too much to send at once. Send less and try again."),
    429: mark("Too many tries in a short time. Wait a moment, then try again."),
}
OTHER_CLIENT_ERROR = mark("The request could not be handled. Reload the page and try again.")
SERVER_ERROR = mark("Something went wrong on our side.")
# Customers read it too: the login and rating pages post forms with the token.
SESSION_FORM_EXPIRED = mark(
    "Your session form expired or is missing its security token. Reload the page and try again."
)


def http_message(exc: HTTPException) -> str:
    """Ours for what a library raised; the description when our code wrote one."""
    status = exc.code or 500
    if not isinstance(exc, RateLimitExceeded) and exc.description != type(exc).description:
        return exc.description
    return HTTP_MESSAGES.get(status) or (SERVER_ERROR if status >= 500 else OTHER_CLIENT_ERROR)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, code: str, message: str, fields: dict | None = None):
    # In the visitor's language where a widget or customer page chose one (English
    # otherwise): a message the catalogues have is translated, any other kept as it is.
    message = gettext(message) if message else message  # gettext("") is the catalogue's header
    if wants_json():
        return jsonify(error={"code": code, "message": message, "fields": fields or {}}), status
    if is_partial_request():
        # Show the message in the page's alert area instead of inside the pane.
        body = render_template("_alert.html", message=message, fields=fields or {})
        return body, status, {"HX-Retarget": "#alerts", "HX-Reswap": "innerHTML"}
    return render_template(
        "error.html", status=status, message=message, fields=fields or {}
    ), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        return error_response(exc.http_status, exc.code, exc.message, exc.fields)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        if request.blueprint == "admin" and not current_user.is_authenticated:
            # The staff session ended, taking its CSRF secret along: log in again.
            return login_manager.unauthorized()
        return error_response(400, "csrf_failed", SESSION_FORM_EXPIRED)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        response = make_response(error_response(exc.code or 500, code, http_message(exc)))
        # Keep what the protocol needs, e.g. Allow on 405 and Retry-After on 429.
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(exc: RateLimitExceeded):
        exc.retry_after = retry_after_s()  # werkzeug sends it as the Retry-After header
        return http_error(exc)

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        # The route, not the path: paths carry widget keys and login tokens.
        route = request.url_rule.rule if request.url_rule else "-"
        app.logger.exception("Unhandled error on %s %s", request.method, route)
        return error_response(500, "internal_error", SERVER_ERROR)
