"""Hostile input on the public endpoints: never a 5xx, and a refusal stores nothing.

The classes the attack probe used (issue 12): NUL and other control characters, lone
surrogates, JSON nested thousands deep, huge numbers, wrong types, a non-ASCII
signature, NUL in the widget key, overlong strings; first one by one, then mixed by
Hypothesis into every field of every endpoint.
"""

import json
import runpy
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from followup.extensions import db
from followup.models import Chat, Customer, FollowUpActivity, FollowUpRequest, Message, StaffUser
from followup.services import api_tokens, chat_identity
from followup.web.requests import MAX_JSON_DEPTH, MAX_URL_BYTES

STORED = (FollowUpRequest, FollowUpActivity, Chat, Message, Customer, StaffUser)
NUL = "a\x00b"
CONTROL = "bell\x07"
SURROGATE = "\ud800"
HUGE_NUMBER = 10**200
NON_ASCII_SIGNATURE = "é" * 64
OVERLONG = "x" * 20_000
DEEP_JSON = "[" * 5000 + "]" * 5000
SURROGATES = (SURROGATE, "\udfff tail")
# DEL and a C1 control: the one rule (services.validation) the SMS webhook strips by.
REFUSED_TEXTS = (NUL, CONTROL, "\x1b[31m", "del\x7f", "csi\x9b", *SURROGATES)
HOSTILE_VALUES = (
    *REFUSED_TEXTS,
    HUGE_NUMBER,
    -HUGE_NUMBER,
    1e308,
    True,
    None,
    [],
    {},
    ["a", {"b": NUL}],
    {"deep": [[[[[]]]]]},
    NON_ASCII_SIGNATURE,
    OVERLONG,
    "",
    " ",
    "ok text",
)


def _unlimited(app: Flask) -> None:
    """Rate limits would turn most of the fuzzing into 429s."""
    for name in list(app.config):
        if name.endswith("_RATE_LIMIT") or "_LIMIT_PER_" in name:
            app.config[name] = "100000 per minute"


def stored_counts() -> dict[str, int]:
    db.session.rollback()
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in STORED}


@dataclass
class World:
    """A tenant with its widget chat, API token and staff login, seen from outside."""

    client: FlaskClient
    key: str
    api_token: str
    chat_id: int
    session_token: str
    followup_id: int

    def widget_api(self, tail: str) -> str:
        return f"/api/widget/v1/chats/{self.chat_id}/{tail}"

    def widget_page(self, tail: str) -> str:
        return f"/w/{self.key}/chats/{self.chat_id}/{tail}"

    def chat_headers(self, htmx: bool = False) -> dict:
        return {"Authorization": f"Bearer {self.session_token}"} | (
            {"HX-Request": "true"} if htmx else {}
        )

    def api_headers(self) -> dict:
        return {"Authorization": f"Bearer {self.api_token}", "Content-Type": "application/json"}


@pytest.fixture
def world(app, tenant, staff, make_followup) -> World:
    _unlimited(app)
    client = app.test_client()
    started = client.post(f"/api/widget/v1/{tenant.widget_public_key}/sessions")
    assert started.status_code == 201
    return World(
        client=client,
        key=tenant.widget_public_key,
        api_token=api_tokens.create_api_token(tenant.slug, "fuzz"),
        chat_id=started.json["chat_id"],
        session_token=started.json["session_token"],
        followup_id=make_followup(tenant).id,
    )


def raw_json(value: object) -> str:
    # ensure_ascii writes a lone surrogate as the escape \ud800, as an attacker would.
    return json.dumps(value)


# Each endpoint takes the body's fields as a dict and sends them its own way.
Sender = Callable[[World, dict], object]

VALID_FOLLOWUP = {"name": "Ada", "email": "ada@example.com", "reason": "Call me"}


def _json_post(url_of: Callable[[World], str], headers_of: Callable[[World], dict]) -> Sender:
    def send(world: World, fields: dict):
        headers = {"Content-Type": "application/json"} | headers_of(world)
        return world.client.post(url_of(world), data=raw_json(fields), headers=headers)

    return send


def _form_post(url_of: Callable[[World], str], headers_of: Callable[[World], dict]) -> Sender:
    def send(world: World, fields: dict):
        data = {k: v if isinstance(v, str) else raw_json(v) for k, v in fields.items()}
        # Encoded by hand: a lone surrogate goes out as the invalid UTF-8 a client can send.
        body = urlencode(data, encoding="utf-8", errors="surrogatepass")
        headers = {"Content-Type": "application/x-www-form-urlencoded"} | headers_of(world)
        return world.client.post(url_of(world), data=body, headers=headers)

    return send


def _api_patch(world: World, fields: dict):
    url = f"/api/v1/followups/{world.followup_id}"
    return world.client.patch(url, data=raw_json(fields), headers=world.api_headers())


