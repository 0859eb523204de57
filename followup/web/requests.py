"""Reading what clients send, and where the one rule for the text in it is checked.

Text we are sent (the URL's path and query, form fields, JSON strings and keys) must
keep the rule of `services.validation.REFUSED_CHARACTERS_CLASS` (no control
characters but tab, line feed and carriage return, no lone surrogates). Such a
request is refused whole with a 400 in our words and changes nothing; nothing is
stripped, since a stripped value is not what the sender meant. JSON bodies nest at
most MAX_JSON_DEPTH deep and URLs are at most MAX_URL_BYTES long. The one exception
are provider webhooks (the Twilio SMS hook): refusing a text there would lose it, so
their own code strips the same characters after checking the signature
(`services.validation.without_refused_characters`).
"""

import json
from collections.abc import Callable

from flask import Blueprint, Flask, request
from flask.json.provider import DefaultJSONProvider
from htmx_flask.requests import HtmxAwareRequest
from werkzeug.datastructures import ImmutableMultiDict

from followup.errors import DomainError
from followup.services.validation import has_refused_characters

# Everything our clients send nests a few levels (the widget's customer: 2); anything
# much deeper is an attack on the parser's (and the serializer's) recursion.
MAX_JSON_DEPTH = 32
# Below gunicorn's request-line limit (set to 8190 in the README's command and
# `make run`), so a long URL gets our 414, not gunicorn's HTML page.
MAX_URL_BYTES = 4096
# Blueprints whose form text is not checked here (see the module's docstring).
RAW_TEXT_BLUEPRINTS = frozenset({"hooks"})


class BadJson(DomainError):
    code = "bad_json"
    http_status = 400


class BadText(DomainError):
    code = "bad_characters"
    http_status = 400

    def __init__(self):
        super().__init__(
            "The request contains characters we cannot accept (control characters such "
            "as NUL, or broken Unicode). Remove them and try again."
        )


class UrlTooLong(DomainError):
    code = "url_too_long"
    http_status = 414

    def __init__(self):
        super().__init__(
            f"This address is too long (more than {MAX_URL_BYTES:,} characters). "
            "Shorten the search or the link and try again."
        )


NOT_JSON = "The request body is not valid JSON."


def _check_texts(texts) -> None:
    if any(has_refused_characters(text) for text in texts):
        raise BadText()


def _check_json_value(value: object) -> None:
    """Every string and key of a parsed document, and its depth, without recursion."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise BadJson(f"{NOT_JSON} It nests more than {MAX_JSON_DEPTH} levels deep.")
        if isinstance(item, str):
            _check_texts((item,))
        elif isinstance(item, dict):
            _check_texts(item.keys())
            pending.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)


def parse_json(data: str | bytes) -> object:
    """A JSON document by the rule above; BadJson or BadText otherwise."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):  # RecursionError: nested past Python's stack
        raise BadJson(NOT_JSON) from None
    _check_json_value(value)
    return value


class JsonByTheRule(DefaultJSONProvider):
    """The app's JSON, which `request.get_json()` parses with."""

    def loads(self, s: str | bytes, **_kwargs) -> object:
        return parse_json(s)


class FollowupRequest(HtmxAwareRequest):
    """The request (with htmx-flask's `request.htmx`), its form fields and JSON bodies
    read by the rule above."""

    def _load_form_data(self) -> None:
        super()._load_form_data()
        if self.blueprint in RAW_TEXT_BLUEPRINTS:
            return
        form = self.form
        if any(has_refused_characters(k) or has_refused_characters(v) for k, v in form.items(True)):
            # Later reads (an error page, CSRF) see an empty form instead of the text.
            self.form = ImmutableMultiDict()
            raise BadText()


def _check_url() -> None:
    """The path and query: before any view reads them, whichever view it is."""
    raw_uri = request.environ.get("RAW_URI") or request.full_path
    if len(raw_uri.encode("utf-8", "replace")) > MAX_URL_BYTES:
        raise UrlTooLong()
    query = (text for pair in request.args.items(multi=True) for text in pair)
    _check_texts((request.path, *query))


def install_input_rule(app: Flask) -> None:
    """Make every request follow the rule; called after the extensions (htmx-flask sets
    its own request class), its check first of all."""
    app.request_class = FollowupRequest
    app.json = JsonByTheRule(app)
    app.before_request_funcs.setdefault(None, []).insert(0, _check_url)


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if any."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def json_object() -> dict:
    """The request body as a JSON object; anything else is a 400 that says what to send."""
    if not request.is_json:
        raise BadJson("Send a JSON object with 'Content-Type: application/json'.")
    body = request.get_json()
    if not isinstance(body, dict):
        raise BadJson('Send a JSON object, like {"name": …}.')
    return body


def bound_body(blueprint: Blueprint, max_bytes: int) -> Callable[[], None]:
    """Every request of `blueprint` may send at most `max_bytes`: reading more raises 413.
    Set per request, so the rest of the app keeps its own limit. Returns the hook, for
    code that reads the body before the blueprint's hooks run."""

    def bound() -> None:
        request.max_content_length = max_bytes

    return blueprint.before_request(bound)
