"""One chat in the admin: the conversation with roles, reminders marked with their step,
token use; the staff reply; the per-chat "Pause auto follow-up" switch; the chain."""

import re
from datetime import timedelta

import pytest
import time_machine

from followup.clock import utcnow
from followup.extensions import db
from followup.models import ChainEnd, Chat, Message, ReminderSend, Role
from followup.services import agents, chats
from tests.helpers.agents import (
    AGENT,
    CLIENT,
    SCRIPT,
    SYSTEM,
    make_agent,
    make_chat,
    schedule,
    unescaped,
)
from tests.helpers.apps import text_of
from tests.helpers.database_work import database_work
from tests.helpers.templates import assert_rendered


def fresh_chat(chat_id: int) -> Chat:
    db.session.expire_all()
    return db.session.get(Chat, chat_id)


def messages_of(chat_id: int) -> list[tuple[str, str]]:
    db.session.expire_all()
    return [
        (m.role, m.content)
        for m in db.session.query(Message).filter_by(chat_id=chat_id).order_by(Message.id)
    ]


@pytest.fixture
def alex(tenant):
    return make_agent(tenant, "Alex", steps=2, autofollowup_enabled=True)


@pytest.fixture
def reminded_chat(alex):
    """Maria asked, Alex answered, step 1 went out as a reminder; step 2 is due."""
    first, second = alex.steps
    chat = make_chat(
        alex,
        "Oak table",
        customer_name="Maria Garcia",
        messages=[
            (CLIENT, "Do you have oak tables?"),
            {
                "role": AGENT,
                "content": "Yes, three sizes.",
                "model": "gpt-test",
                "prompt_tokens": 300,
                "completion_tokens": 20,
            },
            {
                "role": AGENT,
                "content": "Still thinking about the oak table?",
                "model": "gpt-test",
                "prompt_tokens": 400,
                "completion_tokens": 30,
                "reminder_step_id": first.id,
            },
            (SYSTEM, "Logged in as maria@example.com"),
        ],
    )
    reminder = db.session.query(Message).filter_by(reminder_step_id=first.id).one()
    db.session.add(ReminderSend(chat_id=chat.id, cycle=1, step_id=first.id, message_id=reminder.id))
    chat.last_client_message_at = utcnow() - timedelta(hours=2)
    return schedule(chat, second, utcnow() + timedelta(hours=3))


def test_a_nameless_visitor_is_named_by_the_chats_label(staff_browser, alex):
    chat = make_chat(alex, messages=[(CLIENT, "Are you open on Sunday?")])
    body = text_of(staff_browser.get(f"/admin/chats/{chat.id}"))
    label = f"Visitor {chat.visitor_code}"
    assert f"<h1>{label}</h1>" in body
    assert unescaped(r'<span class="message-role">([^<]*)</span>', body) == [f"{label} (client)"]


def test_page_shows_the_conversation_with_roles_steps_and_tokens(staff_browser, reminded_chat):
    with assert_rendered(staff_browser, "admin/chats/page.html"):
        response = staff_browser.get(f"/admin/chats/{reminded_chat.id}")
    body = text_of(response)
    assert response.status_code == 200 and "<html" in body
    assert "<h1>Maria Garcia</h1>" in body
    roles = unescaped(r'<span class="message-role">([^<]*)</span>', body)
    assert roles == ["Maria Garcia (client)", "Alex (AI)", "Alex (AI)", "System"]
    assert body.count("Reminder · step 1") == 1
    assert "gpt-test · 300 prompt + 20 completion = 320 tokens" in body
    assert "gpt-test · 400 prompt + 30 completion = 430 tokens" in body
    assert "AI tokens: 700 prompt + 50 completion = <strong>750</strong>" in body
    # The chain: step 2 next, its due time in the tenant's zone, one reminder so far.
    assert ">Scheduled<" in body and "<dt>Next step</dt><dd>Step 2</dd>" in body
    assert re.search(r"<dt>Reminders sent</dt><dd>1 ", body)
    assert 'name="paused"' in body and "Pause auto follow-up" in body
    assert "Reply as staff" in body


def test_times_are_shown_in_the_tenants_time_zone(staff_browser, tenant, reminded_chat):
    tenant.timezone = "Asia/Tokyo"
    db.session.commit()
    with time_machine.travel(utcnow(), tick=False):
        due = utcnow().replace(hour=1, minute=30, second=0, microsecond=0) + timedelta(days=1)
        schedule(reminded_chat, reminded_chat.agent.steps[1], due)
        body = text_of(staff_browser.get(f"/admin/chats/{reminded_chat.id}"))
    assert f"{due.strftime('%b %-d, %Y')} 10:30 JST" in body


def test_the_conversation_alone_for_htmx(staff_browser, reminded_chat):
    with assert_rendered(staff_browser, "admin/chats/_conversation.html"):
        response = staff_browser.get(f"/admin/chats/{reminded_chat.id}", htmx=True)
    body = text_of(response)
    assert response.status_code == 200 and "<html" not in body and "<h1>" not in body
    assert "Still thinking about the oak table?" in body and "Reminder · step 1" in body
    assert "HX-Request" in response.headers["Vary"]


