"""The widget's follow-up form saves one request however often it is sent: a double
click, a retry after a network error, in the HTMX widget and the JSON client API."""

import json
import re
import threading
from http.client import HTTPConnection

import pytest
from sqlalchemy import func, select

from followup.extensions import db
from followup.models import FollowUpRequest, Message

FORM = {"name": "Ada", "email": "ada@example.com", "phone": "", "reason": "Call me"}


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def chat(app, tenant):
    """A widget chat: its key, id and session token."""
    started = app.test_client().post(f"/w/{tenant.widget_public_key}/chats")
    assert started.status_code == 201
    return (
        tenant.widget_public_key,
        started.headers["X-Chat-Id"],
        started.headers["X-Session-Token"],
    )


def contact_form_id(client, chat) -> str:
    key, chat_id, token = chat
    form = client.get(
        f"/w/{key}/chats/{chat_id}/contact",
        headers={"HX-Request": "true", "Authorization": f"Bearer {token}"},
    ).get_data(as_text=True)
    match = re.search(r'name="form_id" value="([0-9a-f]{32})"', form)
    assert match, form
    return match.group(1)


def send_form(client, chat, form_id: str, **changes):
    key, chat_id, token = chat
    return client.post(
        f"/w/{key}/chats/{chat_id}/followups",
        data=FORM | {"form_key": "contact", "form_id": form_id} | changes,
        headers={"HX-Request": "true", "Authorization": f"Bearer {token}"},
    )


def test_each_form_shown_carries_its_own_id(app, chat):
    client = app.test_client()
    assert contact_form_id(client, chat) != contact_form_id(client, chat)


def test_a_form_sent_twice_saves_one_request_and_answers_the_same(app, chat):
    client = app.test_client()
    form_id = contact_form_id(client, chat)
    first = send_form(client, chat, form_id)
    again = send_form(client, chat, form_id)
    assert first.status_code == again.status_code == 200
    assert "Thank you, Ada!" in first.get_data(as_text=True)
    assert again.get_data(as_text=True) == first.get_data(as_text=True)
    assert count(FollowUpRequest) == 1
    thanks = db.session.scalars(select(Message).where(Message.content.like("Thank you%"))).all()
    assert len(thanks) == 1


def test_a_refused_form_keeps_its_id_and_can_then_be_sent(app, chat):
    client = app.test_client()
    form_id = contact_form_id(client, chat)
    refused = send_form(client, chat, form_id, email="nope")
    assert refused.status_code == 422
    assert f'name="form_id" value="{form_id}"' in refused.get_data(as_text=True)
    assert send_form(client, chat, form_id).status_code == 200
    assert count(FollowUpRequest) == 1


def test_the_json_api_takes_a_form_id_and_answers_a_retry_the_same(app, tenant):
    client = app.test_client()
    started = client.post(f"/api/widget/v1/{tenant.widget_public_key}/sessions").get_json()
    url = f"/api/widget/v1/chats/{started['chat_id']}/followups"
    headers = {"Authorization": f"Bearer {started['session_token']}"}
    body = {"name": "Ada", "email": "ada@example.com", "reason": "Call me", "form_id": "f-1"}
    first = client.post(url, json=body, headers=headers)
    again = client.post(url, json=body, headers=headers)
    by_header = client.post(
        url,
        json={k: v for k, v in body.items() if k != "form_id"},
        headers=headers | {"Idempotency-Key": "f-1"},
    )
    assert first.status_code == again.status_code == by_header.status_code == 201
    assert first.get_json() == again.get_json() == by_header.get_json()
    assert first.get_json()["message"].startswith("Thank you, Ada!")
    assert count(FollowUpRequest) == 1


def test_a_double_click_sends_twice_at_once_and_saves_one_request(app, chat, live_port):
    key, chat_id, token = chat
    form_id = contact_form_id(app.test_client(), chat)
    clicks = 4
    start = threading.Barrier(clicks)
    answers: list[tuple[int, str]] = []

    def click() -> None:
        connection = HTTPConnection("127.0.0.1", live_port, timeout=30)
        body = (
            "&".join(
                f"{k}={v}" for k, v in (FORM | {"form_key": "contact", "form_id": form_id}).items()
            )
            .replace("@", "%40")
            .replace(" ", "+")
        )
        headers = {
            "HX-Request": "true",
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        start.wait()
        connection.request("POST", f"/w/{key}/chats/{chat_id}/followups", body, headers)
        response = connection.getresponse()
        answers.append((response.status, response.read().decode()))
        connection.close()

    threads = [threading.Thread(target=click) for _ in range(clicks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [status for status, _ in answers] == [200] * clicks, answers
    assert len({html for _, html in answers}) == 1
    assert count(FollowUpRequest) == 1
    assert json.dumps(answers[0][1]).count("Thank you, Ada!") == 1
