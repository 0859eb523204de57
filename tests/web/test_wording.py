"""Every error a customer or a staff member can read is ours: plain words that name the
field as its form labels it, never a library's text or an internal field name.

Each case sends one form or endpoint bad input, the way a person (or an API client)
would, and reads what comes back: the page's visible words, the errors the invalid
fields point to, or the JSON error's messages.
"""

from dataclasses import dataclass

import pytest

from followup.extensions import db
from followup.models import Chat
from followup.services import chats, followups
from followup.services.chats import MAX_MESSAGE_CHARS
from followup.services.followup_limits import MAX_NOTES, MAX_REASON
from tests.helpers.agents import make_agent
from tests.helpers.html_tree import error_of, group_names, invalid_controls, label_of, parse

# What email-validator, WTForms, marshmallow, werkzeug and Flask-Limiter say.
LIBRARY_PHRASES = (
    "This field is required",
    "Not a valid",
    "Field must",
    "The part after the @-sign",
    "An email address must have",
    "The email address is not valid",
    "There must be something",
    "Must be at most",
    "Must be text",
    "Invalid value",
    "value is not",
    "The requested URL",
    "The browser (or proxy)",
    "per 1 minute",
)
# Names from our code that mean nothing to the person reading.
INTERNAL_NAMES = (
    "text:",
    "notes:",
    "response_time_hours",
    "contact_email",
    "contact_phone",
    "sms_number",
    "serves_web_widget",
    "delay_hours",
    "delay_minutes",
    "allowed_origins",
    "working_hours",
    "special_dates",
    "per_page",
    "form_key",
)
BAD_EMAIL = "ada@example.com@example.org"  # email-validator: "The part after the @-sign …"
BAD_PHONE = "12345"
TOO_LONG_MESSAGE = "x" * (MAX_MESSAGE_CHARS + 1)


@dataclass
class World:
    """Everything the cases need: a staff member's browser, a widget chat, an API token."""

    staff: object
    client: object
    tenant: object
    agent: object
    chat_id: int
    session_token: str
    followup_id: int
    api_token: str
    step_id: int

    # --- sending ---

    def widget(self, method: str, tail: str, data: dict | None = None):
        url = f"/w/{self.tenant.widget_public_key}/chats/{self.chat_id}/{tail}"
        headers = {"HX-Request": "true", "Authorization": f"Bearer {self.session_token}"}
        return self.client.open(url, method=method, data=data, headers=headers)

    def widget_api(self, tail: str, body: dict):
        url = f"/api/widget/v1/chats/{self.chat_id}/{tail}"
        headers = {"Authorization": f"Bearer {self.session_token}"}
        return self.client.post(url, json=body, headers=headers)

    def api(self, method: str, url: str, body: dict | None = None):
        headers = {"Authorization": f"Bearer {self.api_token}"}
        return self.client.open(f"/api/v1{url}", method=method, json=body, headers=headers)

    def admin_post(self, url: str, data: dict, htmx: bool = True):
        return self.staff.post(f"/admin{url}", data=data, htmx=htmx)

    def admin_get(self, url: str, htmx: bool = False):
        return self.staff.get(f"/admin{url}", htmx=htmx)


@pytest.fixture
def world(app, tenant, staff_browser, api_token) -> World:
    agent = make_agent(tenant, "Alex", steps=1)
    client = app.test_client()
    started = client.post(f"/w/{tenant.widget_public_key}/chats", headers={"HX-Request": "true"})
    assert started.status_code == 201, started.get_data(as_text=True)
    chat_id = int(started.headers["X-Chat-Id"])
    chats.post_client_message(db.session.get(Chat, chat_id), "Hello")
    followup = followups.create_followup(
        tenant.id,
        {"name": "Ada Lovelace", "email": "ada@example.com", "reason": "Invoice"},
        source="api",
    )
    return World(
        staff=staff_browser,
        client=client,
        tenant=tenant,
        agent=agent,
        chat_id=chat_id,
        session_token=started.headers["X-Session-Token"],
        followup_id=followup.id,
        api_token=api_token,
        step_id=agent.steps[0].id,
    )


FOLLOWUP_FORM = {
    "name": "",
    "email": BAD_EMAIL,
    "phone": BAD_PHONE,
    "reason": "x" * (MAX_REASON + 1),
}
FOLLOWUP_LABELS = ("Name", "Email", "Phone", "Reason")
STEP = {"delay_hours": "abc", "delay_minutes": "75", "instruction": ""}