def test_chain_panel_alone_for_htmx(staff_browser, reminded_chat):
    with assert_rendered(staff_browser, "admin/chats/_chain.html"):
        response = staff_browser.get(f"/admin/chats/{reminded_chat.id}/chain", htmx=True)
    body = text_of(response)
    assert response.status_code == 200 and body.lstrip().startswith(
        '<section class="card chain-card"'
    )
    with assert_rendered(staff_browser):  # a redirect, nothing rendered
        plain = staff_browser.get(f"/admin/chats/{reminded_chat.id}/chain")
    assert plain.status_code == 302 and plain.headers["Location"].endswith(
        f"/admin/chats/{reminded_chat.id}"
    )


def test_staff_reply_as_htmx(staff_browser, reminded_chat):
    with assert_rendered(staff_browser, "admin/chats/_reply.html"):
        response = staff_browser.post(
            f"/admin/chats/{reminded_chat.id}/reply",
            {"text": "  Hi Maria, Olivia here.  "},
            htmx=True,
        )
    body = text_of(response)
    assert response.status_code == 200 and "Reply sent." in body
    assert '<textarea id="staff-reply-text"' in body and "Olivia here" not in body  # cleared
    assert response.headers["HX-Trigger"] == '{"chat-changed": true}'
    assert messages_of(reminded_chat.id)[-1] == (Role.STAFF, "Hi Maria, Olivia here.")
    chat = fresh_chat(reminded_chat.id)
    assert chat.last_staff_reply_at is not None
    # The human takes over: the reminder waits until the takeover ends.
    shown = text_of(staff_browser.get(f"/admin/chats/{chat.id}"))
    assert "A staff member replied: no reminder before" in shown
    assert chat.chain_due_at is None or chat.chain_due_at >= chat.last_staff_reply_at + timedelta(
        minutes=30
    )


def test_staff_reply_as_plain_form_redirects(staff_browser, reminded_chat):
    response = staff_browser.post(f"/admin/chats/{reminded_chat.id}/reply", {"text": "Hello"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/admin/chats/{reminded_chat.id}")
    assert messages_of(reminded_chat.id)[-1] == (Role.STAFF, "Hello")


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "page"])
def test_empty_staff_reply_is_refused(staff_browser, reminded_chat, htmx):
    before = messages_of(reminded_chat.id)
    response = staff_browser.post(
        f"/admin/chats/{reminded_chat.id}/reply", {"text": "  "}, htmx=htmx
    )
    body = text_of(response)
    assert response.status_code == 422
    assert 'id="staff-reply-error" role="alert">Reply as staff: please fill this in.' in body
    assert ("<html" in body) is not htmx
    assert messages_of(reminded_chat.id) == before


def test_staff_reply_is_escaped(staff_browser, reminded_chat):
    staff_browser.post(f"/admin/chats/{reminded_chat.id}/reply", {"text": SCRIPT}, htmx=True)
    body = text_of(staff_browser.get(f"/admin/chats/{reminded_chat.id}"))
    assert SCRIPT not in body and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in body


def test_customer_text_is_escaped(staff_browser, alex):
    chat = make_chat(alex, SCRIPT, customer_name=SCRIPT, messages=[(CLIENT, SCRIPT)])
    for url in (f"/admin/chats/{chat.id}", f"/admin/agents/{alex.id}/chats"):
        body = text_of(staff_browser.get(url))
        assert SCRIPT not in body and "&lt;script&gt;" in body


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "page"])
def test_pause_and_resume_auto_followup_for_one_chat(staff_browser, reminded_chat, htmx):
    url = f"/admin/chats/{reminded_chat.id}/pause"
    paused = staff_browser.post(url, {"paused": "on"}, htmx=htmx)
    chat = fresh_chat(reminded_chat.id)
    assert chat.autofollowup_paused is True and chat.chain_due_at is None
    if htmx:
        body = text_of(paused)
        assert paused.status_code == 200 and "Auto follow-up paused for this chat." in body
        assert "Paused by staff" in body and re.search(r'id="chat-paused"[^>]*checked', body, re.S)
    else:
        assert paused.status_code == 303
    resumed = staff_browser.post(url, {}, htmx=htmx)
    chat = fresh_chat(reminded_chat.id)
    assert chat.autofollowup_paused is False
    assert chat.chain_step_id == reminded_chat.agent.steps[1].id  # step 2 planned again
    assert resumed.status_code == (200 if htmx else 303)


def test_paused_chats_leave_the_dashboard(staff_browser, reminded_chat):
    assert "Maria Garcia" in text_of(staff_browser.get("/admin/auto-followup"))
    staff_browser.post(f"/admin/chats/{reminded_chat.id}/pause", {"paused": "on"}, htmx=True)
    assert "Maria Garcia" not in text_of(staff_browser.get("/admin/auto-followup"))


