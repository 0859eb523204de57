"""The widget's JSON client API (/api/widget/v1): sessions, turns with and without SSE,
follow-ups, polling, customer login, rate limits, sizes, errors and CORS."""

import http.client
import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from flask.testing import FlaskClient
from flask_limiter import RequestLimit
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from followup.extensions import db, mail
from followup.models import Agent, Chat, FollowUpRequest, Message, Role, Source
from followup.services import agents, chats, customer_login, followups
from followup.services.prefill import identity_signature
from followup.services.validation import UNKNOWN_FIELD
from tests.helpers.agents import make_agent
from tests.helpers.database_work import database_work
from tests.helpers.widget_api import BASE, Session, bearer, start

MESSAGE_KEYS = {"id", "role", "content", "mode", "created_at", "action", "sender"}
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
SHOP = "https://shop.example"
EVIL = "https://evil.example"
FALLBACK_START = "Sorry, I can't answer right now."


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


def signed(tenant, **fields) -> dict:
    """What the tenant's website puts in FollowupWidget.customer, signed with its secret."""
    return {
        "id": "cust-42",
        "signature": identity_signature(tenant.widget_secret, "cust-42"),
    } | fields


def parse_sse(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def error_of(response) -> dict:
    assert response.content_type == "application/json"
    return response.get_json()["error"]


def stored_chat(chat_id: int) -> Chat:
    db.session.rollback()  # see what the requests committed, not a stale copy
    return db.session.get(Chat, chat_id)


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


# --- sessions and config ---------------------------------------------------------------------


def test_session_opens_a_chat_that_greets(client, tenant):
    session = start(client, tenant)
    chat = stored_chat(session.chat_id)
    assert chat.tenant_id == tenant.id and chat.visitor == {}
    messages = session.get("messages").get_json()["messages"]
    assert [m["role"] for m in messages] == ["agent"]
    assert messages[0]["content"] == "Hi! I'm Alex from Acme Inc. How can I help you today?"


def test_a_session_reads_nothing_back_after_its_commit(client, tenant):
    """Hundreds of visitors may open the widget within seconds (bench/widget_load.py):
    the chat's id and token come from the saved row, not from reading it again."""
    start(client, tenant)  # the tenant's first chat also makes its employee
    db.session.commit()  # the test shares the app's session: no transaction left open
    with database_work() as seen:
        start(client, tenant)
    assert seen[-1] == "COMMIT", seen


def test_session_without_body_is_fine(client, tenant):
    response = client.post(f"{BASE}/{tenant.widget_public_key}/sessions")
    assert response.status_code == 201 and response.get_json()["chat_id"]


def test_signed_customer_is_verified(client, tenant):
    """The id is verified; the name beside it is not, so the greeting names nobody."""
    session = start(client, tenant, signed(tenant, name="Ada Lovelace", email="Ada@Example.com"))
    chat = stored_chat(session.chat_id)
    assert chat.visitor["verified"] is True
    assert chat.visitor["name"] == "Ada Lovelace" and chat.visitor["email"] == "ada@example.com"
    assert chat.customer.external_id == "cust-42"
    [greeting] = session.get("messages").get_json()["messages"]
    assert greeting["content"] == "Hi! I'm Alex from Acme Inc. How can I help you today?"


@pytest.mark.parametrize(
    "customer",
    [
        {"id": "cust-42", "name": "Ada", "email": "ada@example.com"},
        {"id": "cust-42", "name": "Ada", "email": "ada@example.com", "signature": "0" * 64},
    ],
    ids=["unsigned", "bad-signature"],
)
def test_unsigned_or_badly_signed_customer_is_not_verified(client, tenant, customer):
    session = start(client, tenant, customer)
    visitor = stored_chat(session.chat_id).visitor
    assert visitor["verified"] is False and visitor["email"] == "ada@example.com"
    [greeting] = session.get("messages").get_json()["messages"]
    assert greeting["content"] == "Hi! I'm Alex from Acme Inc. How can I help you today?"


def test_bad_customer_values_are_dropped_not_refused(client, tenant):
    customer = {"id": 7, "name": ["x"], "email": "not an email", "phone": "12", "signature": 3}
    session = start(client, tenant, customer)
    visitor = stored_chat(session.chat_id).visitor
    assert visitor == {"id": "7", "name": None, "email": None, "phone": None, "verified": False}


def test_unknown_public_key_is_404(client, tenant):
    for response in (
        client.post(f"{BASE}/pk_nope/sessions", json={}),
        client.get(f"{BASE}/pk_nope/config"),
    ):
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"
    assert count(Chat) == 0


def test_session_refuses_unknown_fields(client, tenant):
    response = client.post(f"{BASE}/{tenant.widget_public_key}/sessions", json={"costumer": {}})
    assert response.status_code == 422
    assert error_of(response)["fields"] == {"costumer": UNKNOWN_FIELD}
    assert count(Chat) == 0


def test_config_for_custom_uis(client, tenant):
    tenant.response_time_hours = 48
    db.session.commit()
    response = client.get(f"{BASE}/{tenant.widget_public_key}/config")
    assert response.status_code == 200
    assert response.get_json() == {
        "agent_name": "Alex",
        "followups_enabled": True,
        "response_time_hours": 48,
        "presence": "ai",
        "origin_allowed": True,  # no Origin: not a browser on another site
        "look": {"accent": "#3451d1", "position": "right"},  # the default look
        "labels": {"open": "Open chat", "chat": "Chat with us"},  # the loader's, in English
    }


@pytest.mark.parametrize(("followups_enabled", "presence"), [(True, "follow_up"), (False, "team")])
def test_config_without_a_model_says_who_answers_instead(
    app, client, tenant, followups_enabled, presence
):
    app.config.update(OPENAI_BASE_URL=None, OPENAI_API_KEY=None)
    tenant.followups_enabled = followups_enabled
    db.session.commit()
    config = client.get(f"{BASE}/{tenant.widget_public_key}/config").get_json()
    assert config["presence"] == presence


def test_reading_the_config_writes_nothing_before_the_tenant_has_an_employee(client, tenant):
    """Every page view of the host site asks for it: a read (asked from no page, it
    notes no page either). The name it gives is the one the first chat's employee gets."""
    with database_work() as work:
        config = client.get(f"{BASE}/{tenant.widget_public_key}/config").get_json()
    assert not {"INSERT", "UPDATE", "DELETE", "COMMIT"} & set(work), work
    assert count(Agent) == 0
    start(client, tenant)
    assert db.session.scalars(select(Agent.name)).all() == [config["agent_name"]] == ["Alex"]


def test_the_config_notes_the_page_it_was_loaded_on_at_most_once_a_minute(
    client, tenant, moved_clock
):
    """For "Check the snippet" (services/snippet.py): one write a minute, not a write
    per page view."""
    url = f"{BASE}/{tenant.widget_public_key}/config"
    with database_work() as work:
        assert client.get(url, headers={"Origin": SHOP}).status_code == 200
    assert "UPDATE" in work
    moved_clock.shift(timedelta(seconds=30))
    with database_work() as work:
        client.get(url, headers={"Origin": EVIL}).get_json()
        client.get(url, headers={"Referer": f"{EVIL}/page"}).get_json()
    assert not {"INSERT", "UPDATE", "DELETE", "COMMIT"} & set(work), work
    db.session.rollback()
    assert (tenant.widget_seen_origin, tenant.widget_seen_at.year) == (SHOP, 2026)


def test_the_config_names_the_employee_who_answers_the_website_chat(client, tenant):
    make_agent(tenant, "Sam")  # the first employee answers it
    robin = make_agent(tenant, "Robin")
    config_url = f"{BASE}/{tenant.widget_public_key}/config"
    assert client.get(config_url).get_json()["agent_name"] == "Sam"
    agents.update_channels(tenant.id, robin.id, serves_web_widget=True, sms_number="")
    assert client.get(config_url).get_json()["agent_name"] == "Robin"
    assert count(Agent) == 2


@pytest.mark.parametrize(
    ("origin", "cache_control"),
    [(SHOP, "public, max-age=300"), (None, "public, max-age=300"), (EVIL, "no-cache")],
)
def test_a_yes_from_the_config_may_be_cached_for_five_minutes_for_each_origin(
    client, shop_tenant, origin, cache_control
):
    """Shared caches keep one answer per Origin (origin_allowed depends on it), readable
    by any site, so a busy host site does not ask on every page view. A no is asked
    again, so the owner who allows the site sees the button on the next page view."""
    headers = {"Origin": origin} if origin else {}
    response = client.get(f"{BASE}/{shop_tenant.widget_public_key}/config", headers=headers)
    assert response.get_json()["origin_allowed"] is (origin != EVIL)
    assert response.headers["Cache-Control"] == cache_control
    assert "Origin" in response.headers["Vary"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"


# --- a turn, without and with streaming ------------------------------------------------------


def test_turn_returns_both_new_messages(client, tenant, fake_llm):
    session = start(client, tenant)
    response = session.say("What are your opening hours?")
    assert response.status_code == 200
    data = response.get_json()
    assert data["actions"] == []
    client_message, agent_message = data["messages"]
    assert set(client_message) == set(agent_message) == MESSAGE_KEYS  # no model, no tokens
    assert (client_message["role"], client_message["content"], client_message["mode"]) == (
        "client",
        "What are your opening hours?",
        "text",
    )
    assert agent_message["role"] == "agent"
    assert agent_message["content"] == "You said: What are your opening hours?"
    assert ISO_UTC.fullmatch(agent_message["created_at"])
    assert agent_message["id"] > client_message["id"]
    # The service kept the token use, which the public client never sees.
    stored = db.session.get(Message, agent_message["id"])
    assert stored.completion_tokens > 0 and stored.model


def test_streamed_turn_sends_tokens_then_the_message_then_done(client, tenant, fake_llm):
    session = start(client, tenant)
    response = session.stream("Do you ship to Canada and Mexico?")
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Accel-Buffering"] == "no"
    chunks = [chunk.decode() for chunk in response.response]  # as the server flushes them
    events = parse_sse("".join(chunks))
    names = [name for name, _ in events]
    tokens = [data["text"] for name, data in events if name == "token"]
    assert len(tokens) >= 3
    assert names == ["token"] * len(tokens) + ["message", "done"]
    assert all(chunk.count("event: ") == 1 for chunk in chunks)  # one event per flush
    message, done = events[-2][1], events[-1][1]
    assert "".join(tokens) == message["content"] == "You said: Do you ship to Canada and Mexico?"
    assert db.session.get(Message, message["id"]).content == message["content"]
    assert set(message) == MESSAGE_KEYS
    assert [m["role"] for m in done["messages"]] == ["client", "agent"]
    assert done["messages"][1] == message and done["actions"] == []


def test_a_streamed_turn_asks_the_model_after_one_connection_and_one_commit(
    client, tenant, fake_llm
):
    """Time to the first token: the session, the client's message and the history the
    model reads take one connection, four statements and one commit, before the model
    is asked. (The answer is saved after it, without holding a connection meanwhile.)"""
    session = start(client, tenant)
    session.say("Hello")
    db.session.commit()  # the test shares the app's session: no transaction left open
    with database_work() as seen:
        response = session.stream("Do you ship to Canada?")  # read up to the first token
        before_first_token = list(seen)
        rest = b"".join(response.response)
    assert before_first_token == ["CHECKOUT", "SELECT", "UPDATE", "INSERT", "SELECT", "COMMIT"]
    assert b"event: done" in rest and "INSERT" in seen[len(before_first_token) :]
    contents = db.session.scalars(
        select(Message.content).where(Message.chat_id == session.chat_id).order_by(Message.id)
    )
    assert list(contents)[-2:] == ["Do you ship to Canada?", "You said: Do you ship to Canada?"]


def test_after_the_model_the_answer_reads_its_chat_once_and_commits_once(client, tenant, fake_llm):
    """The chat, read and locked with its business and agent, then the answer saved with
    the chat's last word and reminder plan: no second look at the chat to plan it."""
    session = start(client, tenant)
    session.say("Hello")
    db.session.commit()  # the test shares the app's session: no transaction left open
    with database_work() as seen:
        b"".join(session.stream("Do you ship to Canada?").response)
    after_the_model = seen[seen.index("COMMIT") + 1 :]
    lock = ["UPDATE"] if db.engine.dialect.name == "sqlite" else []  # see queries.lock_row
    assert after_the_model == ["CHECKOUT", *lock, "SELECT", "UPDATE", "INSERT", "COMMIT"], seen


def test_the_answer_and_the_reminder_it_starts_are_saved_in_one_commit(client, tenant, fake_llm):
    """After the model: the answer, the chat's last word and its next reminder are one
    transaction; a turn commits twice in all (a transaction per turn saved under load)."""
    make_agent(tenant, "Alex", steps=1, autofollowup_enabled=True, serves_web_widget=True)
    session = start(client, tenant)
    db.session.commit()  # the test shares the app's session: no transaction left open
    with database_work() as seen:
        b"".join(session.stream("Hello").response)
    assert seen.count("COMMIT") == 2, seen
    chat = db.session.get(Chat, session.chat_id)
    answer = db.session.scalars(
        select(Message).where(Message.chat_id == chat.id).order_by(Message.id)
    ).all()[-1]
    assert answer.content == "You said: Hello"
    assert chat.last_message_at == answer.created_at
    assert chat.chain_step_id is not None and chat.chain_due_at > answer.created_at


def test_a_streamed_turn_shows_its_two_messages_without_reading_them_back(client, tenant, fake_llm):
    """The `message` and `done` events show both messages as the turn saved them: no
    query after the answer's commit (a transaction per turn saved under load:
    bench/widget_load.py)."""
    session = start(client, tenant)
    db.session.commit()  # the test shares the app's session: no transaction left open
    with database_work() as seen:
        events = parse_sse(b"".join(session.stream("Hello").response).decode())
    after_last_commit = seen[len(seen) - seen[::-1].index("COMMIT") :]
    assert after_last_commit == [], seen
    (_, message), (_, done) = events[-2:]
    assert [m["content"] for m in done["messages"]] == ["Hello", "You said: Hello"]
    assert done["messages"][1] == message


@pytest.mark.parametrize("streamed", [True, False])
def test_no_database_connection_is_held_while_the_model_thinks(client, tenant, fake_llm, streamed):
    """Hundreds of answers may be in the model's hands at once: a pooled connection held
    by each would exhaust the pool, and PostgreSQL's max_connections with it."""
    engine = db.engine
    held = []
    fake_llm.behaviour.on_request = lambda _body: held.append(engine.pool.checkedout())
    session = start(client, tenant)
    db.session.commit()  # the test shares the app's session: no transaction left open
    response = session.stream("Hello") if streamed else session.say("Hello")
    assert b"You said: Hello" in b"".join(response.response)
    assert held == [0]


def test_a_turn_that_fails_before_its_commit_still_keeps_the_customers_message(
    client, tenant, fake_llm
):
    """Never lose a lead: the database fails while the history is read (the injected
    fault stands for a dropped connection); the customer's words are saved all the same."""
    session = start(client, tenant)

    def fail_history_read(_conn, _cursor, sql, *_):
        if sql.startswith("SELECT messages.id, messages.role, messages.content, messages.mode"):
            raise OperationalError(sql, {}, Exception("the connection dropped"))

    event.listen(db.engine, "before_cursor_execute", fail_history_read)
    try:
        response = session.say("Please call me back about my order")
    finally:
        event.remove(db.engine, "before_cursor_execute", fail_history_read)
    assert response.status_code == 500
    assert error_of(response)["code"] == "internal_error"
    db.session.rollback()
    saved = chats.history(stored_chat(session.chat_id))
    assert [(m.role, m.content) for m in saved][1:] == [
        (Role.CLIENT, "Please call me back about my order")
    ]
    assert stored_chat(session.chat_id).chain_cycle == 1  # its reminder cycle began once


def test_tool_call_offers_the_prefilled_form(client, tenant, fake_llm):
    customer = signed(tenant, name="Ada Lovelace", email="ada@example.com", phone="+14155550100")
    session = start(client, tenant, customer)
    data = session.say("Can I talk to a human about my invoice?").get_json()
    (action,) = data["actions"]
    assert action == data["messages"][1]["action"]
    assert action["type"] == "followup_form"
    assert action["response_time_hours"] == 24
    assert action["prefill"] == {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "+14155550100",
        "reason": "Customer asked: Can I talk to a human about my invoice?",
    }
    # The AI's summary and priority are for the team only.
    assert "summary" not in action and "priority" not in action


def test_streamed_tool_call_carries_the_form_in_message_and_done(client, tenant, fake_llm):
    session = start(client, tenant)
    session.say("I'm Grace Hopper, grace@example.com")
    events = parse_sse(session.stream("Please have someone call me").get_data(as_text=True))
    message, done = events[-2][1], events[-1][1]
    assert message["action"]["type"] == "followup_form"
    assert message["action"]["prefill"]["email"] == "grace@example.com"
    assert message["action"]["prefill"]["name"] == "Grace Hopper"
    assert done["actions"] == [message["action"]]


@pytest.mark.parametrize("failure", ["down", "slow", "garbled"])
@pytest.mark.parametrize("streaming", [False, True], ids=["json", "sse"])
def test_llm_failure_answers_plainly_with_the_form(
    app, client, tenant, fake_llm, failure, streaming
):
    if failure == "down":
        fake_llm.behaviour.fail_status = 500
    elif failure == "slow":
        app.config["LLM_TIMEOUT_S"] = 0.3  # keeps the test short; the rule is the same
        fake_llm.behaviour.first_token_delay_s = 0.8
    else:
        fake_llm.behaviour.garbled = True
    session = start(client, tenant)
    if streaming:
        events = parse_sse(session.stream("hello?").get_data(as_text=True))
        assert [name for name, _ in events] == ["message", "done"]
        message = events[0][1]
    else:
        response = session.say("hello?")
        assert response.status_code == 200
        message = response.get_json()["messages"][1]
        assert response.get_json()["actions"] == [message["action"]]
    assert message["content"] == (
        f"{FALLBACK_START} Leave your details below and the team will get back to you."
    )
    # The form says when the team answers, not the text above it.
    assert message["action"]["type"] == "followup_form"
    assert message["action"]["response_time_hours"] == 24


def test_text_too_long_or_bad_mode_is_422_and_stores_nothing(client, tenant, fake_llm):
    session = start(client, tenant)
    before = count(Message)
    too_long = session.say("x" * (chats.MAX_MESSAGE_CHARS + 1))
    assert too_long.status_code == 422
    assert error_of(too_long)["fields"] == {
        "text": "Message: keep it to 4,000 characters or fewer (this has 4,001)."
    }
    bad_mode = session.say("hello", mode="video")
    assert bad_mode.status_code == 422 and error_of(bad_mode)["fields"] == {
        "mode": "Mode: use text or voice."
    }
    empty = session.post("messages", {"mode": "text"})
    assert error_of(empty)["fields"] == {"text": "Message: please fill this in."}
    assert count(Message) == before
    assert fake_llm.requests == []


def test_customer_markup_comes_back_as_json_data(client, tenant, fake_llm):
    session = start(client, tenant)
    text = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    response = session.say(text)
    assert response.content_type == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    client_message, agent_message = response.get_json()["messages"]
    assert client_message["content"] == text
    assert agent_message["content"] == f"You said: {text}"
    streamed = session.stream(text)
    assert streamed.mimetype == "text/event-stream"
    assert streamed.headers["X-Content-Type-Options"] == "nosniff"


# --- follow-ups ------------------------------------------------------------------------------

FORM = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "phone": "+1 415 555 0100",
    "reason": "Wants a call about invoice 42",
}


def test_submitted_followup_is_saved_and_thanked(client, tenant, fake_llm):
    session = start(client, tenant, signed(tenant, email="ada@example.com"))
    session.say("Can someone call me about invoice 42?")
    response = session.post("followups", FORM)
    assert response.status_code == 201
    data = response.get_json()
    assert set(data) == {"id", "status", "message"} and data["status"] == "pending"
    assert data["message"] == (
        "Thank you, Ada Lovelace! Your request has been sent to our team. "
        "We'll contact you within 24 hours."
    )
    db.session.rollback()
    followup = followups.get_followup(tenant.id, data["id"])
    assert followup.source == Source.TEXT and followup.chat_id == session.chat_id
    # The website's customer cust-42 asked; the email beside its id is not signed.
    assert followup.identity_verified is False
    assert followup.customer.external_id == "cust-42"
    assert followup.phone == "+14155550100" and followup.reason == FORM["reason"]
    assert followup.summary == "The customer asked to be contacted by a person."
    thanks = session.get("messages").get_json()["messages"][-1]
    assert thanks["content"] == data["message"]
    assert thanks["action"] == {"type": "followup_created", "followup_id": data["id"]}


def test_unsigned_visitor_submits_an_unverified_request(client, tenant, fake_llm):
    session = start(client, tenant, {"email": "ada@example.com"})
    data = session.post("followups", FORM).get_json()
    db.session.rollback()
    assert followups.get_followup(tenant.id, data["id"]).identity_verified is False


def test_bad_followup_fields_are_422_and_save_nothing(client, tenant):
    session = start(client, tenant)
    response = session.post("followups", {"name": " ", "email": "nope", "reason": "Help"})
    assert response.status_code == 422
    fields = error_of(response)["fields"]
    assert set(fields) == {"name", "email"}
    assert fields["name"] == "Name: please fill this in."
    assert fields["email"] == "Email: enter an address like name@example.com."
    unknown = session.post("followups", FORM | {"priority": "high"})
    assert unknown.status_code == 422
    assert error_of(unknown)["fields"] == {"priority": UNKNOWN_FIELD}
    assert count(FollowUpRequest) == 0


def test_followups_turned_off_is_409(client, tenant):
    tenant.followups_enabled = False
    db.session.commit()
    session = start(client, tenant)
    response = session.post("followups", FORM)
    assert response.status_code == 409
    assert error_of(response)["code"] == "followups_disabled"
    assert count(FollowUpRequest) == 0


# --- human takeover ----------------------------------------------------------------------------


def test_while_staff_is_in_charge_a_turn_gets_no_ai_answer_for_30_minutes(
    client, tenant, staff, fake_llm
):
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False) as clock:
        session = start(client, tenant)
        session.say("Is the oak table in stock?")
        chats.post_staff_reply(stored_chat(session.chat_id), staff, "Olivia here, checking.")
        asked = len(fake_llm.requests)

        clock.shift(timedelta(minutes=10))
        data = session.say("Thank you!").get_json()
        assert [(m["role"], m["content"]) for m in data["messages"]] == [("client", "Thank you!")]
        assert data["actions"] == []
        events = parse_sse(session.stream("Any news?").get_data(as_text=True))
        assert [name for name, _ in events] == ["done"]  # no token, no agent message
        (client_message,) = events[0][1]["messages"]
        assert client_message["content"] == "Any news?" and events[0][1]["actions"] == []
        assert len(fake_llm.requests) == asked  # the model was not asked
        # The staff member's next reply reaches the client by polling, as any message does.
        chats.post_staff_reply(stored_chat(session.chat_id), staff, "Yes, it is in stock.")
        (news,) = session.get(f"messages?after={client_message['id']}").get_json()["messages"]
        assert (news["role"], news["content"]) == ("staff", "Yes, it is in stock.")
        assert news["sender"] == "Olivia · Acme Inc team" and news["action"] is None

        clock.shift(timedelta(minutes=30))  # since that last staff reply: the AI is back
        events = parse_sse(session.stream("Great, can I order it?").get_data(as_text=True))
        assert [name for name, _ in events][-2:] == ["message", "done"]
        assert events[-2][1]["content"] == "You said: Great, can I order it?"


