"""A visitor in the widget, as the tests drive it: `Visitor` is the chat page's script
(the HTMX routes under /w/), `SurfaceChat` a chat through either surface (the page or
the JSON client API), for tests that run on both."""

import html
import json
import re
from html import unescape

from flask.testing import FlaskClient

from followup.extensions import db
from followup.models import Chat

SURFACES = ["widget", "api"]


class SurfaceChat:
    """A visitor's chat through one of the two widget surfaces: the HTMX page or the JSON
    client API, each with its own session token, as a browser would hold it."""

    def __init__(
        self,
        app,
        tenant,
        surface: str,
        customer: dict | None = None,
        page_url: str | None = None,
        headers: dict | None = None,
    ):
        self.client = app.test_client()
        self.key = tenant.widget_public_key
        self.surface = surface
        sent = {"customer": customer, "page_url": page_url}
        sent = {name: value for name, value in sent.items() if value is not None}
        if surface == "widget":
            if "customer" in sent:
                sent["customer"] = json.dumps(sent["customer"])
            started = self.client.post(f"/w/{self.key}/chats", data=sent, headers=headers)
            assert started.status_code == 201, started.text
            self.chat_id = int(started.headers["X-Chat-Id"])
            self.token = started.headers["X-Session-Token"]
        else:
            started = self.client.post(
                f"/api/widget/v1/{self.key}/sessions", json=sent, headers=headers
            )
            assert started.status_code == 201, started.text
            self.chat_id, self.token = started.json["chat_id"], started.json["session_token"]

    def _headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}", "HX-Request": "true"}

    def my_requests(self) -> list[str]:
        """The reasons of the requests the chat lists under "My requests"."""
        if self.surface == "widget":
            page = self.client.get(
                f"/w/{self.key}/chats/{self.chat_id}/requests", headers=self._headers()
            )
            return [
                html.unescape(r) for r in re.findall(r'class="request-reason">([^<]*)<', page.text)
            ]
        listing = self.client.get(
            f"/api/widget/v1/chats/{self.chat_id}/followups", headers=self._headers()
        )
        return [item["reason"] for item in listing.json["items"]]


class Visitor:
    """The chat page's script: it keeps the session token and sends it as a bearer token."""

    def __init__(self, client: FlaskClient, tenant):
        self.client = client
        self.key = tenant.widget_public_key
        self.chat_id: int | None = None
        self.token: str | None = None

    def start(self, customer: str | None = None, headers: dict | None = None, **fields):
        """Open the chat as the page does; `fields`: more of its form (`locale`, `page_url`)."""
        data = fields if customer is None else fields | {"customer": customer}
        response = self.client.post(f"/w/{self.key}/chats", data=data, headers=headers)
        assert response.status_code == 201, response.get_data(as_text=True)
        self.chat_id = int(response.headers["X-Chat-Id"])
        self.token = response.headers["X-Session-Token"]
        return response

    def url(self, tail: str = "") -> str:
        return f"/w/{self.key}/chats/{self.chat_id}" + (f"/{tail}" if tail else "")

    def headers(self) -> dict:
        return {"HX-Request": "true", "Authorization": f"Bearer {self.token}"}

    def get(self, tail: str = "", **kwargs):
        return self.client.get(self.url(tail), headers=self.headers(), **kwargs)

    def post(self, tail: str, data: dict, **kwargs):
        return self.client.post(self.url(tail), data=data, headers=self.headers(), **kwargs)

    def send(self, text: str, mode: str = "text"):
        return self.post("messages", {"text": text, "mode": mode})

    def say(self, text: str) -> list[tuple[str, str]]:
        """Send a message and read the reply stream to its end."""
        response = self.send(text)
        assert response.status_code == 200, response.get_data(as_text=True)
        stream = self.client.get(stream_url(response.get_data(as_text=True)))
        assert stream.status_code == 200
        assert stream.mimetype == "text/event-stream"
        return parse_sse(stream.get_data(as_text=True))


def stream_url(html: str) -> str:
    match = re.search(r'sse-connect="([^"]+)"', html)
    assert match, html
    return unescape(match.group(1))


def parse_sse(body: str) -> list[tuple[str, str]]:
    """(event, data) pairs; a multi-line data field is joined with newlines, as browsers do."""
    events = []
    for block in body.split("\n\n"):
        if not block:
            continue
        lines = block.split("\n")
        assert lines[0].startswith("event: "), block
        data = "\n".join(line.removeprefix("data: ") for line in lines[1:])
        events.append((lines[0].removeprefix("event: "), data))
    return events


def ask_for_a_person(visitor: Visitor) -> str:
    events = visitor.say("Can I talk to a person about a bulk order?")
    name, bubble = events[-1]
    assert name == "done"
    return bubble


def submit(visitor: Visitor, form_key: str, **fields):
    return visitor.post("followups", {"form_key": form_key} | fields)


def form_key_of(bubble: str) -> str:
    return re.search(r'name="form_key" value="(m\d+)"', bubble).group(1)


def stored_chat(chat_id: int) -> Chat:
    """The chat as the database holds it now."""
    db.session.rollback()
    return db.session.get(Chat, chat_id)
