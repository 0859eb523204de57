"""The page a customer's one-time login link opens: it logs them in to the chat that asked."""

import re
from datetime import timedelta

import pytest
import time_machine

from followup.clock import utcnow
from followup.extensions import db, mail
from followup.models import Chat, Message, Role, Source
from followup.services import chats, customers, followups

EMAIL = "maria@example.com"


@pytest.fixture
def customer(tenant):
    followup = followups.create_followup(
        tenant.id,
        {"name": "Maria Garcia", "email": EMAIL, "reason": "Quote for 40 hoodies"},
        source=Source.TEXT,
    )
    return followup.customer


@pytest.fixture
def chat(tenant, customer) -> Chat:
    chat, _token = chats.start_chat(tenant.widget_public_key)
    return chat


def emailed_link_path(chat: Chat, email: str = EMAIL) -> str:
    """Ask for a link the way the widget does and read it out of the email that was sent."""
    with mail.record_messages() as outbox:
        customers.request_login_link(chat, email)
    assert len(outbox) == 1
    assert outbox[0].recipients == [email]
    link = re.search(r"http://localhost(/customer-login/\S+)", outbox[0].body)
    assert link, outbox[0].body
    return link.group(1)


def open_and_confirm(browser, path: str):
    """Open the emailed link, then press "Log me in" (the POST that uses it up)."""
    page = browser.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    return browser.client.post(path, data={"csrf_token": token.group(1)})


def reload(chat: Chat) -> Chat:
    db.session.expire_all()
    return db.session.get(Chat, chat.id)


def system_messages(chat: Chat) -> list[str]:
    return [m.content for m in chats.history(reload(chat)) if m.role == Role.SYSTEM]


def test_opening_the_link_asks_first_and_logs_nobody_in(browser, chat):
    """Mail scanners open links before people do: a GET must not use the link up."""
    path = emailed_link_path(chat)
    for _ in range(2):
        page = browser.get(path)
        assert page.status_code == 200
        assert f"Log in as <strong>{EMAIL}</strong>" in page.get_data(as_text=True)
    assert reload(chat).customer_id is None
    assert customers.signed_in_customer(reload(chat)) is None


def test_confirming_without_csrf_token_is_refused(browser, chat):
    path = emailed_link_path(chat)
    assert browser.client.post(path).status_code == 400
    assert system_messages(chat) == []


def test_the_link_logs_the_customer_in_to_the_chat(browser, tenant, customer, chat):
    path = emailed_link_path(chat)
    response = open_and_confirm(browser, path)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert (
        f"You're logged in as <strong>{EMAIL}</strong>. "
        "Go back to the chat window — it now shows your requests."
    ) in body
    assert "Acme Inc" in body
    assert reload(chat).customer_id == customer.id
    assert system_messages(chat) == [f"Logged in as {EMAIL}."]
    assert [f.reason for f in customers.requests_of(reload(chat))] == ["Quote for 40 hoodies"]


def test_the_page_keeps_the_token_out_of_caches_and_referrers(browser, chat):
    response = browser.get(emailed_link_path(chat))
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Robots-Tag"] == "noindex"
    # A standalone page: no admin navigation, even for a logged-in staff member.
    assert 'class="sidebar"' not in response.get_data(as_text=True)


def test_a_used_link_is_404_and_changes_nothing(browser, chat):
    path = emailed_link_path(chat)
    assert open_and_confirm(browser, path).status_code == 200
    second = browser.get(path)
    assert second.status_code == 404
    assert "This login link is invalid, used or expired." in second.get_data(as_text=True)
    assert system_messages(chat) == [f"Logged in as {EMAIL}."]  # not posted twice


def test_an_expired_link_is_404_and_logs_nobody_in(browser, chat):
    path = emailed_link_path(chat)
    with time_machine.travel(utcnow() + timedelta(minutes=31), tick=False):
        response = browser.get(path)
    assert response.status_code == 404
    assert "works once, for 30 minutes" in response.get_data(as_text=True)
    assert reload(chat).customer_id is None
    assert system_messages(chat) == []


def test_a_link_just_before_expiry_still_works(browser, chat):
    path = emailed_link_path(chat)
    with time_machine.travel(utcnow() + timedelta(minutes=29), tick=False):
        assert open_and_confirm(browser, path).status_code == 200


@pytest.mark.parametrize("token", ["made-up-token", "x" * 500, "%3Cscript%3E"])
def test_a_bad_token_is_404(browser, chat, token):
    response = browser.get(f"/customer-login/{token}")
    assert response.status_code == 404
    assert "<script>" not in response.get_data(as_text=True)
    assert db.session.query(Message).filter_by(role=Role.SYSTEM).count() == 0


def test_an_unknown_email_gets_no_link(chat):
    with mail.record_messages() as outbox:
        customers.request_login_link(chat, "stranger@example.com")
    assert outbox == []


def test_links_are_rate_limited_per_address(browser, chat):
    statuses = [browser.get(f"/customer-login/guess-{n}").status_code for n in range(21)]
    assert statuses == [404] * 20 + [429]