# --- polling ---------------------------------------------------------------------------------


def test_polling_returns_only_newer_messages(client, tenant, fake_llm):
    session = start(client, tenant)
    greeting = session.get("messages").get_json()["messages"][0]
    session.say("first")
    newer = session.get("messages", query_string={"after": greeting["id"]}).get_json()
    assert [m["content"] for m in newer["messages"]] == ["first", "You said: first"]
    last_id = newer["messages"][-1]["id"]
    assert session.get(f"messages?after={last_id}").get_json() == {"messages": []}
    # A reminder or a staff answer written later shows up on the next poll.
    chat = stored_chat(session.chat_id)
    db.session.add(Message(chat_id=chat.id, role=Role.STAFF, content="Olivia here, on it."))
    db.session.commit()
    (staff_message,) = session.get(f"messages?after={last_id}").get_json()["messages"]
    assert staff_message["role"] == "staff" and staff_message["content"] == "Olivia here, on it."


@pytest.mark.parametrize("after", ["-1", "abc", "1.5", " 1", "99999999999"])
def test_polling_refuses_a_bad_after(client, tenant, after):
    response = start(client, tenant).get("messages", query_string={"after": after})
    assert response.status_code == 422 and "after" in error_of(response)["fields"]


# --- who may use a chat ----------------------------------------------------------------------


