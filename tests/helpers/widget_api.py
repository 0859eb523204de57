"""A widget session on the JSON client API (/api/widget/v1), the way a custom UI holds
it: the chat's URLs and its bearer token."""

from flask.testing import FlaskClient

BASE = "/api/widget/v1"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


class Session:
    """A widget session: the chat's URLs and its token, the way a custom UI holds them."""

    def __init__(self, client: FlaskClient, chat_id: int, token: str):
        self.client, self.chat_id, self.token = client, chat_id, token

    def url(self, tail: str) -> str:
        return f"{BASE}/chats/{self.chat_id}/{tail}"

    def post(self, tail: str, body, headers: dict | None = None, **kwargs):
        return self.client.post(
            self.url(tail), json=body, headers=bearer(self.token) | (headers or {}), **kwargs
        )

    def get(self, tail: str, headers: dict | None = None, **kwargs):
        return self.client.get(
            self.url(tail), headers=bearer(self.token) | (headers or {}), **kwargs
        )

    def say(self, text: str, mode: str = "text", **kwargs):
        return self.post("messages", {"text": text, "mode": mode}, **kwargs)

    def stream(self, text: str, mode: str = "text"):
        return self.say(text, mode, headers={"Accept": "text/event-stream"})


def start(client: FlaskClient, tenant, customer: dict | None = None) -> Session:
    body = {} if customer is None else {"customer": customer}
    response = client.post(f"{BASE}/{tenant.widget_public_key}/sessions", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    data = response.get_json()
    assert set(data) == {"session_token", "chat_id"}
    return Session(client, data["chat_id"], data["session_token"])