def _customer_login(world: World, fields: dict):
    token = fields.get("token", "x")
    token = quote(
        token if isinstance(token, str) else raw_json(token), safe="", errors="surrogatepass"
    )
    form = {k: v for k, v in fields.items() if k != "token"}
    return _form_post(lambda w: f"/customer-login/{token}", lambda w: {})(world, form)


# (endpoint name, sender, a valid body to put the hostile value into)
ENDPOINTS: dict[str, tuple[Sender, dict]] = {
    "widget api session": (
        _json_post(lambda w: f"/api/widget/v1/{w.key}/sessions", lambda w: {}),
        {
            "customer": {"id": "42", "name": "Ada", "signature": "ab"},
            "page_url": "https://x.example/",
        },
    ),
    "widget api message": (
        _json_post(lambda w: w.widget_api("messages"), World.chat_headers),
        {"text": "hello", "mode": "text"},
    ),
    "widget api follow-up": (
        _json_post(lambda w: w.widget_api("followups"), World.chat_headers),
        VALID_FOLLOWUP,
    ),
    "widget api login link": (
        _json_post(lambda w: w.widget_api("login-link"), World.chat_headers),
        {"email": "ada@example.com"},
    ),
    "widget page start": (
        _form_post(lambda w: f"/w/{w.key}/chats", lambda w: {"HX-Request": "true"}),
        {"customer": raw_json({"id": "42", "signature": "ab"}), "page_url": "https://x.example/"},
    ),
    "widget page message": (
        _form_post(lambda w: w.widget_page("messages"), lambda w: w.chat_headers(htmx=True)),
        {"text": "hello", "mode": "text", "after": "0"},
    ),
    "widget page follow-up": (
        _form_post(lambda w: w.widget_page("followups"), lambda w: w.chat_headers(htmx=True)),
        VALID_FOLLOWUP | {"form_key": "contact"},
    ),
    "widget page login": (
        _form_post(lambda w: w.widget_page("login"), lambda w: w.chat_headers(htmx=True)),
        {"email": "ada@example.com"},
    ),
    "staff login": (
        _form_post(lambda w: "/login", lambda w: {}),
        {"email": "a@b.c", "password": "x"},
    ),
    "customer login": (_customer_login, {"token": "abc"}),
    "api create": (_json_post(lambda w: "/api/v1/followups", World.api_headers), VALID_FOLLOWUP),
    "api update": (_api_patch, {"notes": "called", "priority": "high", "notes_version": 0}),
}


def assert_no_server_error(response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.data[:300]!r}"


def assert_refused_in_our_words(response) -> None:
    assert response.status_code in (400, 413, 414, 422), response.status_code
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "psycopg" not in text and "codec" not in text


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_control_characters_and_lone_surrogates_are_refused_and_store_nothing(world, endpoint):
    send, valid = ENDPOINTS[endpoint]
    for text in REFUSED_TEXTS:
        for field in valid:
            before = stored_counts()
            response = send(world, valid | {field: text})
            assert_no_server_error(response, f"{endpoint}.{field} {text!r}")
            if text in SURROGATES and not endpoint.startswith(("widget api", "api")):
                # Sent as invalid UTF-8, which reads as U+FFFD: harmless, and accepted.
                continue
            assert_refused_in_our_words(response)
            assert stored_counts() == before, f"{endpoint}.{field} {text!r} stored something"