def test_another_chats_token_or_a_made_up_one_is_404(client, tenant, other_tenant, fake_llm):
    mine = start(client, tenant)
    theirs = start(client, other_tenant)
    forged = Session(client, mine.chat_id, theirs.token)
    made_up = Session(client, mine.chat_id, "not-a-token")
    for session in (forged, made_up):
        for response in (
            session.say("hello"),
            session.get("messages"),
            session.post("followups", FORM),
            session.post("login-link", {"email": "a@example.com"}),
            session.get("followups"),
        ):
            assert response.status_code == 404, response.request.path
            assert error_of(response)["code"] == "not_found"
    huge = Session(client, 2**40, mine.token)
    assert huge.get("messages", headers={"Origin": SHOP}).status_code == 404
    assert count(FollowUpRequest) == 0
    assert len(chats.history(stored_chat(mine.chat_id))) == 1  # the greeting, nothing else


def test_a_session_token_lapses_after_the_configured_days_without_the_customer(
    app, client, tenant, fake_llm
):
    """A token copied from a shared computer must not open the chat for ever; a chat in
    use stays open however old it is."""
    days = timedelta(days=app.config["WIDGET_SESSION_MAX_AGE_DAYS"])
    session = start(client, tenant)
    began = datetime.now(UTC)
    with time_machine.travel(began + days - timedelta(minutes=1), tick=False):
        assert session.say("Still there?").status_code == 200  # the customer writes
    last_seen = began + days - timedelta(minutes=1)
    with time_machine.travel(last_seen + days - timedelta(minutes=1), tick=False):
        assert session.get("messages").status_code == 200
    with time_machine.travel(last_seen + days + timedelta(minutes=1), tick=False):
        for response in (session.get("messages"), session.say("Hello?")):
            assert response.status_code == 404
            assert error_of(response)["code"] == "not_found"
    assert [m.content for m in chats.history(stored_chat(session.chat_id))][1:] == [
        "Still there?",
        "You said: Still there?",
    ]


