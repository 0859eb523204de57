"""Login, logout, session handling and CSRF for the admin panel."""

import re
from datetime import timedelta

import pytest
import werkzeug.security
from flask import g

from followup.extensions import db
from followup.services import staff_accounts
from tests.helpers.staff import PASSWORD, StaffBrowser, as_a_new_request


def test_login_page_renders_form_with_csrf_token(browser):
    response = browser.get("/login")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'name="csrf_token"' in page
    assert 'name="email"' in page and 'name="password"' in page


def test_login_with_right_password_redirects_to_followups(browser, staff):
    response = browser.login(staff.email, PASSWORD)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/followups")


def test_login_with_wrong_password_is_refused(browser, staff):
    response = browser.login(staff.email, "wrong password")
    assert response.status_code == 401
    assert "Wrong email or password." in response.get_data(as_text=True)
    assert browser.get("/admin/followups").status_code == 302


def test_login_without_csrf_token_is_refused(browser, staff):
    response = browser.client.post("/login", data={"email": staff.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)


def test_login_follows_safe_next_and_ignores_offsite_next(browser, staff):
    browser.refresh_csrf()
    form = {"email": staff.email, "password": PASSWORD, "csrf_token": browser.csrf_token}
    response = browser.client.post("/login?next=https://evil.example/x", data=form)
    assert response.headers["Location"].endswith("/admin/followups")
    browser.client.post("/logout", data={"csrf_token": browser.csrf_token})
    response = browser.client.post("/login?next=/admin/followups?status=pending", data=form)
    assert response.headers["Location"].endswith("/admin/followups?status=pending")


def test_session_cookie_is_httponly_and_samesite(browser, staff):
    response = browser.login(staff.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_anonymous_page_request_redirects_to_login(browser):
    response = browser.get("/admin/followups?status=pending")
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


def test_anonymous_htmx_request_gets_hx_redirect(browser):
    response = browser.get("/admin/followups", htmx=True)
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=")


def test_logout_ends_the_session(staff_browser):
    response = staff_browser.post("/logout")
    assert response.status_code == 303
    assert staff_browser.get("/admin/followups").status_code == 302


def test_a_removed_staff_member_is_logged_out(staff_browser, staff):
    db.session.delete(staff)
    db.session.commit()
    g.pop("_login_user", None)  # the tests share one app context; a server's requests do not
    response = staff_browser.get("/admin/followups", htmx=True)
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login")


def test_logout_requires_csrf(staff_browser):
    assert staff_browser.post("/logout", csrf=False).status_code == 400
    assert staff_browser.get("/admin/followups").status_code == 200


def test_login_is_rate_limited_per_ip(browser, staff):
    emails = [f"guess{n}@acme.example" for n in range(11)]  # one address, many accounts
    statuses = [browser.login(email, "nope").status_code for email in emails]
    assert statuses == [401] * 10 + [429]


def browser_at(app, address: str) -> StaffBrowser:
    """A browser on another machine."""
    as_a_new_request()
    browser = StaffBrowser(app.test_client())
    browser.client.environ_base["REMOTE_ADDR"] = address
    return browser


def login_from(app, address: str, email: str, password: str):
    return browser_at(app, address).login(email, password)


def wrong_passwords_from_many_addresses(app, email: str, count: int) -> list:
    return [login_from(app, f"198.51.100.{n}", email, f"guess {n}") for n in range(count)]


def test_wrong_passwords_for_one_account_are_limited_from_any_address(app, staff):
    statuses = [r.status_code for r in wrong_passwords_from_many_addresses(app, staff.email, 10)]
    assert statuses == [401] * 10
    # Spelt differently, from a new address, even with the right password: the same budget.
    refused = login_from(app, "203.0.113.9", " OWNER@Acme.Example ", PASSWORD)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 60
    # Another account, from an address that tried it, is not held up.
    colleague = staff_accounts.create_staff_user("acme", "sam@acme.example", PASSWORD)
    assert login_from(app, "198.51.100.1", colleague.email, PASSWORD).status_code == 303


def page_without_tokens(response) -> str:
    return re.sub(r"[\w-]{20,}\.[\w-]+\.[\w-]+", "TOKEN", response.text)  # signed CSRF tokens


def test_the_account_limit_does_not_tell_whether_the_account_exists(app, staff):
    def refusals(email: str) -> list[tuple[int, str]]:
        responses = wrong_passwords_from_many_addresses(app, email, 11)
        return [(r.status_code, page_without_tokens(r).replace(email, "EMAIL")) for r in responses]

    assert refusals("nobody@acme.example") == refusals(staff.email)


def test_the_account_limit_counts_wrong_passwords_only(app, staff):
    for n in range(11):
        assert login_from(app, f"198.51.100.{n}", staff.email, PASSWORD).status_code == 303


def test_the_account_limit_frees_up_after_its_window(app, staff, moved_clock):
    wrong_passwords_from_many_addresses(app, staff.email, 10)
    assert login_from(app, "203.0.113.9", staff.email, PASSWORD).status_code == 429
    moved_clock.shift(timedelta(minutes=15))
    assert login_from(app, "203.0.113.9", staff.email, PASSWORD).status_code == 303


def test_htmx_post_without_session_returns_to_the_page_not_the_post_url(browser):
    response = browser.post(
        "/admin/followups/1/status",
        htmx=True,
        csrf=False,
        headers={"HX-Current-URL": "http://localhost/admin/followups/1?q=ann"},
    )
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/admin/followups/1?q%3Dann"


@pytest.fixture
def hashes_computed(monkeypatch) -> list[str]:
    """The method of every password hash computed: werkzeug's one hashing function,
    counted, not replaced."""
    methods = []
    compute = werkzeug.security._hash_internal

    def counted(method: str, salt: str, password: str):
        methods.append(method)
        return compute(method, salt, password)

    monkeypatch.setattr(werkzeug.security, "_hash_internal", counted)
    return methods


@pytest.mark.parametrize("email", ["owner@acme.example", "nobody@acme.example", "not an email"])
def test_a_refused_login_costs_one_password_hash_whether_or_not_the_account_exists(
    app, browser, staff, hashes_computed, email
):
    """The time a refusal takes must not tell whether the email has an account."""
    browser.login("warm-up@acme.example", "wrong password")  # the stand-in hash, made once
    hashes_computed.clear()
    assert browser.login(email, "wrong password").status_code == 401
    assert hashes_computed == [app.config["PASSWORD_HASH_METHOD"]]
