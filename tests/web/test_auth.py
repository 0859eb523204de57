"""Login, logout, session handling and CSRF for the admin panel."""

import pytest
import werkzeug.security
from flask import g

from followup.extensions import db
from tests.conftest import PASSWORD


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


@pytest.mark.parametrize("attempts", [12])
def test_login_is_rate_limited_per_ip(browser, staff, attempts):
    statuses = [browser.login(staff.email, "nope").status_code for _ in range(attempts)]
    assert statuses[:10] == [401] * 10
    assert statuses[-1] == 429


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