def test_missing_token_is_401(client, tenant):
    session = start(client, tenant)
    response = client.get(session.url("messages"))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="followup-widget"'
    assert error_of(response)["code"] == "unauthorized"


# --- customer login --------------------------------------------------------------------------


def test_login_link_same_answer_email_only_for_known_customers(client, tenant, make_followup):
    make_followup(tenant, email="known@example.com", name="Kim Known")
    session = start(client, tenant)
    with mail.record_messages() as outbox:
        known = session.post("login-link", {"email": "Known@Example.com"})
        unknown = session.post("login-link", {"email": "stranger@example.com"})
    assert known.status_code == unknown.status_code == 202
    # The same answer, each with a code of its own.
    assert known.get_json().keys() == unknown.get_json().keys() == {"message", "code"}
    assert known.get_json()["message"] == unknown.get_json()["message"]
    (email,) = outbox
    assert email.recipients == ["known@example.com"]
    assert "http://localhost/customer-login/" in email.body


def test_login_link_needs_a_valid_email(client, tenant):
    response = start(client, tenant).post("login-link", {"email": "nope"})
    assert response.status_code == 422 and "email" in error_of(response)["fields"]


def test_logged_in_customer_sees_their_requests(client, tenant, other_tenant, make_followup):
    older = make_followup(tenant, email="kim@example.com", name="Kim", reason="Broken lamp")
    newer = make_followup(tenant, email="kim@example.com", name="Kim", reason="Late parcel")
    make_followup(tenant, email="someone@example.com")
    make_followup(other_tenant, email="kim@example.com", name="Kim", reason="Not this shop")
    session = start(client, tenant)
    assert session.get("followups").get_json() == {"customer": None, "items": []}
    with mail.record_messages() as outbox:
        code = session.post("login-link", {"email": "kim@example.com"}).get_json()["code"]
    token = re.search(r"/customer-login/(\S+)", outbox[0].body).group(1)
    customer_login.consume_login_link(token, code)
    data = session.get("followups").get_json()
    assert data["customer"] == {"name": "Kim", "email": "kim@example.com"}
    assert [item["id"] for item in data["items"]] == [newer.id, older.id]
    assert data["items"][0]["reason"] == "Late parcel" and data["items"][0]["status"] == "pending"
    assert "notes" not in data["items"][0] and "email" not in data["items"][0]
    system = session.get("messages").get_json()["messages"][-1]
    assert (system["role"], system["content"]) == ("system", "Logged in as kim@example.com.")


