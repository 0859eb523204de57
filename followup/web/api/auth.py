"""Who is calling: bearer-token authentication, the body size bound and the rate limit."""

from flask import Response, current_app, make_response, request
from flask_limiter.util import get_remote_address

from followup.extensions import limiter
from followup.logs import note_tenant
from followup.models import ApiToken
from followup.services import api_tokens
from followup.web.api import bp
from followup.web.errors import error_response
from followup.web.requests import bearer_token, bound_body

# Follow-ups are small; a bound keeps a careless or hostile client from making
# us buffer megabytes.
MAX_BODY_BYTES = 64 * 1024
# Endpoints anyone may read (the API's own description).
PUBLIC_ENDPOINTS = frozenset({"api.openapi_document"})
# Kept in the WSGI environ rather than on `g`: the rate-limit key needs the token
# before the view runs, and `g` outlives a request when tests share an app context.
_ENVIRON_KEY = "followup.api_token"


def current_token() -> ApiToken | None:
    """The request's valid (known, not revoked) token, looked up once per request."""
    if _ENVIRON_KEY not in request.environ:
        raw = bearer_token()
        token = api_tokens.api_token_for(raw) if raw else None
        request.environ[_ENVIRON_KEY] = token
        if token is not None:
            note_tenant(token.tenant_id)
    return request.environ[_ENVIRON_KEY]


def request_token() -> ApiToken:
    """The token that authenticated this request; only for views behind the guard."""
    token = current_token()
    if token is None:
        raise RuntimeError("request_token() called on an unauthenticated request")
    return token


def _unauthorized() -> Response:
    if bearer_token() is None:
        message = "Send your API token in the header 'Authorization: Bearer <token>'."
        challenge = 'Bearer realm="followup"'
    else:
        message = "This API token is unknown or has been revoked."
        challenge = 'Bearer realm="followup", error="invalid_token"'
    response = make_response(error_response(401, "unauthorized", message))
    response.headers["WWW-Authenticate"] = challenge
    return response


bound_body(bp, MAX_BODY_BYTES)


@bp.before_request
def require_token() -> Response | None:
    if request.endpoint in PUBLIC_ENDPOINTS or current_token() is not None:
        return None
    return _unauthorized()


def _rate_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


def _rate_limit_key() -> str:
    # Each valid token has its own budget. Anything else counts against the
    # caller's address, so sending made-up tokens cannot dodge the limit.
    token = current_token()
    return f"api-token:{token.token_hash}" if token else get_remote_address()


limiter.limit(_rate_limit, key_func=_rate_limit_key)(bp)
