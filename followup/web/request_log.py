"""The request id and the line each request leaves (followup/logs.py formats it).

The route is the URL rule (`/widget/<public_key>/chats/<int:chat_id>`), never the path
itself: paths carry widget keys, login and reset tokens; the query string is never
logged. The time is until the response starts: a streamed answer goes on after it."""

import time

from flask import Flask, Response, g, request

from followup.logs import REQUEST_ID_HEADER, log_request, noted_tenant, request_id_from

UNMATCHED_ROUTE = "-"  # a 404 for an address the app has no rule for


def install_request_log(app: Flask) -> None:
    """Before every other hook (create_app calls this first), so refusals get a line too."""
    app.before_request(_start)
    app.after_request(_finish)


def _start() -> None:
    g.request_started = time.monotonic()
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))


def _finish(response: Response) -> Response:
    request_id = g.get("request_id") or request_id_from(None)
    started = g.get("request_started", time.monotonic())
    response.headers[REQUEST_ID_HEADER] = request_id
    log_request(
        {
            "id": request_id,
            "method": request.method,
            "route": request.url_rule.rule if request.url_rule else UNMATCHED_ROUTE,
            "status": response.status_code,
            "ms": round((time.monotonic() - started) * 1000),
            "tenant": _tenant_id(),
        }
    )
    return response


def _tenant_id() -> int | None:
    noted = noted_tenant()
    if noted is not None:
        return noted
    # The staff member Flask-Login loaded for this request, if any: read without loading
    # one (that would cost a query on requests that never needed it).
    user = g.get("_login_user")
    return getattr(user, "tenant_id", None)