# --- rate limits, sizes, bad JSON ------------------------------------------------------------


LOGIN = {"email": "a@example.com"}


def _calls(client: FlaskClient, tenant):
    """One request for each endpoint, and the config key of its tightest limit."""
    session = start(client, tenant)
    key = tenant.widget_public_key
    return [
        ("WIDGET_SESSIONS_LIMIT_PER_IP", lambda: client.post(f"{BASE}/{key}/sessions")),
        ("WIDGET_CONFIG_LIMIT_PER_IP", lambda: client.get(f"{BASE}/{key}/config")),
        ("WIDGET_MESSAGES_LIMIT_PER_SESSION", lambda: session.say("hi")),
        ("WIDGET_READS_LIMIT_PER_SESSION", lambda: session.get("messages")),
        ("WIDGET_READS_LIMIT_PER_SESSION", lambda: session.get("followups")),
        ("WIDGET_FOLLOWUPS_LIMIT_PER_SESSION", lambda: session.post("followups", FORM)),
        (
            "WIDGET_LOGIN_LINK_LIMIT_PER_SESSION",
            lambda: session.post("login-link", {"email": "a@example.com"}),
        ),
    ]


@pytest.mark.parametrize("index", range(7))
def test_every_endpoint_is_rate_limited(app, client, tenant, fake_llm, index):
    config_key, call = _calls(client, tenant)[index]
    app.config[config_key] = "2 per minute"
    assert all(call().status_code != 429 for _ in range(2))
    refused = call()
    assert refused.status_code == 429
    assert error_of(refused)["code"] == "too_many_requests"
    assert 0 < int(refused.headers["Retry-After"]) <= 60  # within the minute's budget


