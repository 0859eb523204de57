"""The Users page: the tenant's customers, search, paging, one customer's follow-ups and chats."""

import html
import re
from datetime import timedelta

import pytest
import time_machine

from followup.clock import utcnow
from followup.extensions import db
from followup.models import Chat, Customer, CustomerStatus, Message, Role, Status
from followup.services import chats, followups
from followup.services.followups import Actor
from tests.helpers.apps import text_of
from tests.helpers.templates import assert_rendered

SCRIPT = '<script>alert("x")</script>'


def card_names(body: str) -> list[str]:
    return [html.unescape(n) for n in re.findall(r'<span class="card-name">([^<]*)</span>', body)]


def customer_of(followup) -> Customer:
    return db.session.get(Customer, followup.customer_id)


def chat_for(tenant, customer: Customer, text: str = "Hello there") -> Chat:
    """A web chat of this customer: greeting, their message, the AI's answer (real LLM path)."""
    chat = chats.start_chat(tenant.widget_public_key).chat
    chat.customer_id = customer.id
    chat.title = f"Chat with {customer.name}"
    db.session.commit()
    chats.post_client_message(chat, text)
    chats.reply(chat)
    return chat


@pytest.fixture
def maria(tenant, make_followup):
    first = make_followup(
        tenant, name="Maria Garcia", email="maria@example.com", phone="+14155550101"
    )
    make_followup(tenant, name="Maria Garcia", email="maria@example.com", reason="Second request")
    return customer_of(first)


# --- the list -------------------------------------------------------------------------------


def test_list_full_page_and_partial(staff_browser, tenant, make_followup, maria):
    john = customer_of(make_followup(tenant, name="John Smith", email="john@example.com"))
    chat_for(tenant, maria)
    with assert_rendered(staff_browser, "admin/users/page.html"):
        page_response = staff_browser.get("/admin/users")
    with assert_rendered(staff_browser, "admin/users/_list.html"):
        partial_response = staff_browser.get("/admin/users", htmx=True)
    page, partial = text_of(page_response), text_of(partial_response)
    assert page_response.status_code == partial_response.status_code == 200
    assert "<h1>Users</h1>" in page
    assert re.search(r'href="/admin/users"\s+aria-current="page">Users<', page)
    assert 'placeholder="Search by name or email"' in page
    assert "<html" not in partial and "<h1>" not in partial
    for body in (page, partial):
        assert card_names(body) == ["John Smith", "Maria Garcia"]  # newest first
        assert 'customer-status-guest">Guest</span>' in body
        assert "maria@example.com" in body and ">+1 415-555-0101<" in body
        assert 'class="user-followup-count">2 follow-ups<' in body
        assert 'class="user-chat-count">1 chat<' in body
        assert 'class="user-chat-count">0 chats<' in body
        assert f'href="/admin/users/{john.id}"' in body
    assert "HX-Request" in partial_response.headers["Vary"]


def test_empty_list_says_so(staff_browser):
    assert "No customers yet." in text_of(staff_browser.get("/admin/users"))
    assert "No customers match these filters." in text_of(
        staff_browser.get("/admin/users?q=nobody", htmx=True)
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("maria", ["Maria Garcia"]),
        ("GARCIA", ["Maria Garcia"]),
        ("JOHN@EXAMPLE", ["John Smith"]),
        ("example.com", ["John Smith", "Maria Garcia"]),
        ("  smith ", ["John Smith"]),
        ("nobody", []),
    ],
)
def test_search_by_name_or_email_ignoring_case(
    staff_browser, tenant, make_followup, maria, query, expected
):
    make_followup(tenant, name="John Smith", email="john@example.com")
    body = text_of(staff_browser.get("/admin/users", query_string={"q": query}, htmx=True))
    assert card_names(body) == expected


