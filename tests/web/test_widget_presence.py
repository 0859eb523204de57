"""Who the visitor sees at work in the widget: the AI employee typing while it answers,
and a staff reply signed with the staff member's first name for the business
("Anna · Acme Inc team"), in the chat page and in the JSON client API."""

import pytest
from sqlalchemy import select

from followup.extensions import db
from followup.models import Message, Role
from followup.services import chats, senders, staff_accounts
from tests.helpers.staff import PASSWORD
from tests.helpers.widget import parse_sse, stored_chat, stream_url
from tests.helpers.widget_api import start


def newest_id(chat_id: int) -> int:
    return db.session.scalar(
        select(Message.id).filter_by(chat_id=chat_id).order_by(Message.id.desc())
    )


def staff_named(name: str):
    return staff_accounts.create_staff_user("acme", "anna@acme.example", PASSWORD, name=name)


# --- the label -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("staff_name", "label"),
    [
        ("Anna Berg", "Anna · Acme team"),
        ("  Anna   Maria Berg ", "Anna · Acme team"),
        ("Anna", "Anna · Acme team"),
        ("", "Acme team"),
        ("   ", "Acme team"),
        (None, "Acme team"),
        ("A" * 60 + " Berg", "A" * 39 + "… · Acme team"),
    ],
)
def test_a_staff_reply_is_signed_with_the_first_name_for_the_business(staff_name, label):
    assert senders.team_label("Acme", staff_name) == label


def test_only_a_staff_reply_gets_a_team_label():
    staff = Message(role=Role.STAFF, content="Hi", action={"staff": {"id": 3, "name": "Anna B"}})
    assert senders.staff_sender(staff, "Acme") == "Anna · Acme team"
    # A reply written before replies were signed, or with a damaged record: the team.
    assert senders.staff_sender(Message(role=Role.STAFF, content="Hi"), "Acme") == "Acme team"
    damaged = Message(role=Role.STAFF, content="Hi", action={"staff": "Anna"})
    assert senders.staff_sender(damaged, "Acme") == "Acme team"
    for role in (Role.AGENT, Role.CLIENT, Role.SYSTEM):
        assert senders.staff_sender(Message(role=role, content="Hi"), "Acme") is None


# --- the chat page ---------------------------------------------------------------------------


def test_the_widget_shows_a_staff_reply_signed_with_their_first_name(visitor):
    anna = staff_named("Anna Berg")
    seen = newest_id(visitor.chat_id)
    chats.post_staff_reply(stored_chat(visitor.chat_id), anna, "Hi, I can help with that.")

    news = visitor.get("messages", query_string={"after": seen}).get_data(as_text=True)
    assert '<span class="sender" aria-hidden="true">Anna · Acme Inc team</span>' in news
    # Screen readers hear the same name before the text.
    assert '<span class="visually-hidden">Anna · Acme Inc team: </span>' in news
    assert "Berg" not in news  # only the first name reaches the visitor
    # A reload restores the chat with the same label.
    assert ">Anna · Acme Inc team</span>" in visitor.get().get_data(as_text=True)


def test_a_staff_member_without_a_name_signs_for_the_team(visitor):
    nameless = staff_named("")
    seen = newest_id(visitor.chat_id)
    chats.post_staff_reply(stored_chat(visitor.chat_id), nameless, "We are on it.")
    news = visitor.get("messages", query_string={"after": seen}).get_data(as_text=True)
    assert '<span class="sender" aria-hidden="true">Acme Inc team</span>' in news
    assert " · " not in news


def test_a_staff_name_with_html_is_shown_as_text(visitor):
    staff = staff_named("<img src=x onerror=alert(1)> Berg")
    seen = newest_id(visitor.chat_id)
    chats.post_staff_reply(stored_chat(visitor.chat_id), staff, "Hello")
    news = visitor.get("messages", query_string={"after": seen}).get_data(as_text=True)
    assert "&lt;img · Acme Inc team</span>" in news
    assert "<img" not in news


def test_a_business_name_with_html_is_shown_as_text(visitor, tenant):
    tenant.name = "<b>Acme</b>"
    db.session.commit()
    seen = newest_id(visitor.chat_id)
    chats.post_staff_reply(stored_chat(visitor.chat_id), staff_named("Anna"), "Hello")
    news = visitor.get("messages", query_string={"after": seen}).get_data(as_text=True)
    assert ">Anna · &lt;b&gt;Acme&lt;/b&gt; team</span>" in news and "<b>" not in news


def test_the_ai_is_shown_typing_until_its_reply_replaces_the_line(visitor, fake_llm):
    agent_name = stored_chat(visitor.chat_id).agent.name
    sent = visitor.send("What are your opening hours?").get_data(as_text=True)
    # The line is read to screen readers as the log adds it; the streaming text is not.
    assert (
        f'<span class="typing-label">{agent_name} is typing…</span>' in sent
        and '<span class="typing" aria-hidden="true">' in sent
        and '<p class="bubble" aria-hidden="true"><span class="bubble-text" sse-swap="delta"'
        in sent
    )
    events = parse_sse(visitor.client.get(stream_url(sent)).get_data(as_text=True))
    name, final = events[-1]
    assert name == "done" and "is typing" not in final
    assert "You said: What are your opening hours?" in final


def test_while_staff_are_in_charge_the_ai_is_not_shown_typing(visitor, staff, fake_llm):
    chats.post_staff_reply(stored_chat(visitor.chat_id), staff, "Olivia here.")
    sent = visitor.send("Thanks, Olivia!").get_data(as_text=True)
    assert "msg-streaming" in sent and "is typing" not in sent
    events = parse_sse(visitor.client.get(stream_url(sent)).get_data(as_text=True))
    assert "Acme Inc team is in this chat and will reply here." in events[-1][1]
    assert fake_llm.requests == []


def test_a_failed_reply_ends_the_typing_line_with_the_fallback_and_its_form(visitor, fake_llm):
    fake_llm.behaviour.fail_status = 500
    sent = visitor.send("Hello?").get_data(as_text=True)
    events = parse_sse(visitor.client.get(stream_url(sent)).get_data(as_text=True))
    name, final = events[-1]
    assert name == "done" and "Sorry, I can&#39;t answer right now." in final
    assert 'class="followup-card"' in final and "is typing" not in final


# --- the JSON client API ---------------------------------------------------------------------


def test_the_api_names_who_wrote_a_staff_reply_and_keeps_their_record(client, tenant, fake_llm):
    session = start(client, tenant)
    data = session.say("Is the oak table in stock?").get_json()
    last = data["messages"][-1]["id"]
    assert [m["sender"] for m in data["messages"]] == [None, None]  # the customer, the AI
    chats.post_staff_reply(stored_chat(session.chat_id), staff_named("Anna Berg"), "Yes!")

    (news,) = session.get(f"messages?after={last}").get_json()["messages"]
    assert (news["role"], news["content"]) == ("staff", "Yes!")
    assert news["sender"] == "Anna · Acme Inc team"
    # The author's record (their id, their whole name) stays with the team.
    assert news["action"] is None
    every = session.get("messages").get_json()["messages"]
    assert [m["sender"] for m in every] == [None, None, None, "Anna · Acme Inc team"]
