"""Chats told apart: every chat's label ("Visitor 4F2A"), where a widget chat started
(page, referrer, language, device class) as the widget and its JSON API report it, and
one name per client on every page that lists chats or customers: the chat page, the
Auto Follow-up dashboard, an employee's chats and Users."""

import html
import re
from datetime import timedelta

import pytest

from followup.clock import utcnow
from followup.extensions import db
from followup.models import Channel, Chat
from followup.services.prefill import identity_signature
from tests.helpers.agents import make_agent, make_chat, schedule
from tests.helpers.apps import text_of

pytestmark = pytest.mark.usefixtures("moved_clock")

SHOP = "https://shop.example"
# As the browser reports them; only their origin and path are kept (the query or
# fragment can carry a reset token or an email).
PAGE = f"{SHOP}/tables/oak?colour=light&email=ann%40mail.example#reviews"
REFERRER = "https://www.search.example/search?q=oak+tables"
PAGE_KEPT = f"{SHOP}/tables/oak"
REFERRER_KEPT = "https://www.search.example/search"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
VISIT_FIELDS = ("page_url", "referrer", "language", "device")
LABEL = re.compile(r"^Visitor [0-9A-HJKMNP-TV-Z]{4}$")


@pytest.fixture
def alex(tenant):
    """The widget's employee, with a one-step chain, so its chats show on the dashboard."""
    return make_agent(tenant, "Alex", steps=1, autofollowup_enabled=True, serves_web_widget=True)


def start_in_widget(app, tenant, user_agent: str = WINDOWS_CHROME, **form) -> tuple[Chat, str]:
    """The chat page's first request, as its script sends it; returns the chat and token."""
    response = app.test_client().post(
        f"/w/{tenant.widget_public_key}/chats", data=form, headers={"User-Agent": user_agent}
    )
    assert response.status_code == 201, text_of(response)
    return stored_chat(int(response.headers["X-Chat-Id"])), response.headers["X-Session-Token"]


def start_by_api(app, tenant, body: dict, user_agent: str = WINDOWS_CHROME) -> Chat:
    response = app.test_client().post(
        f"/api/widget/v1/{tenant.widget_public_key}/sessions",
        json=body,
        headers={"User-Agent": user_agent},
    )
    assert response.status_code == 201, text_of(response)
    return stored_chat(response.get_json()["chat_id"])


def stored_chat(chat_id: int) -> Chat:
    db.session.rollback()  # what the request committed, not a stale copy
    return db.session.get(Chat, chat_id)


def visit_of(chat: Chat) -> dict:
    return {field: getattr(chat, field) for field in VISIT_FIELDS}


def facts(body: str) -> dict[str, str]:
    """The chat page's Chat card as {term: text}."""
    card = re.search(r'<dl class="chat-facts">(.*?)</dl>', body, re.S).group(1)
    pairs = re.findall(r"<dt>([^<]*)</dt>\s*<dd[^>]*>(.*?)</dd>", card, re.S)
    return {term: html.unescape(re.sub(r"<[^>]+>", "", value)).strip() for term, value in pairs}


def dashboard_rows(body: str) -> list[tuple[str, str]]:
    """Each dashboard row's name and the line under it."""
    rows = re.findall(
        r'<a class="row-link" href="/admin/chats/\d+">([^<]*)</a>\s*'
        r'<span class="visit-line">(.*?)</span>\s*</th>',
        body,
        re.S,
    )
    return [(html.unescape(name), plain(line)) for name, line in rows]


def plain(line: str) -> str:
    """A visit line as it reads: its parts joined by the dots the style sheet puts between."""
    parts = re.findall(r"<span[^>]*>([^<]*)</span>", line)
    return " · ".join(html.unescape(part) for part in parts)


def users_cards(body: str) -> list[tuple[str, str]]:
    names = re.findall(r'<span class="card-name">([^<]*)</span>', body)
    counts = re.findall(r'<span class="user-chat-count">([^<]*)</span>', body)
    return [(html.unescape(n), c) for n, c in zip(names, counts, strict=True)]


# --- where a chat started --------------------------------------------------------------------


def test_the_widget_records_where_the_chat_started_and_staff_see_it(
    app, tenant, alex, staff_browser
):
    chat, _token = start_in_widget(
        app, tenant, IPHONE, page_url=PAGE, referrer=REFERRER, language="fr-CA"
    )
    assert visit_of(chat) == {
        "page_url": PAGE_KEPT,
        "referrer": REFERRER_KEPT,
        "language": "fr-CA",
        "device": "mobile",
    }
    label = f"Visitor {chat.visitor_code}"
    assert LABEL.match(label)
    body = text_of(staff_browser.get(f"/admin/chats/{chat.id}"))
    assert f"<h1>{label}</h1>" in body
    assert facts(body) | {"Started": ""} == {
        "Client": label,
        "Label": label,
        "Started on": PAGE_KEPT,
        "Referrer": REFERRER_KEPT,
        "Language": "fr-CA",
        "Device": "Mobile",
        "Employee": "Alex",
        "Channel": "Website chat",
        "Started": "",
    }
    assert f'href="{PAGE_KEPT}" target="_blank" rel="noopener noreferrer nofollow"' in body


