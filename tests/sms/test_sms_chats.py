"""The SMS chat service on its own: concurrent first texts, and which message the AI
answers when several arrive. On SQLite and PostgreSQL."""

import threading
import time

from sqlalchemy import select

from followup.extensions import db
from followup.models import Chat, Message, Role
from followup.services import chats, sms_chats
from tests.helpers.sms import AGENT_NUMBER, CUSTOMER_NUMBER, conversation


def test_two_first_texts_at_once_open_one_chat(app, agent):
    # The first text is half-way: its new chat is written but not committed yet.
    first_chat = sms_chats.chat_for(agent, CUSTOMER_NUMBER)
    errors: list[BaseException] = []

    def second_text() -> None:
        with app.app_context():
            try:
                sms_chats.receive(AGENT_NUMBER, CUSTOMER_NUMBER, "Second")
            except BaseException as exc:  # reported by the test thread
                errors.append(exc)
            finally:
                db.session.remove()

    second = threading.Thread(target=second_text)
    second.start()
    time.sleep(0.5)
    assert second.is_alive(), "the second text did not wait for the first one's chat"

    chats.post_client_message(first_chat, "First")  # commits, and lets the second one go
    second.join(timeout=10)

    assert not second.is_alive() and errors == []
    db.session.rollback()
    (chat,) = db.session.scalars(select(Chat)).all()
    assert [content for _, content in conversation(chat.id)] == ["First", "Second"]


def test_only_the_latest_text_of_a_burst_is_answered(app, agent):
    first = sms_chats.receive(AGENT_NUMBER, CUSTOMER_NUMBER, "Hi")
    second = sms_chats.receive(AGENT_NUMBER, CUSTOMER_NUMBER, "I need a table for 4")

    assert sms_chats.answer(first.chat_id, first.message_id) is None  # its job came late
    reply = sms_chats.answer(second.chat_id, second.message_id)
    assert reply.content == "You said: I need a table for 4"
    # The same job run again (RQ retried it, or it ran twice) answers nothing more.
    assert sms_chats.answer(second.chat_id, second.message_id) is None
    assert [m.role for m in db.session.scalars(select(Message).order_by(Message.id))] == [
        Role.CLIENT,
        Role.CLIENT,
        Role.AGENT,
    ]


def test_a_chat_of_the_web_widget_is_never_answered_as_sms(app, agent):
    received = sms_chats.receive(AGENT_NUMBER, CUSTOMER_NUMBER, "Hi")
    chat = db.session.get(Chat, received.chat_id)
    chat.channel = "web"
    db.session.commit()

    assert sms_chats.answer(received.chat_id, received.message_id) is None