def test_search_does_not_look_at_the_request_reason(staff_browser, tenant, make_followup):
    make_followup(tenant, name="Ann", email="ann@example.com", reason="hoodies")
    assert card_names(text_of(staff_browser.get("/admin/users?q=hoodies", htmx=True))) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [("100%", ["100% Cotton Ltd"]), ("a_b", ["Under Score"]), ("\\", ["Back \\ Slash"])],
)
def test_search_takes_percent_underscore_and_backslash_literally(
    staff_browser, tenant, make_followup, query, expected
):
    make_followup(tenant, name="100% Cotton Ltd", email="cotton@example.com")
    make_followup(tenant, name="1000 Cottons", email="cottons@example.com")
    make_followup(tenant, name="Under Score", email="a_b@example.com")
    make_followup(tenant, name="No Underscore", email="axb@example.com")
    make_followup(tenant, name="Back \\ Slash", email="back@example.com")
    assert card_names(text_of(staff_browser.get("/admin/users", query_string={"q": query}))) == (
        expected
    )


def test_status_filter(staff_browser, tenant, make_followup, maria):
    make_followup(tenant, name="John Smith", email="john@example.com")
    maria.status = CustomerStatus.REGISTERED
    db.session.commit()
    registered = text_of(staff_browser.get("/admin/users?status=registered", htmx=True))
    guests = text_of(staff_browser.get("/admin/users?status=guest&q=john"))
    assert card_names(registered) == ["Maria Garcia"]
    assert 'customer-status-registered">Registered</span>' in registered
    assert card_names(guests) == ["John Smith"]
    assert '<option value="guest" selected>Guest</option>' in guests
    assert card_names(text_of(staff_browser.get("/admin/users?status=all"))) == [
        "John Smith",
        "Maria Garcia",
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=vip", "<li>Status: choose one of all, guest, registered.</li>"),
        ("q=" + "x" * 201, "<li>Search: keep it to 200 characters or fewer (this has 201).</li>"),
        ("cursor=zz", "<li>The list changed too much to go on: reload it.</li>"),
    ],
)
def test_bad_filters_are_a_clear_error(staff_browser, query, message):
    response = staff_browser.get(f"/admin/users?{query}", htmx=True)
    assert response.status_code == 422
    assert message in text_of(response)


def test_list_loads_in_pages_with_a_cursor(app, staff_browser, tenant, make_followup):
    app.config["USERS_PAGE_SIZE"] = 2
    start = utcnow() - timedelta(hours=1)
    for n in range(5):
        with time_machine.travel(start + timedelta(minutes=n), tick=False):
            make_followup(tenant, name=f"Person {n}", email=f"person{n}@example.com")
    body = text_of(staff_browser.get("/admin/users"))
    seen = card_names(body)
    while cursor := re.search(r'hx-get="/admin/users\?cursor=([^"&]+)', body):
        with assert_rendered(staff_browser, "admin/users/_rows.html"):
            body = text_of(staff_browser.get(f"/admin/users?cursor={cursor.group(1)}", htmx=True))
        assert "<ul" not in body  # rows only, appended to the list
        seen += card_names(body)
    assert seen == [f"Person {n}" for n in (4, 3, 2, 1, 0)]


def test_pages_keep_the_search(app, staff_browser, tenant, make_followup):
    app.config["USERS_PAGE_SIZE"] = 1
    make_followup(tenant, name="Ann One", email="ann1@example.com")
    make_followup(tenant, name="Bob", email="bob@example.com")
    make_followup(tenant, name="Ann Two", email="ann2@example.com")
    body = text_of(staff_browser.get("/admin/users?q=ann"))
    assert card_names(body) == ["Ann Two"]
    next_url = html.unescape(re.search(r'hx-get="(/admin/users\?cursor=[^"]+)"', body).group(1))
    assert "q=ann" in next_url
    assert card_names(text_of(staff_browser.get(next_url, htmx=True))) == ["Ann One"]


# --- one customer ---------------------------------------------------------------------------


