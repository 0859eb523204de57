"""The page a customer's one-time login link opens: it logs them in to the chat that
asked, and only with the code that chat showed, so a link that reaches somebody who
did not ask for it (requested in somebody else's chat) logs nobody in."""

import re
from datetime import timedelta

import pytest
import time_machine
from babel.dates import format_date

from followup.clock import utcnow
from followup.extensions import db, mail
from followup.models import Chat, Message, Role, Source
from followup.services import chat_identity, chats, customer_login, followups
from tests.helpers.staff import StaffBrowser
from tests.helpers.widget import SURFACES, SurfaceChat

EMAIL = "maria@example.com"
CODE_SHAPE = re.compile(r"^[23456789ABCDEFGHJKMNPQRSTVWXYZ]{6}$")
NOT_ASKED = (
    "If you did not ask for a login link, you can ignore it and close this page: "
    "nobody can log in with it without the code."
)


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
    chat = chats.start_chat(tenant.widget_public_key).chat
    return chat


def link_in(sent) -> str:
    assert len(sent) == 1
    assert sent[0].recipients == [EMAIL]
    link = re.search(r"http://localhost(/customer-login/\S+)", sent[0].body)
    assert link, sent[0].body
    return link.group(1)


def emailed_link(chat: Chat, email: str = EMAIL) -> tuple[str, str]:
    """Ask for a link as the widget does: the link's path from the email, and the code
    the chat shows."""
    with mail.record_messages() as outbox:
        code = customer_login.request_login_link(chat, email)
    return link_in(outbox), code


def emailed_link_path(chat: Chat, email: str = EMAIL) -> str:
    return emailed_link(chat, email)[0]


def open_and_confirm(browser, path: str, code: str = ""):
    """Open the emailed link, type `code` and press "Log me in" (the POST that uses it up)."""
    page = browser.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    return browser.client.post(path, data={"csrf_token": token.group(1), "code": code})


def log_in(browser, chat: Chat):
    path, code = emailed_link(chat)
    return open_and_confirm(browser, path, code)


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
    assert chat_identity.signed_in_customer(reload(chat)) is None


def test_confirming_without_csrf_token_is_refused(browser, chat):
    path = emailed_link_path(chat)
    assert browser.client.post(path).status_code == 400
    assert system_messages(chat) == []


def test_the_link_logs_the_customer_in_to_the_chat(browser, tenant, customer, chat):
    response = log_in(browser, chat)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert (
        f"You're logged in as <strong>{EMAIL}</strong>. "
        "Go back to the chat window — it now shows your requests."
    ) in body
    assert "Acme Inc" in body
    assert reload(chat).customer_id == customer.id
    assert system_messages(chat) == [f"Logged in as {EMAIL}."]
    assert [f.reason for f in chat_identity.requests_of(reload(chat))] == ["Quote for 40 hoodies"]


def test_the_page_keeps_the_token_out_of_caches_and_referrers(browser, chat):
    response = browser.get(emailed_link_path(chat))
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Robots-Tag"] == "noindex"
    # A standalone page: no admin navigation, even for a logged-in staff member.
    assert 'class="sidebar"' not in response.get_data(as_text=True)


def test_a_used_link_is_404_and_changes_nothing(browser, chat):
    path, code = emailed_link(chat)
    assert open_and_confirm(browser, path, code).status_code == 200
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
    path, code = emailed_link(chat)
    with time_machine.travel(utcnow() + timedelta(minutes=29), tick=False):
        assert open_and_confirm(browser, path, code).status_code == 200


@pytest.mark.parametrize("token", ["made-up-token", "x" * 500, "%3Cscript%3E"])
def test_a_bad_token_is_404(browser, chat, token):
    response = browser.get(f"/customer-login/{token}")
    assert response.status_code == 404
    assert "<script>" not in response.get_data(as_text=True)
    assert db.session.query(Message).filter_by(role=Role.SYSTEM).count() == 0


def test_an_unknown_email_gets_no_link(chat):
    with mail.record_messages() as outbox:
        code = customer_login.request_login_link(chat, "stranger@example.com")
    assert outbox == []
    assert CODE_SHAPE.match(code)  # shown all the same: nobody can tell the difference


def test_links_are_rate_limited_per_address(browser, chat):
    statuses = [browser.get(f"/customer-login/guess-{n}").status_code for n in range(21)]
    assert statuses == [404] * 20 + [429]


# --- bound to the chat that asked: the code it shows ---------------------------------------

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
SHOP_PAGE = "https://shop.example/tables/oak?email=x%40y.example"