# (id, what a person or client sends, the labels the errors must name); the forms
# that come back with their fields marked are listed in FORM_CASES.
CASES = [
    # The chat widget, as customers see it.
    (
        "widget-followup-form",
        lambda w: w.widget("POST", "followups", FOLLOWUP_FORM | {"form_key": "contact"}),
        FOLLOWUP_LABELS,
    ),
    ("widget-login", lambda w: w.widget("POST", "login", {"email": BAD_EMAIL}), ("Email",)),
    (
        "widget-message-too-long",
        lambda w: w.widget("POST", "messages", {"text": TOO_LONG_MESSAGE}),
        ("Message",),
    ),
    ("widget-message-empty", lambda w: w.widget("POST", "messages", {"text": " "}), ("Message",)),
    # The widget's JSON API, whose messages a custom UI shows to customers.
    ("widget-api-followup", lambda w: w.widget_api("followups", FOLLOWUP_FORM), FOLLOWUP_LABELS),
    (
        "widget-api-message",
        lambda w: w.widget_api("messages", {"text": TOO_LONG_MESSAGE}),
        ("Message",),
    ),
    ("widget-api-login", lambda w: w.widget_api("login-link", {"email": BAD_EMAIL}), ("Email",)),
    # The REST API.
    ("api-create", lambda w: w.api("POST", "/followups", FOLLOWUP_FORM), FOLLOWUP_LABELS),
    (
        "api-list",
        lambda w: w.api("GET", "/followups?page=0&per_page=1000&status=done&q=" + "x" * 201),
        ("Page", "Per page", "Status", "Search"),
    ),
    (
        "api-update",
        lambda w: w.api(
            "PATCH",
            f"/followups/{w.followup_id}",
            {"notes": "x" * (MAX_NOTES + 1), "priority": "urgent", "status": "done"},
        ),
        ("Notes", "Priority", "Status"),
    ),
    # The admin panel, as staff see it.
    (
        "settings-business",
        lambda w: w.admin_post(
            "/settings/business",
            {
                "name": "",
                "contact_email": BAD_EMAIL,
                "contact_phone": BAD_PHONE,
                "timezone": "Mars",
            },
        ),
        ("Business name", "Contact email", "Contact phone", "Time zone"),
    ),
    (
        "settings-sms-without-phone",
        lambda w: w.admin_post(
            "/settings/business",
            {"name": "Acme", "contact_phone": "", "timezone": "UTC", "sms_enabled": "on"},
        ),
        ("Contact phone",),
    ),
    (
        "settings-origins",
        lambda w: w.admin_post("/settings/origins", {"allowed_origins": "example.com/shop"}),
        ("Allowed website origins",),
    ),
    (
        "followup-settings",
        lambda w: w.admin_post("/followups/settings", {"response_time_hours": "500"}),
        ("Response Time (hours)",),
    ),
    (
        "followup-status",
        # Without HTMX: the page comes back with the refusal's status (HTMX gets the pane).
        lambda w: w.admin_post(
            f"/followups/{w.followup_id}/status", {"status": "done"}, htmx=False
        ),
        ("Status",),
    ),
    (
        "followup-note",
        # Without HTMX: the page comes back with 422 (HTMX gets the pane).
        lambda w: w.admin_post(
            f"/followups/{w.followup_id}/timeline/notes",
            {"text": "x" * (MAX_NOTES + 1)},
            htmx=False,
        ),
        ("Note",),
    ),
    (
        "followups-search",
        lambda w: w.admin_get("/followups?status=done&q=" + "x" * 201),
        ("Search", "Status"),
    ),
    (
        "users-search",
        lambda w: w.admin_get("/users?status=vip&q=" + "x" * 201),
        ("Search", "Status"),
    ),
    (
        "auto-followup-dashboard",
        lambda w: w.admin_get("/auto-followup?agent=abc&q=" + "x" * 201),
        ("Search", "Employee"),
    ),
    (
        "chat-reply",
        lambda w: w.admin_post(f"/chats/{w.chat_id}/reply", {"text": TOO_LONG_MESSAGE}),
        ("Reply as staff",),
    ),
    (
        "new-employee",
        lambda w: w.admin_post("/agents", {"name": "", "role": "x" * 201, "tone": ""}),
        ("Name", "Role", "Tone"),
    ),
    (
        "employee-persona",
        lambda w: w.admin_post(
            f"/agents/{w.agent.id}/persona",
            {"name": "x" * 101, "role": "", "tone": "Kind", "instructions": "x" * 8001},
        ),
        ("Name", "Role", "Instructions"),
    ),
    (
        "employee-channels",
        lambda w: w.admin_post(f"/agents/{w.agent.id}/channels", {"sms_number": BAD_PHONE}),
        ("SMS number", "This employee answers the website chat"),
    ),
    (
        "employee-new-step",
        lambda w: w.admin_post(f"/agents/{w.agent.id}/steps", STEP),
        ("Hours", "Minutes", "Message instruction"),
    ),
    (
        "employee-step",
        lambda w: w.admin_post(f"/agents/{w.agent.id}/steps/{w.step_id}", STEP),
        ("Hours", "Minutes", "Message instruction"),
    ),
    (
        "employee-step-no-delay",
        lambda w: w.admin_post(
            f"/agents/{w.agent.id}/steps",
            {"delay_hours": "0", "delay_minutes": "0", "instruction": "Hi"},
        ),
        ("Delay",),
    ),
    (
        "employee-working-hours",
        lambda w: w.admin_post(
            f"/agents/{w.agent.id}/working-hours",
            {"op": "save", "timezone": "Mars", "mon-start": "25:00", "mon-end": "18:00"},
        ),
        ("Time zone", "Monday"),
    ),
]