def test_detail_as_full_page_and_partial(staff_browser, tenant, make_followup, maria):
    chat = chat_for(tenant, maria)
    followup = followups.list_page(tenant.id, followups.Filters()).items[-1]
    followups.change_status(tenant.id, followup.id, Status.CONTACTED, Actor("tests"))
    with assert_rendered(staff_browser, "admin/users/page.html"):
        page = text_of(staff_browser.get(f"/admin/users/{maria.id}"))
    with assert_rendered(staff_browser, "admin/users/_detail.html"):
        partial = text_of(staff_browser.get(f"/admin/users/{maria.id}", htmx=True))
    assert "<h1>Users</h1>" in page and card_names(page) == ["Maria Garcia"]
    assert 'class="user-card is-selected"' in page
    assert "<html" not in partial and "<h1>" not in partial
    for body in (page, partial):
        assert 'id="user-detail-name">Maria Garcia</h2>' in body
        assert 'href="mailto:maria@example.com"' in body and 'href="tel:+14155550101"' in body
        assert "Follow-up requests (2)" in body
        assert f'href="/admin/followups/{followup.id}"' in body
        assert 'class="status-pill status-contacted">Contacted</span>' in body
        assert 'class="status-pill status-pending">Pending</span>' in body
        assert "Chats (1)" in body
        assert f'class="chat-title">Visitor {chat.visitor_code}</span>' in body
        assert 'class="badge channel-badge">Web chat</span>' in body
        assert "· 3 messages" in body  # greeting, question, answer
        assert f'href="/admin/users/{maria.id}?chat={chat.id}#chat-{chat.id}"' in body
        assert "Show transcript" in body and 'class="transcript"' not in body


def test_detail_links_keep_the_list_filters(staff_browser, maria):
    body = text_of(staff_browser.get(f"/admin/users/{maria.id}?q=maria", htmx=True))
    assert 'href="/admin/users?q=maria" aria-label="Close details"' in body
    list_page = text_of(staff_browser.get("/admin/users?q=maria"))
    assert f'href="/admin/users/{maria.id}?q=maria"' in list_page


def test_transcript_with_roles_local_times_and_token_use(staff_browser, tenant, maria):
    tenant.timezone = "Europe/Berlin"
    db.session.commit()
    chat = chat_for(tenant, maria, "What are your opening hours?")
    db.session.add_all(
        [
            Message(chat_id=chat.id, role=Role.STAFF, content="Hi Maria, Olivia here."),
            Message(chat_id=chat.id, role=Role.SYSTEM, content="Logged in as maria@example.com."),
        ]
    )
    db.session.commit()
    answer = db.session.query(Message).filter_by(chat_id=chat.id, role=Role.AGENT).all()[-1]
    assert answer.prompt_tokens and answer.completion_tokens
    url = f"/admin/users/{maria.id}?chat={chat.id}"
    for body in (text_of(staff_browser.get(url)), text_of(staff_browser.get(url, htmx=True))):
        transcript = re.search(r'<section class="transcript".*?</section>', body, re.S).group(0)
        roles = re.findall(r'<span class="message-role">([^<]*)</span>', transcript)
        assert roles == ["Alex (AI)", "Maria Garcia (client)", "Alex (AI)", "Staff", "System"]
        assert "You said: What are your opening hours?" in transcript
        assert "Hi Maria, Olivia here." in transcript
        assert re.search(r"\d{2}:\d{2} CE(S)?T</time>", transcript)  # the tenant's zone
        assert (
            f"{answer.model} · {answer.prompt_tokens} prompt + "
            f"{answer.completion_tokens} completion = {answer.total_tokens} tokens"
        ) in transcript
        total = answer.prompt_tokens + answer.completion_tokens
        assert re.search(
            rf"5 messages\s+· AI tokens: {answer.prompt_tokens} prompt \+ "
            rf"{answer.completion_tokens} completion = <strong>{total}</strong>",
            transcript,
        )
        assert "Hide transcript" in body
        assert f'href="/admin/users/{maria.id}#chat-{chat.id}"' in body