class WidgetChat(SurfaceChat):
    """A visitor's chat that asks for login links."""

    def __init__(self, app, tenant, surface: str, page_url: str = SHOP_PAGE):
        super().__init__(app, tenant, surface, page_url=page_url, headers={"User-Agent": IPHONE})

    def ask_for_link(self, email: str = EMAIL) -> tuple[str, list]:
        """Ask for a login link: the code the chat shows, and the emails sent."""
        with mail.record_messages() as outbox:
            if self.surface == "widget":
                response = self.client.post(
                    f"/w/{self.key}/chats/{self.chat_id}/login",
                    data={"email": email},
                    headers=self._headers(),
                )
                assert response.status_code == 200
                shown = re.search(r'<p class="login-code"[^>]*>(\w+)</p>', response.text)
                code = shown.group(1)
            else:
                response = self.client.post(
                    f"/api/widget/v1/chats/{self.chat_id}/login-link",
                    json={"email": email},
                    headers=self._headers(),
                )
                assert response.status_code == 202
                code = response.json["code"]
        assert CODE_SHAPE.match(code)
        return code, outbox


@pytest.mark.parametrize("surface", SURFACES)
def test_a_link_asked_for_in_somebody_elses_chat_logs_that_chat_in_for_nobody(
    app, tenant, customer, surface
):
    """The attack: Mallory asks, in her chat, for a link to Maria's email. Maria, who
    asked for nothing, opens it and presses the button: without the code shown in
    Mallory's chat nothing happens, the page tells Maria she can ignore it, and a few
    wrong codes kill the link. Mallory's chat never lists Maria's requests."""
    mallory = WidgetChat(app, tenant, surface)
    _code, sent = mallory.ask_for_link(EMAIL)
    path = link_in(sent)

    maria_browser = StaffBrowser(app.test_client())  # her own browser
    first = open_and_confirm(maria_browser, path, code="")
    assert first.status_code == 422
    assert NOT_ASKED in first.text
    assert "That is not the code shown in the chat window. You have 4 more tries." in first.text
    for guess in ("ABCDEF", "222222", "ZZZZZZ"):
        assert open_and_confirm(maria_browser, path, guess).status_code == 422
    last = maria_browser.client.post(path, data={"csrf_token": csrf_of(maria_browser, path)})
    assert last.status_code == 404  # the fifth wrong code: the link is dead

    assert mallory.my_requests() == []
    chat = db.session.get(Chat, mallory.chat_id)
    assert chat_identity.signed_in_customer(reload(chat)) is None
    assert system_messages(chat) == []


def csrf_of(browser, path: str) -> str:
    page = browser.get(path)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


@pytest.mark.parametrize("surface", SURFACES)
def test_the_customer_who_asked_types_the_code_and_their_chat_shows_their_requests(
    app, browser, tenant, customer, surface
):
    maria = WidgetChat(app, tenant, surface)
    code, sent = maria.ask_for_link(EMAIL)
    page = browser.get(link_in(sent))
    assert "Code shown in the chat window" in page.text and NOT_ASKED in page.text
    # As people type it: lower case, a space in the middle.
    typed = f"{code[:3].lower()} {code[3:].lower()}"
    response = open_and_confirm(browser, link_in(sent), typed)
    assert response.status_code == 200
    assert f"You're logged in as <strong>{EMAIL}</strong>." in response.text
    assert maria.my_requests() == ["Quote for 40 hoodies"]


def test_the_code_is_shown_whether_or_not_the_email_is_known(app, tenant, customer):
    """Same answer for a customer's email and a stranger's: a code, no tell."""
    visitor = WidgetChat(app, tenant, "widget")
    known = visitor.client.post(
        f"/w/{visitor.key}/chats/{visitor.chat_id}/login",
        data={"email": EMAIL},
        headers=visitor._headers(),
    ).text
    unknown = visitor.client.post(
        f"/w/{visitor.key}/chats/{visitor.chat_id}/login",
        data={"email": "stranger@example.com"},
        headers=visitor._headers(),
    ).text
    code = re.compile(r'<p class="login-code"[^>]*>\w+</p>')
    assert len(code.findall(known)) == len(code.findall(unknown)) == 1
    assert code.sub("", known) == code.sub("", unknown)
    api = WidgetChat(app, tenant, "api")
    answers = [
        api.client.post(
            f"/api/widget/v1/chats/{api.chat_id}/login-link",
            json={"email": email},
            headers=api._headers(),
        ).json
        for email in (EMAIL, "stranger@example.com")
    ]
    assert [sorted(a) for a in answers] == [["code", "message"]] * 2
    assert answers[0]["message"] == answers[1]["message"]