def test_a_refusal_stays_429_when_the_storage_cannot_say_when(app, client, tenant, monkeypatch):
    """Retry-After reads the budget's window again: storage gone since (Redis restarting)."""

    def unreachable(_limit):
        raise ConnectionError("Rate-limit storage unreachable")

    app.config["WIDGET_CONFIG_LIMIT_PER_IP"] = "1 per minute"
    config_url = f"{BASE}/{tenant.widget_public_key}/config"
    assert client.get(config_url).status_code == 200
    monkeypatch.setattr(RequestLimit, "reset_at", property(unreachable))
    refused = client.get(config_url)
    assert refused.status_code == 429 and error_of(refused)["code"] == "too_many_requests"
    assert refused.headers["Retry-After"] == "60"  # the whole window: never too early


def test_each_session_has_its_own_budget_and_the_ip_a_shared_one(app, client, tenant, fake_llm):
    app.config["WIDGET_MESSAGES_LIMIT_PER_SESSION"] = "2 per minute"
    app.config["WIDGET_MESSAGES_LIMIT_PER_IP"] = "4 per minute"
    first, second, third = (start(client, tenant) for _ in range(3))
    assert [first.say("hi").status_code for _ in range(2)] == [200, 200]
    assert [second.say("hi").status_code for _ in range(2)] == [200, 200]
    # Four from this address: a fresh chat is refused too.
    assert third.say("hi").status_code == 429