def test_transcript_marks_the_followup_the_chat_created(staff_browser, tenant, maria):
    chat = chat_for(tenant, maria, "Can someone call me?")
    followup = chats.submit_followup(
        chat, {"name": "Maria Garcia", "email": "maria@example.com", "reason": "Call me"}
    ).followup
    body = text_of(staff_browser.get(f"/admin/users/{maria.id}?chat={chat.id}", htmx=True))
    assert "Showed the follow-up form." in body
    assert f'<a href="/admin/followups/{followup.id}">Follow-up request created</a>' in body


def test_long_transcripts_show_the_latest_messages(staff_browser, tenant, maria, monkeypatch):
    from followup.services import customer_directory

    monkeypatch.setattr(customer_directory, "TRANSCRIPT_LIMIT", 3)
    chat = chat_for(tenant, maria)
    for n in range(4):
        db.session.add(Message(chat_id=chat.id, role=Role.CLIENT, content=f"Message {n}"))
    db.session.commit()
    body = text_of(staff_browser.get(f"/admin/users/{maria.id}?chat={chat.id}", htmx=True))
    assert "7 messages, showing the last 3" in body
    assert re.findall(r'class="message-text">(Message \d)<', body) == [
        "Message 1",
        "Message 2",
        "Message 3",
    ]


def test_a_chat_of_another_customer_is_404(staff_browser, tenant, make_followup, maria):
    john = customer_of(make_followup(tenant, name="John Smith", email="john@example.com"))
    johns_chat = chat_for(tenant, john, "John's secret question")
    for htmx in (False, True):
        response = staff_browser.get(f"/admin/users/{maria.id}?chat={johns_chat.id}", htmx=htmx)
        assert response.status_code == 404
        assert "secret question" not in text_of(response)


def test_a_chat_of_another_tenant_is_404(staff_browser, other_tenant, make_followup, maria):
    theirs = customer_of(make_followup(other_tenant, name="Their Customer"))
    their_chat = chat_for(other_tenant, theirs, "Their private words")
    response = staff_browser.get(f"/admin/users/{maria.id}?chat={their_chat.id}")
    assert response.status_code == 404
    assert "Their private words" not in text_of(response)


@pytest.mark.parametrize("chat_arg", ["abc", "", "-1", "0", "99999999999", "²"])
def test_a_bad_chat_argument_is_404(staff_browser, maria, chat_arg):
    assert staff_browser.get(f"/admin/users/{maria.id}?chat={chat_arg}").status_code == 404


@pytest.mark.parametrize("customer_id", [0, 999999, 2**31, 2**63])
def test_unknown_customer_is_404(staff_browser, customer_id):
    for htmx in (False, True):
        assert staff_browser.get(f"/admin/users/{customer_id}", htmx=htmx).status_code == 404


def test_a_customer_without_requests_or_chats(staff_browser, tenant):
    customer = Customer(tenant_id=tenant.id, email="quiet@example.com")
    db.session.add(customer)
    db.session.commit()
    body = text_of(staff_browser.get(f"/admin/users/{customer.id}", htmx=True))
    assert 'id="user-detail-name">quiet@example.com</h2>' in body  # no name: the email
    assert "No follow-up requests." in body and "No chats." in body


def test_users_need_a_login(browser, maria):
    for url in ("/admin/users", f"/admin/users/{maria.id}"):
        response = browser.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
        assert browser.get(url, htmx=True).headers["HX-Redirect"].startswith("/login")


# --- customer text is escaped everywhere ----------------------------------------------------


def test_customer_text_is_escaped(staff_browser, tenant, make_followup):
    followup = make_followup(
        tenant, name=f"Eve {SCRIPT}", email="eve@example.com", reason=f"Help {SCRIPT}"
    )
    customer = customer_of(followup)
    chat = chat_for(tenant, customer, f"Hi {SCRIPT}")
    chat.title = f"Title {SCRIPT}"
    db.session.commit()
    for url in (
        "/admin/users",
        "/admin/users?q=eve",
        f"/admin/users/{customer.id}",
        f"/admin/users/{customer.id}?chat={chat.id}",
    ):
        for htmx in (False, True):
            body = text_of(staff_browser.get(url, htmx=htmx))
            assert SCRIPT not in body, url
            assert "&lt;script&gt;" in body, url