def test_the_json_api_records_where_the_chat_started(app, tenant):
    chat = start_by_api(
        app, tenant, {"page_url": PAGE, "referrer": REFERRER, "language": "en-GB"}, WINDOWS_CHROME
    )
    assert visit_of(chat) == {
        "page_url": PAGE_KEPT,
        "referrer": REFERRER_KEPT,
        "language": "en-GB",
        "device": "desktop",
    }


BAD_VISITS = {
    "script-address": {"page_url": "javascript:alert(1)", "referrer": "ftp://x.example/"},
    "too-long": {"page_url": f"{SHOP}/" + "a" * 2000, "referrer": f"{SHOP}/" + "b" * 5000},
    "credentials": {"page_url": "https://admin:secret@shop.example/", "referrer": "/relative"},
    "bad-language": {"page_url": "", "language": "<script>alert(1)</script>"},
}


@pytest.mark.parametrize("values", BAD_VISITS.values(), ids=BAD_VISITS.keys())
def test_bad_values_are_dropped_and_the_chat_starts_all_the_same(app, tenant, values):
    widget_chat, _token = start_in_widget(app, tenant, "curl/8.5", **values)
    api_chat = start_by_api(app, tenant, values, "curl/8.5")
    for chat in (widget_chat, api_chat):
        assert visit_of(chat) == dict.fromkeys(VISIT_FIELDS)


def test_the_api_drops_values_that_are_not_text(app, tenant):
    body = {"page_url": 42, "referrer": {"href": SHOP}, "language": ["en"]}
    chat = start_by_api(app, tenant, body)
    assert (chat.page_url, chat.referrer, chat.language) == (None, None, None)


def test_the_api_still_refuses_fields_it_does_not_know(app, tenant):
    response = app.test_client().post(
        f"/api/widget/v1/{tenant.widget_public_key}/sessions", json={"url": PAGE}
    )
    assert response.status_code == 422
    assert "url" in response.get_json()["error"]["fields"]


def test_nothing_is_stored_or_shown_when_the_browser_says_nothing(app, tenant, alex, staff_browser):
    chat, _token = start_in_widget(app, tenant, user_agent="")
    assert visit_of(chat) == dict.fromkeys(VISIT_FIELDS)
    shown = facts(text_of(staff_browser.get(f"/admin/chats/{chat.id}")))
    assert shown["Label"] == f"Visitor {chat.visitor_code}"
    assert not {"Started on", "Referrer", "Language", "Device"} & set(shown)


# --- the label -------------------------------------------------------------------------------


def test_each_chat_keeps_its_own_label_on_every_page(app, tenant, alex, staff_browser):
    first, _ = start_in_widget(app, tenant, IPHONE, page_url=PAGE, language="de")
    second, _ = start_in_widget(app, tenant)
    assert first.visitor_code != second.visitor_code
    code = first.visitor_code
    db.session.expire_all()  # read again: the label is stored, not made up on each read
    assert stored_chat(first.id).visitor_code == code
    label = f"Visitor {first.visitor_code}"
    schedule(first, alex.steps[0], utcnow() + timedelta(hours=1))

    chat_page = text_of(staff_browser.get(f"/admin/chats/{first.id}"))
    dashboard = text_of(staff_browser.get("/admin/auto-followup"))
    agent_chats = text_of(staff_browser.get(f"/admin/agents/{alex.id}/chats", htmx=True))
    assert f"<h1>{label}</h1>" in chat_page
    # Nameless: the label is the name, and the line under it says where it started.
    assert dashboard_rows(dashboard) == [(label, "Mobile · de · shop.example/tables/oak")]
    assert f'href="/admin/chats/{first.id}">{label}</a>' in agent_chats
    assert "Website visitor" not in chat_page + dashboard + agent_chats


def test_the_dashboard_finds_a_chat_by_its_label(app, tenant, alex, staff_browser):
    chat, _ = start_in_widget(app, tenant)
    schedule(chat, alex.steps[0], utcnow() + timedelta(hours=1))
    label = f"Visitor {chat.visitor_code}"
    for query in (label, chat.visitor_code.lower()):
        body = text_of(
            staff_browser.get("/admin/auto-followup", query_string={"q": query}, htmx=True)
        )
        assert [name for name, _line in dashboard_rows(body)] == [label]