FORM_CASES = [
    case
    for case in CASES
    if case[0].startswith(("widget-followup", "widget-login", "settings", "employee", "new-"))
    or case[0] in ("followup-settings", "chat-reply")
]


def _messages(response) -> tuple[str, list[str]]:
    """What the person reads: all visible words, and the error messages among them."""
    if response.is_json:
        error = response.get_json()["error"]
        messages = [error["message"], *error["fields"].values()]
        return " ".join(messages), messages
    root = parse(response.get_data(as_text=True))
    errors = [
        e.text()
        for e in root.iter()
        if e.classes() & {"field-error", "form-error", "alert-error", "error-page"}
    ]
    return root.text(), errors


@pytest.mark.parametrize("send, labels", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_errors_are_ours_and_name_the_field_as_labelled(world, send, labels):
    response = send(world)

    assert response.status_code in (400, 409, 422), response.get_data(as_text=True)[:500]
    words, errors = _messages(response)
    for phrase in LIBRARY_PHRASES:
        assert phrase.lower() not in words.lower(), f"{phrase!r} in: {words[:400]}"
    for name in INTERNAL_NAMES:
        assert name not in words, f"{name!r} in: {words[:400]}"
    for label in labels:
        assert any(f"{label}:" in error for error in errors), f"{label!r} not named in {errors}"


@pytest.mark.parametrize("send", [c[1] for c in FORM_CASES], ids=[c[0] for c in FORM_CASES])
def test_every_invalid_field_names_its_own_label(world, send):
    """The message a marked field points to names that field as its label shows it, or
    the group it is part of ("Delay" for its hours and minutes, "Monday" for its times)."""
    root = parse(send(world).get_data(as_text=True))
    controls = invalid_controls(root)
    assert controls, "no field is marked invalid"
    for control in controls:
        names = [label_of(root, control), *group_names(root, control)]
        error = error_of(root, control)
        assert any(f"{name}:" in error for name in names), (names, error)


def _over_the_limit(world: World):
    world.client.application.config["WIDGET_CONFIG_LIMIT_PER_IP"] = "1 per minute"
    url = f"/api/widget/v1/{world.tenant.widget_public_key}/config"
    assert world.client.get(url).status_code == 200
    return world.client.get(url)


# (id, a request the framework refuses, its status, our message)
HTTP_CASES = [
    (
        "unknown-page",
        lambda w: w.admin_get("/no-such-page"),
        404,
        "There is nothing at this address.",
    ),
    (
        "unknown-api-path",
        lambda w: w.api("GET", "/no-such-thing"),
        404,
        "There is nothing at this address.",
    ),
    (
        "wrong-method",
        lambda w: w.api("DELETE", f"/followups/{w.followup_id}"),
        405,
        "This address does not take that kind of request.",
    ),
    ("over-the-rate-limit", _over_the_limit, 429, "Too many tries in a short time."),
]


@pytest.mark.parametrize(
    "send, status, message", [c[1:] for c in HTTP_CASES], ids=[c[0] for c in HTTP_CASES]
)
def test_refusals_by_the_framework_are_in_our_words(world, send, status, message):
    response = send(world)

    assert response.status_code == status
    words, _errors = _messages(response)
    assert message in words
    for phrase in LIBRARY_PHRASES:
        assert phrase.lower() not in words.lower(), f"{phrase!r} in: {words[:400]}"
