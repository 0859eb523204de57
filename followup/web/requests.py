"""Reading what API clients send: the bearer token and the JSON body."""

from flask import request

from followup.errors import DomainError


class BadJson(DomainError):
    code = "bad_json"
    http_status = 400


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if any."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def json_object() -> dict:
    """The request body as a JSON object; anything else is a 400 that says what to send."""
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict):
        raise BadJson("Send a JSON object with 'Content-Type: application/json'.")
    return body
