"""CORS for the widget API: only the tenant's own websites may call it from a browser.

The tenant comes from the URL: the public key, or the chat (preflights carry no
session token, so the chat id alone decides). Origins are stored normalized
(`services.tenant_settings.normalize_origin`), the way browsers send them, so a
plain comparison suffices. No cookies are involved, hence no Allow-Credentials.
"""

from collections.abc import Sequence

from flask import Response, request
from sqlalchemy import select

from followup.extensions import db
from followup.models import Chat, Tenant
from followup.services.queries import MAX_ID
from followup.web.widget_api import bp
from followup.web.widget_api.access import session_origins

ALLOW_HEADERS = "Authorization, Content-Type, Accept"
ALLOW_METHODS = "GET, POST, OPTIONS"
# Browsers cap this anyway (Chromium at 2 hours); 10 minutes keeps a removed
# origin from lingering long.
PREFLIGHT_MAX_AGE_S = 600
# What a script may read from our answers besides the basic headers.
EXPOSE_HEADERS = "Retry-After"
# Readable from any website: `/widget.js` asks it, on whatever site it was pasted,
# whether it may show itself there. It tells only that, never the allowed origins.
ANY_ORIGIN_ENDPOINTS = frozenset({"widget_api.widget_config"})


def _tenant_origins() -> Sequence[str]:
    args = request.view_args or {}
    known = session_origins()  # the chat's, if its session token was checked
    if known is not None:
        return known
    if "public_key" in args:
        query = select(Tenant.allowed_origins).where(Tenant.widget_public_key == args["public_key"])
    elif "chat_id" in args and 0 < args["chat_id"] <= MAX_ID:
        query = (
            select(Tenant.allowed_origins)
            .join(Chat, Chat.tenant_id == Tenant.id)
            .where(Chat.id == args["chat_id"])
        )
    else:
        return []
    return db.session.scalar(query) or []


def allowed_origin() -> str | None:
    """The request's Origin when the tenant allows it ("*" for an endpoint any website
    may read), else None."""
    if request.endpoint in ANY_ORIGIN_ENDPOINTS:
        return "*"
    origin = request.headers.get("Origin")
    if not origin:
        return None
    return origin if origin in _tenant_origins() else None


@bp.before_request
def answer_preflight() -> Response | None:
    # Every route accepts OPTIONS; the CORS headers are added below, or not.
    if request.method == "OPTIONS":
        return Response(status=204)
    return None


@bp.after_request
def add_cors_headers(response: Response) -> Response:
    response.vary.add("Origin")
    response.headers["X-Content-Type-Options"] = "nosniff"
    origin = allowed_origin()
    if origin is None:
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_S)
    else:
        response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    return response
