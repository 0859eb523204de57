"""A visitor's chat through either widget surface, for tests that run on both."""

import html
import json
import re

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