def test_five_wrong_codes_and_even_the_right_one_no_longer_works(browser, chat):
    path, code = emailed_link(chat)
    wrong = "22222" + ("3" if code != "222223" else "4")
    tries = [open_and_confirm(browser, path, wrong) for _ in range(4)]
    assert [t.status_code for t in tries] == [422] * 4
    assert "You have 1 more try." in tries[-1].text
    fifth = browser.client.post(path, data={"csrf_token": csrf_of(browser, path), "code": wrong})
    assert fifth.status_code == 404
    assert browser.get(path).status_code == 404
    assert reload(chat).customer_id is None and system_messages(chat) == []


# Percent-encoded as a form sends it: accents, a NUL, far too long, bytes that are no UTF-8.
@pytest.mark.parametrize("code", ["", "%C3%A9" * 6, "%00", "x" * 5000, "ABC%ED%A0%80"])
def test_a_strange_code_is_a_wrong_code_not_an_error(browser, chat, code):
    path, _right = emailed_link(chat)
    response = browser.client.post(
        path,
        data=f"csrf_token={csrf_of(browser, path)}&code={code}",
        content_type="application/x-www-form-urlencoded",
    )
    # A NUL is refused by the one input rule (web/requests.py) before the code is read.
    assert response.status_code == (400 if code == "%00" else 422)
    assert reload(chat).customer_id is None


def allow_origins(tenant, *origins: str) -> None:
    tenant.allowed_origins = list(origins)
    db.session.commit()


def test_the_email_says_which_site_and_device_asked_and_when(app, tenant, customer):
    allow_origins(tenant, "https://shop.example")
    with time_machine.travel(utcnow().replace(hour=14, minute=5), tick=False):
        _code, sent = WidgetChat(app, tenant, "widget").ask_for_link(EMAIL)
        asked = utcnow()
    body = sent[0].body
    # The time as the chat's language (English here) writes it, in the business's zone.
    day = format_date(asked, "long", locale="en")
    assert f"on https://shop.example from a phone, at {day}, 2:05\u202fPM UTC." in body
    assert "email=" not in body  # the page's query never left the page
    assert "type the code shown in that chat window" in body
    assert "If you did not ask for it, ignore this email" in body
    assert "Maria" not in body  # a name anybody could have typed reaches no inbox


# The page address is the visitor's to write: any text can be its host name.
HOSTILE_PAGE = "https://call-18005550100-your-account-is-locked.example/help"


@pytest.mark.parametrize("surface", SURFACES)
def test_a_page_address_on_a_site_the_business_did_not_allow_stays_out_of_the_email(
    app, tenant, customer, surface
):
    allow_origins(tenant, "https://shop.example")
    _code, sent = WidgetChat(app, tenant, surface, page_url=HOSTILE_PAGE).ask_for_link(EMAIL)
    body = sent[0].body
    assert "with Acme Inc on our website from a phone, at" in body
    for words in ("18005550100", "locked", "call-", "/help"):
        assert words not in body


def test_without_allowed_origins_no_site_is_named(app, tenant, customer):
    _code, sent = WidgetChat(app, tenant, "api").ask_for_link(EMAIL)
    assert "on our website from a phone" in sent[0].body
    assert "shop.example" not in sent[0].body


def test_only_so_many_links_go_to_one_address_an_hour_and_the_answer_never_changes(
    app, tenant, customer, moved_clock
):
    """Anybody can ask for a link with a customer's email: from new chats (each has its
    own limit), the address gets CUSTOMER_LOGIN_LINKS_PER_HOUR (5) emails an hour, and
    the chat that asked one too many sees exactly what the others saw."""
    answers, emails = [], []
    for _ in range(6):
        visitor = WidgetChat(app, tenant, "api")
        with mail.record_messages() as outbox:
            response = visitor.client.post(
                f"/api/widget/v1/chats/{visitor.chat_id}/login-link",
                json={"email": EMAIL},
                headers=visitor._headers(),
            )
        answers.append((response.status_code, response.json["message"]))
        assert CODE_SHAPE.match(response.json["code"])
        emails.append(len(outbox))
    assert emails == [1, 1, 1, 1, 1, 0]
    assert len(set(answers)) == 1
    moved_clock.shift(timedelta(minutes=61))
    _code, sent = WidgetChat(app, tenant, "api").ask_for_link(EMAIL)
    assert len(sent) == 1  # an hour on, the address has its share again