@pytest.fixture
def opted_out_chat(alex):
    """An SMS chat whose client texted STOP."""
    return make_chat(
        alex,
        "+14155550100",
        channel="sms",
        phone="+14155550100",
        opted_out=True,
        messages=[(CLIENT, "STOP")],
    )


def test_opted_out_chat_says_so(staff_browser, opted_out_chat):
    body = text_of(staff_browser.get(f"/admin/chats/{opted_out_chat.id}"))
    assert "The client opted out (asked to stop): no reminder will be sent in this chat." in body
    assert '<span class="badge badge-high">Opted out</span>' in body
    assert "Sent to the client by SMS." in body


def test_no_staff_reply_to_a_customer_who_texted_stop(staff_browser, opted_out_chat):
    response = staff_browser.post(
        f"/admin/chats/{opted_out_chat.id}/reply", {"text": "Hello?"}, htmx=True
    )
    assert response.status_code == 409 and response.headers["HX-Retarget"] == "#alerts"
    assert "texted STOP" in text_of(response)
    assert messages_of(opted_out_chat.id) == [(Role.CLIENT, "STOP")]


def test_chain_states_in_words(staff_browser, tenant, alex):
    finished = make_chat(alex, "Finished", chain_ended=ChainEnd.EXHAUSTED)
    idle = make_chat(alex, "Idle")
    sam = make_agent(tenant, "Sam")
    off = make_chat(sam, "Off")
    assert "Finished: every step was sent" in text_of(
        staff_browser.get(f"/admin/chats/{finished.id}")
    )
    assert "Not running" in text_of(staff_browser.get(f"/admin/chats/{idle.id}"))
    assert "Auto Follow-up is off for Sam" in text_of(staff_browser.get(f"/admin/chats/{off.id}"))


def test_a_chat_handed_to_the_team_says_so(staff_browser, tenant, alex, make_followup, moved_clock):
    chat = make_chat(alex, "Callback", last_client_message_at=utcnow())
    make_followup(tenant, chat_id=chat.id)
    page = text_of(staff_browser.get(f"/admin/chats/{chat.id}"))
    assert '<span class="chain-state chain-handed_off">Handed to the team</span>' in page
    assert "no reminder until the client writes again." in page
    tab = text_of(staff_browser.get(f"/admin/agents/{alex.id}/chats"))
    assert '<span class="chain-state chain-handed_off">Handed to the team</span>' in tab


def test_a_reminder_stays_in_the_conversation_after_its_step_is_removed(
    staff_browser, tenant, reminded_chat
):
    first = reminded_chat.agent.steps[0]
    agents.remove_step(tenant.id, reminded_chat.agent_id, first.id)
    body = text_of(staff_browser.get(f"/admin/chats/{reminded_chat.id}"))
    assert "Still thinking about the oak table?" in body


def test_a_real_turn_records_tokens_shown_on_the_page(staff_browser, tenant, alex):
    chat = chats.start_chat(tenant.widget_public_key).chat
    chats.post_client_message(chat, "What are your opening hours?")
    answer = chats.reply(chat)
    body = text_of(staff_browser.get(f"/admin/chats/{chat.id}"))
    assert "You said: What are your opening hours?" in body
    assert f"= {answer.total_tokens} tokens" in body and answer.total_tokens > 0


@pytest.mark.parametrize("path", ["/reply", "/pause"])
def test_writes_without_csrf_token_are_refused(staff_browser, reminded_chat, path):
    before = messages_of(reminded_chat.id)
    response = staff_browser.post(
        f"/admin/chats/{reminded_chat.id}{path}",
        {"text": "x", "paused": "on"},
        csrf=False,
        htmx=True,
    )
    assert response.status_code == 400
    assert messages_of(reminded_chat.id) == before
    assert fresh_chat(reminded_chat.id).autofollowup_paused is False


def test_unknown_chat_is_404(staff_browser):
    assert staff_browser.get("/admin/chats/424242").status_code == 404
    assert (
        staff_browser.post("/admin/chats/424242/reply", {"text": "x"}, htmx=True).status_code == 404
    )


def test_a_request_from_a_chat_links_to_its_conversation(staff_browser, tenant, fake_llm):
    chat = chats.start_chat(tenant.widget_public_key).chat
    chats.post_client_message(chat, "Can someone call me?")
    chats.reply(chat)
    followup = chats.submit_followup(
        chat, {"name": "Ann Lee", "email": "ann@example.com", "reason": "A call"}
    ).followup
    followup_id = followup.id
    db.session.expire_all()  # as a new request finds it: nothing loaded yet
    with database_work() as work:
        body = text_of(staff_browser.get(f"/admin/followups/{followup_id}", htmx=True))
    link = f'<a href="/admin/chats/{chat.id}">Open the conversation</a>'
    assert re.search(rf"Source: Text chat\s+· {link}", body)
    # The staff user, the request with its chat and status history, its notes and other
    # activity, its notifications, its customer's rating, the members it can be assigned
    # to: the chat is not read on its own for its channel, nor the notifications again
    # for the timeline.
    assert work.count("SELECT") == 6, work
