"""A staff login ends when it should: at logout, with a new password, when the member's
sessions are ended, after SESSION_IDLE_TIMEOUT_H without a request and
SESSION_MAX_AGE_DAYS after logging in, and a copy of its cookie ends with it."""

import re
from datetime import timedelta
from pathlib import Path

import pytest

from followup.extensions import db
from followup.models import StaffUser
from followup.services import staff_accounts
from followup.web.auth.sessions import POLL_HEADER
from tests.helpers.staff import PASSWORD, StaffBrowser, as_a_new_request

ADMIN_PAGE = "/admin/followups"


def visit(browser: StaffBrowser, url: str = ADMIN_PAGE):
    as_a_new_request()
    return browser.get(url)


def login_as(app, email: str, password: str = PASSWORD) -> StaffBrowser:
    as_a_new_request()
    browser = StaffBrowser(app.test_client())
    assert browser.login(email, password).status_code == 303
    return browser


def logged_in(response) -> bool:
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
    return False


def replay(app, cookie: str) -> StaffBrowser:
    """Another browser holding a copy of a session cookie (an attacker who captured it)."""
    copy = StaffBrowser(app.test_client())
    copy.client.set_cookie("session", cookie)
    return copy


@pytest.fixture
def captured_cookie(staff_browser) -> str:
    assert logged_in(visit(staff_browser))
    return staff_browser.client.get_cookie("session").value


def test_a_cookie_copied_before_logout_no_longer_works(app, staff_browser, captured_cookie):
    assert logged_in(visit(replay(app, captured_cookie)))
    assert staff_browser.post("/logout").status_code == 303
    assert not logged_in(visit(replay(app, captured_cookie)))


def test_logging_in_again_after_logout_works(app, staff_browser, staff):
    staff_browser.post("/logout")
    assert logged_in(visit(login_as(app, staff.email)))


def test_a_new_password_ends_every_session(app, runner, staff_browser, captured_cookie):
    result = runner.invoke(
        args=["admin", "password", "--email", "Owner@acme.example", "--password", "a new long one"]
    )
    assert result.exit_code == 0, result.output
    assert "New password set for owner@acme.example" in result.output
    assert not logged_in(visit(staff_browser))
    assert not logged_in(visit(replay(app, captured_cookie)))
    assert logged_in(visit(login_as(app, "owner@acme.example", "a new long one")))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "owner@acme.example", "--password", "eleven char"], "use at least 12"),
        (["--email", "nobody@acme.example", "--password", "long enough pw"], "No staff account"),
    ],
)
def test_a_refused_new_password_changes_nothing(runner, staff_browser, staff, args, message):
    result = runner.invoke(args=["admin", "password", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert logged_in(visit(staff_browser))
    assert staff_accounts.authenticate(staff.email, PASSWORD) is not None


def test_ending_a_members_sessions_logs_out_only_that_member(app, staff_browser, staff):
    """What deactivating a member will call."""
    colleague = staff_accounts.create_staff_user("acme", "sam@acme.example", PASSWORD)
    colleague_browser = login_as(app, colleague.email)
    staff_accounts.end_sessions(db.session.get(StaffUser, staff.id))
    assert not logged_in(visit(staff_browser))
    assert logged_in(visit(colleague_browser))


def test_a_session_ends_after_the_idle_timeout(app, staff, moved_clock):
    browser = login_as(app, staff.email)
    moved_clock.shift(timedelta(hours=11, minutes=59))
    assert logged_in(visit(browser))
    moved_clock.shift(timedelta(hours=11, minutes=59))  # idle counts from the last request
    assert logged_in(visit(browser))
    moved_clock.shift(timedelta(hours=12))
    assert not logged_in(visit(browser))


def test_a_page_refreshing_itself_does_not_keep_an_idle_session_alive(app, staff, moved_clock):
    browser = login_as(app, staff.email)
    poll = {POLL_HEADER: "1"}  # what the admin's polling panes send
    for _ in range(11):
        moved_clock.shift(timedelta(hours=1))
        as_a_new_request()
        assert logged_in(browser.get(ADMIN_PAGE, headers=poll))
    moved_clock.shift(timedelta(hours=1))
    as_a_new_request()
    assert not logged_in(browser.get(ADMIN_PAGE, headers=poll))


def test_every_polling_pane_says_it_is_polling():
    # An element that refreshes itself must not count as the member at work.
    templates = Path(__file__).parents[2] / "templates"
    polling = [
        (path.name, element)
        for path in templates.rglob("*.html")
        for element in re.findall(r"<[^>]*every \d+s[^>]*>", path.read_text(), re.S)
    ]
    assert polling
    for name, element in polling:
        assert POLL_HEADER in element, f"{name}: {element}"


def test_the_idle_timeout_is_configurable(app, staff, moved_clock):
    app.config["SESSION_IDLE_TIMEOUT_H"] = 1
    browser = login_as(app, staff.email)
    moved_clock.shift(timedelta(minutes=61))
    assert not logged_in(visit(browser))


def test_a_session_ends_30_days_after_login_even_when_in_use(app, staff, moved_clock):
    browser = login_as(app, staff.email)
    for _ in range(59):  # a request every 12 hours less a minute: never idle
        moved_clock.shift(timedelta(hours=11, minutes=59))
        assert logged_in(visit(browser))
    moved_clock.shift(timedelta(hours=12, minutes=59))  # 30 days after logging in
    assert not logged_in(visit(browser))


def test_a_session_from_before_these_rules_must_log_in_again(app, staff_browser):
    with staff_browser.client.session_transaction() as session:
        for key in ("_staff_version", "_login_at", "_seen_at"):
            del session[key]
    assert not logged_in(visit(staff_browser))


def test_activity_rewrites_the_cookie_at_most_once_a_minute(app, staff, moved_clock):
    """Keeping the idle clock costs no new cookie on every response."""
    browser = login_as(app, staff.email)
    moved_clock.shift(timedelta(seconds=30))
    assert "Set-Cookie" not in visit(browser).headers
    moved_clock.shift(timedelta(seconds=31))
    assert "session=" in visit(browser).headers["Set-Cookie"]
    assert "Set-Cookie" not in visit(browser).headers