def test_an_sms_chat_shows_its_number_and_no_page_details(staff_browser, tenant, alex):
    chat = make_chat(alex, "+442071838750", channel=Channel.SMS, phone="+442071838750")
    schedule(chat, alex.steps[0], utcnow() + timedelta(hours=1))
    body = text_of(staff_browser.get(f"/admin/chats/{chat.id}"))
    assert "<h1>+44 20 7183 8750</h1>" in body
    shown = facts(body)
    assert shown["Phone"] == "+44 20 7183 8750" and "Label" not in shown
    assert not {"Started on", "Referrer", "Language", "Device"} & set(shown)
    dashboard = text_of(staff_browser.get("/admin/auto-followup"))
    assert dashboard_rows(dashboard) == [("+44 20 7183 8750", "")]


# --- one name in every list, and the chats a customer has ------------------------------------


def test_a_name_once_known_reads_the_same_in_every_list(app, tenant, alex, staff_browser):
    """A nameless visitor asks for a follow-up as Sam Carter: from then on the chat page,
    the dashboard, the employee's chats and Users all call them Sam Carter, and Users
    counts and lists their chat (by its label, where it started)."""
    chat, token = start_in_widget(app, tenant, IPHONE, page_url=PAGE, language="en-GB")
    label = f"Visitor {chat.visitor_code}"
    widget = app.test_client()
    response = widget.post(
        f"/w/{tenant.widget_public_key}/chats/{chat.id}/followups",
        data={
            "form_key": "contact",
            "name": "Sam Carter",
            "email": "sam@example.com",
            "reason": "A quote for twelve oak chairs",
        },
        headers={"HX-Request": "true", "Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, text_of(response)
    chat = stored_chat(chat.id)
    schedule(chat, alex.steps[0], utcnow() + timedelta(hours=1))

    chat_page = text_of(staff_browser.get(f"/admin/chats/{chat.id}"))
    dashboard = text_of(staff_browser.get("/admin/auto-followup"))
    agent_chats = text_of(staff_browser.get(f"/admin/agents/{alex.id}/chats", htmx=True))
    users = text_of(staff_browser.get("/admin/users"))
    user = text_of(staff_browser.get(f"/admin/users/{chat.customer_id}", htmx=True))

    assert "<h1>Sam Carter</h1>" in chat_page and facts(chat_page)["Label"] == label
    assert dashboard_rows(dashboard) == [
        ("Sam Carter", f"{label} · Mobile · en-GB · shop.example/tables/oak")
    ]
    assert f'href="/admin/chats/{chat.id}">Sam Carter</a>' in agent_chats
    assert users_cards(users) == [("Sam Carter", "1 chat")]
    assert 'id="user-detail-name">Sam Carter</h2>' in user and "Chats (1)" in user
    assert f'<span class="chat-title">{label}</span>' in user
    assert "Mobile</span><span>en-GB</span>" in user
    assert "Website visitor" not in chat_page + dashboard + agent_chats + users + user


def test_a_signature_vouches_for_the_id_only_so_its_email_claims_no_chat(
    app, tenant, alex, staff_browser, make_followup
):
    """The website's HMAC covers the customer id, not the email beside it: a visitor with
    their own valid signature and somebody else's email must not get that person's chats
    or requests. The chat is the website customer mallory-1's, a record of its own."""
    sam = make_followup(tenant, name="Sam Carter", email="sam@example.com")
    mallory = {
        "id": "mallory-1",
        "name": "Sam Carter",
        "email": "sam@example.com",
        "signature": identity_signature(tenant.widget_secret, "mallory-1"),
    }
    chat = start_by_api(app, tenant, {"customer": mallory})
    assert chat.customer.external_id == "mallory-1"
    assert sam.customer_id is not None and chat.customer_id != sam.customer_id
    # Newest first: mallory-1 (named as her website said), then Sam, whose chats are none.
    assert users_cards(text_of(staff_browser.get("/admin/users"))) == [
        ("Sam Carter", "1 chat"),
        ("Sam Carter", "0 chats"),
    ]
    mallory_page = text_of(staff_browser.get(f"/admin/users/{chat.customer_id}", htmx=True))
    assert '<dd class="external-id">mallory-1</dd>' in mallory_page


def test_an_unsigned_email_does_not_claim_a_customers_chats(app, tenant, make_followup):
    """Anyone can type an email into the website's data: it links no chat."""
    make_followup(tenant, name="Sam Carter", email="sam@example.com")
    unsigned = {"id": "cust-7", "name": "Sam", "email": "sam@example.com"}
    assert start_by_api(app, tenant, {"customer": unsigned}).customer_id is None