def test_login_links_are_limited_per_session_by_default(client, tenant):
    session = start(client, tenant)
    answers = [session.post("login-link", {"email": "a@example.com"}) for _ in range(6)]
    assert [a.status_code for a in answers] == [202] * 5 + [429]


def test_oversized_body_is_413(client, tenant, fake_llm):
    session = start(client, tenant)
    response = session.post("messages", {"text": "x" * 70_000})
    assert response.status_code == 413
    assert error_of(response)["code"] == "request_entity_too_large"
    assert fake_llm.requests == [] and count(Message) == 1


@pytest.mark.parametrize(
    ("data", "content_type"),
    [("{not json", "application/json"), ("[1, 2]", "application/json"), ("text=hi", None)],
    ids=["broken", "array", "form"],
)
def test_bad_json_is_400(client, tenant, data, content_type):
    session = start(client, tenant)
    response = client.post(
        session.url("messages"), data=data, content_type=content_type, headers=bearer(session.token)
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_json"
    assert count(Message) == 1


# --- CORS ------------------------------------------------------------------------------------


@pytest.fixture
def shop_tenant(tenant):
    tenant.allowed_origins = [SHOP, "http://localhost:8080"]
    db.session.commit()
    return tenant


def test_allowed_origin_gets_cors_headers(client, shop_tenant, fake_llm):
    key = shop_tenant.widget_public_key
    created = client.post(f"{BASE}/{key}/sessions", headers={"Origin": SHOP})
    assert created.headers["Access-Control-Allow-Origin"] == SHOP
    assert "Origin" in created.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in created.headers
    session = Session(client, created.get_json()["chat_id"], created.get_json()["session_token"])
    # On chat URLs the tenant comes from the chat, on errors too.
    answered = session.say("hi", headers={"Origin": "http://localhost:8080"})
    assert answered.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"
    refused = client.get(session.url("messages"), headers={"Origin": SHOP})
    assert refused.status_code == 401 and refused.headers["Access-Control-Allow-Origin"] == SHOP


def test_opening_a_chat_reads_once_and_commits_once_cors_included(client, shop_tenant):
    """Every visitor's first request: the business and its employee in one read, the chat
    and its greeting saved, and the CORS answer from what was read (bench/widget_load.py)."""
    key = shop_tenant.widget_public_key
    client.post(f"{BASE}/{key}/sessions", headers={"Origin": SHOP})  # the employee is made
    db.session.commit()  # the test shares the app's session: no transaction left open
    with database_work() as seen:
        created = client.post(f"{BASE}/{key}/sessions", headers={"Origin": SHOP})
    assert created.headers["Access-Control-Allow-Origin"] == SHOP
    assert seen == ["CHECKOUT", "SELECT", "INSERT", "INSERT", "COMMIT"]


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://shop.example", "https://shop.example.evil.com"]
)
def test_other_origins_get_no_cors_headers(client, shop_tenant, origin):
    key = shop_tenant.widget_public_key
    response = client.post(f"{BASE}/{key}/sessions", headers={"Origin": origin})
    assert response.status_code == 201  # the browser, not us, withholds the answer
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Origin" in response.headers["Vary"]
    session = Session(client, response.get_json()["chat_id"], response.get_json()["session_token"])
    preflight = client.options(session.url("messages"), headers=_preflight_headers(origin))
    assert preflight.status_code == 204
    assert not any(name.startswith("Access-Control-") for name, _value in preflight.headers)


def _preflight_headers(origin: str) -> dict:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


def test_preflight_from_an_allowed_origin(client, shop_tenant):
    session = start(client, shop_tenant)
    for url in (session.url("messages"), f"{BASE}/{shop_tenant.widget_public_key}/sessions"):
        response = client.options(url, headers=_preflight_headers(SHOP))
        assert response.status_code == 204 and response.get_data() == b""
        assert response.headers["Access-Control-Allow-Origin"] == SHOP
        assert response.headers["Access-Control-Allow-Methods"] == "GET, POST, OPTIONS"
        allowed = response.headers["Access-Control-Allow-Headers"]
        assert {"Authorization", "Content-Type", "Accept"} <= set(allowed.split(", "))
        assert int(response.headers["Access-Control-Max-Age"]) > 0


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (SHOP, True),
        ("http://localhost:8080", True),
        ("http://localhost", True),  # our own pages
        ("https://evil.example", False),
        ("http://shop.example", False),
        ("https://shop.example.evil.com", False),
    ],
)
def test_any_site_may_ask_the_config_whether_it_may_show_the_widget(
    client, shop_tenant, other_tenant, origin, allowed
):
    other_tenant.allowed_origins = ["https://evil.example"]
    db.session.commit()
    response = client.get(
        f"{BASE}/{shop_tenant.widget_public_key}/config", headers={"Origin": origin}
    )
    assert response.status_code == 200
    assert response.get_json()["origin_allowed"] is allowed
    # Readable by the asking site whatever the answer, which names no other site.
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Origin" in response.headers["Vary"]
    body = response.get_data(as_text=True)
    assert "shop.example" not in body and "localhost" not in body