@pytest.mark.parametrize(
    "endpoint", [name for name in ENDPOINTS if name.startswith(("widget api", "api"))]
)
@pytest.mark.parametrize(
    "body",
    [DEEP_JSON, "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), "9" * 5000, "{", "\xff"],
    ids=["5000-deep", "just-too-deep", "5000-digit-number", "broken", "not-utf-8"],
)
def test_unreadable_json_is_a_400_that_says_so(world, endpoint, body):
    before = stored_counts()
    response = world.client.open(
        **_raw_request(world, endpoint), data=body.encode("utf-8", "surrogatepass")
    )
    assert response.status_code == 400, response.data
    assert response.json["error"]["code"] == "bad_json"
    assert response.json["error"]["message"].startswith("The request body is not valid JSON.")
    assert stored_counts() == before


def _raw_request(world: World, endpoint: str) -> dict:
    urls = {
        "widget api session": (f"/api/widget/v1/{world.key}/sessions", {}),
        "widget api message": (world.widget_api("messages"), world.chat_headers()),
        "widget api follow-up": (world.widget_api("followups"), world.chat_headers()),
        "widget api login link": (world.widget_api("login-link"), world.chat_headers()),
        "api create": ("/api/v1/followups", world.api_headers()),
        "api update": (f"/api/v1/followups/{world.followup_id}", world.api_headers()),
    }
    path, headers = urls[endpoint]
    method = "PATCH" if endpoint == "api update" else "POST"
    return {
        "path": path,
        "method": method,
        "headers": {"Content-Type": "application/json"} | headers,
    }


def test_a_deep_customer_in_the_widget_page_starts_an_anonymous_chat(world):
    response = world.client.post(f"/w/{world.key}/chats", data={"customer": "[" * 1999})
    assert response.status_code == 201


@pytest.mark.parametrize(
    "path",
    [
        "/w/%00abc",
        "/w/pk%00/chats",
        "/api/widget/v1/%00/config",
        "/api/widget/v1/%00/sessions",
        "/admin/followups?q=%00",
        "/api/v1/followups?q=%00",
        "/api/v1/followups?q=%01",
        "/customer-login/%00",
        "/login?next=%00",
    ],
)
def test_nul_in_the_url_is_refused_in_our_words(world, path):
    method = "POST" if path.endswith("sessions") else "GET"
    headers = world.api_headers() if path.startswith("/api/v1") else {}
    response = world.client.open(path, method=method, headers=headers)
    assert_no_server_error(response, path)
    assert response.status_code in (400, 404), response.status_code


def test_nul_in_an_admin_search_and_form_is_refused(app, world, staff_browser, make_followup):
    listed = staff_browser.get("/admin/followups?q=a%00b", htmx=True)
    assert listed.status_code == 400
    assert "characters we cannot accept" in listed.get_data(as_text=True)
    before = stored_counts()
    saved = staff_browser.post(
        f"/admin/followups/{world.followup_id}/timeline/notes", {"text": NUL}, htmx=True
    )
    assert saved.status_code == 400
    assert "characters we cannot accept" in saved.get_data(as_text=True)
    assert stored_counts() == before


def test_a_long_url_gets_our_414_before_gunicorn_would(world):
    response = world.client.get(
        "/api/v1/followups?q=" + "x" * MAX_URL_BYTES, headers=world.api_headers()
    )
    assert response.status_code == 414
    assert response.json["error"]["code"] == "url_too_long"
    page = world.client.get("/admin/followups?q=" + "x" * MAX_URL_BYTES)
    assert page.status_code == 414
    assert page.mimetype == "text/html"


def test_a_non_ascii_signature_leaves_an_unverified_chat(world, tenant):
    customer = {"id": "42", "name": "Ada", "signature": NON_ASCII_SIGNATURE}
    for send, data in (
        (ENDPOINTS["widget api session"][0], {"customer": customer}),
        (ENDPOINTS["widget page start"][0], {"customer": raw_json(customer)}),
    ):
        response = send(world, data)
        assert response.status_code == 201, response.data
    db.session.rollback()
    newest = db.session.scalars(select(Chat).order_by(Chat.id.desc())).first()
    assert newest is not None and chat_identity.proven_email(newest) is None


@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    endpoint=st.sampled_from(sorted(ENDPOINTS)),
    changes=st.dictionaries(
        st.sampled_from(
            [
                "name",
                "email",
                "reason",
                "text",
                "mode",
                "customer",
                "priority",
                "notes",
                "notes_version",
                "status",
                "phone",
                "token",
                "password",
                "form_key",
                "form_id",
                "after",
                "page_url",
                "summary",
                NUL,
            ]
        ),
        st.one_of(st.sampled_from(HOSTILE_VALUES), st.text(max_size=30)),
        max_size=3,
    ),
)
def test_fuzzed_bodies_never_get_a_server_error(world, endpoint, changes):
    send, valid = ENDPOINTS[endpoint]
    before = stored_counts()
    response = send(world, valid | changes)
    assert_no_server_error(response, f"{endpoint} {changes!r}")
    if response.status_code >= 400:
        assert stored_counts() == before, f"{endpoint} {changes!r} was refused but stored"


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=lambda value: repr(value)[:20])
@pytest.mark.parametrize("endpoint", ["widget api follow-up", "widget page follow-up"])
def test_any_form_id_gets_an_answer_never_a_server_error(world, endpoint, value):
    send, valid = ENDPOINTS[endpoint]
    before = stored_counts()
    response = send(world, valid | {"form_id": value})
    assert_no_server_error(response, f"{endpoint} form_id={value!r}")
    if response.status_code >= 400:
        assert stored_counts() == before


@pytest.mark.parametrize("key", ["", " ", "é", "x" * 300, "a\tb", NON_ASCII_SIGNATURE])
def test_an_odd_idempotency_key_is_refused_in_our_words(world, key):
    headers = world.api_headers() | {"Idempotency-Key": key}
    before = stored_counts()
    response = world.client.post("/api/v1/followups", json=VALID_FOLLOWUP, headers=headers)
    assert response.status_code == 422, response.data
    assert "Idempotency-Key" in response.get_json()["error"]["message"]
    assert stored_counts() == before


def test_gunicorn_passes_long_urls_on_to_our_own_limit():
    # gunicorn.conf.py is what `make run` and production serve with (tests/unit/test_serving.py).
    from followup.devserver import GUNICORN_CONFIG

    gunicorn_limit = runpy.run_path(str(GUNICORN_CONFIG))["limit_request_line"]
    assert gunicorn_limit > MAX_URL_BYTES + len("OPTIONS  HTTP/1.1")