def test_one_tenants_origin_is_not_allowed_on_anothers_chat(client, shop_tenant, other_tenant):
    other_tenant.allowed_origins = ["https://globex.example"]
    db.session.commit()
    session = start(client, shop_tenant)
    response = session.get("messages", headers={"Origin": "https://globex.example"})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


# --- through a real server: streaming and a client that leaves -------------------------------


def _open_stream(
    connection: http.client.HTTPConnection, session: Session, text: str, mode: str = "text"
) -> http.client.HTTPResponse:
    body = json.dumps({"text": text, "mode": mode})
    headers = bearer(session.token) | {
        "Content-Type": "application/json",
        "Accept": "text/event-stream",
    }
    connection.request("POST", session.url("messages"), body=body, headers=headers)
    response = connection.getresponse()
    assert response.status == 200
    return response


def _wait_for(condition, timeout_s: float = 10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.mark.parametrize("streamed", [True, False])
def test_a_voice_capture_turn_shows_the_customers_message_as_saved(
    client, tenant, fake_llm, streamed
):
    """During a capture our code answers, and commits, before the turn's own commit:
    the customer's message in the answer is still the one saved, read back."""
    session = start(client, tenant)
    session.say("Can a person call me?", mode="voice")
    response = session.stream("ann@example.com", "voice") if streamed else None
    if streamed:
        done = parse_sse(b"".join(response.response).decode())[-1][1]
    else:
        done = session.say("ann@example.com", mode="voice").get_json()
    customer, answer = done["messages"]
    saved = db.session.get(Message, customer["id"])
    assert (customer["role"], customer["content"], customer["mode"]) == (
        "client",
        "ann@example.com",
        "voice",
    )
    assert customer["created_at"] is not None and saved.content == "ann@example.com"
    assert "a-n-n at example dot com" in answer["content"]


def test_a_voice_capture_streams_each_answer_through_a_real_server(
    client, tenant, fake_llm, live_port
):
    """Each request gets its own database session there, as in production: the answers
    our code writes during a capture must reach the stream after the view's session."""
    session = start(client, tenant)
    turns = ["Can a person call me?", "ann@example.com"]
    for text in turns:
        connection = http.client.HTTPConnection("127.0.0.1", live_port, timeout=10)
        response = _open_stream(connection, session, text, mode="voice")
        events = parse_sse(response.read().decode())
        connection.close()
        assert [name for name, _ in events][-2:] == ["message", "done"], events
    assert "a-n-n at example dot com" in events[-2][1]["content"]


def test_real_server_streams_and_survives_a_client_leaving(client, tenant, fake_llm, live_port):
    session = start(client, tenant)
    fake_llm.behaviour.reply_text = " ".join(f"word{n}" for n in range(40))
    fake_llm.behaviour.token_delay_s = 0.02
    connection = http.client.HTTPConnection("127.0.0.1", live_port, timeout=10)
    response = _open_stream(connection, session, "tell me a long story")
    assert response.readline() == b"event: token\n"
    response.close()  # the visitor closes the tab mid-answer: both ends of the socket go
    connection.close()

    def saved_answer():
        db.session.rollback()
        last = chats.history(db.session.get(Chat, session.chat_id))[-1]
        return last if last.role == Role.AGENT and last.content.startswith("word0") else None

    # The answer is finished and saved anyway, so it is there when they come back.
    assert _wait_for(saved_answer).content == fake_llm.behaviour.reply_text
    # And the chat carries on: a whole streamed turn through the real server.
    fake_llm.behaviour.reply_text = None
    fake_llm.behaviour.token_delay_s = 0
    connection = http.client.HTTPConnection("127.0.0.1", live_port, timeout=10)
    events = parse_sse(_open_stream(connection, session, "still there?").read().decode())
    connection.close()
    assert [name for name, _ in events][-2:] == ["message", "done"]
    assert events[-2][1]["content"] == "You said: still there?"


@pytest.mark.parametrize(
    ("asked", "browser", "labels"),
    [
        (None, None, {"open": "Open chat", "chat": "Chat with us"}),
        ("de", "fr-FR", {"open": "Chat öffnen", "chat": "Chatten Sie mit uns"}),
        ("", "fr-FR,fr;q=0.9", {"open": "Ouvrir le chat", "chat": "Discutez avec nous"}),
        ("pt", "ja", {"open": "Open chat", "chat": "Chat with us"}),
    ],
)
def test_the_config_names_the_launcher_in_the_visitors_language(
    client, tenant, asked, browser, labels
):
    query = "" if asked is None else f"?locale={asked}"
    headers = {"Accept-Language": browser} if browser else {}
    response = client.get(f"{BASE}/{tenant.widget_public_key}/config{query}", headers=headers)
    assert response.get_json()["labels"] == labels
    assert "Accept-Language" in response.headers["Vary"]
