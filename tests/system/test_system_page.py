"""The System page through the test client: who may see it, each section as it renders,
the HTMX panes (checks, Retry all, test messages), the rate limit on test messages, and
"Check the snippet" on the Settings and System pages."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from followup.extensions import db
from followup.models import DeliveryState, Notification, StaffRole
from followup.queue import SweepKind, record_sweep, scheduler_elected, workers
from followup.services import notifications, staff_accounts
from tests.helpers.apps import text_of
from tests.helpers.jobs import wait_for
from tests.helpers.staff import PASSWORD, as_a_new_request, logged_in_browser

PAGE = "/admin/system"
SHOP = "https://shop.example"


def plain(html: str) -> str:
    """The page's words, tags dropped and spaces collapsed."""
    words = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    return re.sub(r" ([.,:;])", r"\1", words)


def member_browser(app, role: StaffRole):
    email = f"{role}@acme.example"
    staff_accounts.create_staff_user("acme", email, PASSWORD, role=role)
    return logged_in_browser(app, email)


@pytest.fixture
def paris(tenant):
    tenant.timezone = "Europe/Paris"  # UTC+1 in November
    db.session.commit()
    return tenant


# --- who may see it ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", [StaffRole.OWNER, StaffRole.ADMIN])
def test_owners_and_admins_have_the_page_and_its_link(app, staff, role):
    browser = (
        logged_in_browser(app, staff.email)
        if role == StaffRole.OWNER
        else member_browser(app, role)
    )
    response = browser.get(PAGE)
    assert response.status_code == 200
    assert "<h1>System</h1>" in text_of(response)
    assert f'href="{PAGE}"' in text_of(browser.get("/admin/followups"))


def test_an_agent_is_refused_the_page_its_panes_and_its_posts_and_has_no_link(app, staff):
    agent = member_browser(app, StaffRole.AGENT)
    for url in (PAGE, f"{PAGE}/checks"):
        assert agent.get(url, htmx=True).status_code == 403
    for url in (f"{PAGE}/notifications/retry", f"{PAGE}/test-email", f"{PAGE}/test-sms"):
        assert agent.post(url, htmx=True).status_code == 403
    assert f'href="{PAGE}"' not in text_of(agent.get("/admin/followups"))


# --- checks, queues, workers, sweeps ----------------------------------------------------------


def test_the_checks_load_after_the_page(app, staff_browser):
    page = text_of(staff_browser.get(PAGE))
    checks = re.search(r'<section[^>]*id="system-checks"[^>]*>', page).group(0)
    assert 'hx-get="/admin/system/checks"' in checks and 'hx-trigger="load"' in checks
    assert "Checking…" in page
    pane = text_of(staff_browser.get(f"{PAGE}/checks", htmx=True))
    assert "Check again" in pane and "Checking…" in pane  # the busy note, hidden until asked
    verdicts = re.findall(
        r'data-verdict="(\w+)">\s*<span[^>]*>\w+</span>\s*<div>\s*<strong>([^<]+)', pane
    )
    # The tests' schema comes from the models, not the migrations: the database check
    # says so, as it should.
    assert ("OK", "Redis") in verdicts and "Database" in dict(map(reversed, verdicts))
    # The pane lives inside its page: a plain visit goes there.
    assert staff_browser.get(f"{PAGE}/checks").headers["Location"] == PAGE


def test_without_workers_the_page_says_so_and_with_one_it_shows_it(
    app, staff_browser, start_worker
):
    page = plain(text_of(staff_browser.get(PAGE)))
    assert "No worker is running" in page
    assert "Scheduler: not elected" in page
    worker = start_worker()
    (state,) = wait_for(workers, "the worker to register", worker)
    wait_for(scheduler_elected, "the worker's scheduler to be elected", worker)
    page = plain(text_of(staff_browser.get(PAGE)))
    queues = "answers, notifications, reminders, maintenance, default"
    assert re.search(rf"{re.escape(state.name)} {queues} \w+ \d+ s ago", page), page
    assert "Scheduler: elected" in page


def test_each_sweep_shows_when_it_last_ran_or_never_and_a_late_one_is_flagged(
    app, moved_clock, staff_browser
):
    app.config.update(NOTIFY_SWEEP_INTERVAL_S=60, REMINDER_SWEEP_INTERVAL_S=10)
    record_sweep(SweepKind.NOTIFICATIONS)
    record_sweep(SweepKind.DUE_REMINDERS)
    moved_clock.shift(timedelta(seconds=125))
    page = text_of(staff_browser.get(PAGE))
    rows = {
        kind: plain(row)
        for kind, row in re.findall(r'data-sweep="(\w+)">(.*?)</tr>', page, re.DOTALL)
    }
    assert rows["notifications"] == "Notifications 2 min ago 60 s"
    assert rows["due_reminders"] == "Due reminders 2 min ago Late 10 s"  # 3 x 10 s gone
    assert rows["promises"] == "Promises (at-risk and overdue alerts) Never Late 60 s"


# --- notifications failed or retrying ---------------------------------------------------------


@pytest.fixture
def failed(tenant, make_followup):
    tenant.customer_confirmation_enabled = False
    db.session.commit()
    (row,) = notifications.notifications_of(tenant.id, make_followup(tenant, name="Jane").id)
    db.session.execute(
        update(Notification)
        .where(Notification.id == row.id)
        .values(
            state=DeliveryState.FAILED,
            attempts=8,
            last_error='Refused <img src=x onerror="alert(1)">',
        )
    )
    db.session.commit()
    return row.id


def test_failed_notifications_are_counted_listed_and_escaped(app, staff_browser, failed):
    page = text_of(staff_browser.get(PAGE))
    section = page.split('id="system-notifications"', 1)[1].split("</section>", 1)[0]
    assert '<strong class="trouble-count">1</strong>' in section
    assert "Email to your team" in section and "Failed" in section
    assert "Refused &lt;img src=x onerror=" in section
    assert "<img" not in section


def test_retry_all_needs_the_csrf_token_and_swaps_the_pane(app, staff_browser, failed):
    refused = staff_browser.post(f"{PAGE}/notifications/retry", htmx=True, csrf=False)
    assert refused.status_code == 400
    assert db.session.get(Notification, failed).state == DeliveryState.FAILED
    response = staff_browser.post(f"{PAGE}/notifications/retry", htmx=True)
    assert response.status_code == 200
    pane = plain(text_of(response))
    assert pane.startswith("Notifications failed or retrying")
    assert "1 notification sent again." in pane
    db.session.expire_all()
    assert db.session.get(Notification, failed).state == DeliveryState.PENDING


def test_retry_all_without_htmx_goes_back_to_the_page(app, staff_browser, failed):
    response = staff_browser.post(f"{PAGE}/notifications/retry")
    assert (response.status_code, response.headers["Location"]) == (303, PAGE)


# --- test messages ----------------------------------------------------------------------------


def test_a_test_email_is_sent_and_said_in_place_with_the_time_in_the_business_zone(
    app, moved_clock, staff_browser, paris, smtp
):
    response = staff_browser.post(f"{PAGE}/test-email", htmx=True)
    pane = plain(text_of(response))
    assert "Sent to owner@acme.example at 11:00." in pane  # 10:00 UTC
    assert text_of(response).lstrip().startswith('<div class="system-test" id="test-email">')
    assert [mail.rcpt_tos for mail in smtp.received()] == [["owner@acme.example"]]


def test_a_failed_test_email_is_said_in_our_words(app, staff_browser, smtp):
    smtp.credentials = ("followup", "the-right-password")
    app.config.update(MAIL_USERNAME="followup", MAIL_PASSWORD="a-wrong-password")
    app.extensions["mail"].username = "followup"  # as Flask-Mail read it at start
    app.extensions["mail"].password = "a-wrong-password"
    pane = plain(text_of(staff_browser.post(f"{PAGE}/test-email", htmx=True)))
    assert (
        "Not sent to owner@acme.example: The mail server rejected the login. "
        "Check MAIL_USERNAME and MAIL_PASSWORD."
    ) in pane
    assert "a-wrong-password" not in pane and "535" not in pane


def test_test_messages_are_rate_limited_per_member(app, staff_browser, smtp):
    app.config["TEST_MESSAGE_LIMIT_PER_MEMBER"] = "2 per 15 minutes"
    answers = [staff_browser.post(f"{PAGE}/test-email", htmx=True).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    assert len(smtp.received()) == 2
    as_a_new_request()
    admin = member_browser(app, StaffRole.ADMIN)  # another member has a budget of their own
    assert admin.post(f"{PAGE}/test-email", htmx=True).status_code == 200


def test_a_test_sms_goes_to_the_members_own_mobile(
    app, moved_clock, staff, staff_browser, paris, twilio
):
    staff.phone = "+14155550123"
    db.session.commit()
    pane = plain(text_of(staff_browser.post(f"{PAGE}/test-sms", htmx=True)))
    assert "Sent to +1 415-555-0123 at 11:00." in pane
    assert [sms.to for sms in twilio.messages] == ["+14155550123"]


def test_without_a_phone_number_the_page_says_where_to_add_it(app, staff_browser):
    page = text_of(staff_browser.get(PAGE))
    section = page.split('id="test-sms"', 1)[1].split("</div>", 1)[0]
    assert "you have not given your mobile number" in section
    assert 'href="/account#account-phone"' in section
    assert "Send a test SMS</button>" not in section


# --- "Check the snippet" ----------------------------------------------------------------------


def load_widget(app, tenant, **headers) -> None:
    response = app.test_client().get(
        f"/api/widget/v1/{tenant.widget_public_key}/config", headers=headers
    )
    assert response.status_code == 200


@pytest.mark.parametrize("url", ["/admin/settings", PAGE])
def test_settings_and_system_say_where_the_widget_was_last_seen(
    app, moved_clock, staff_browser, paris, url
):
    assert "Not seen yet" in plain(text_of(staff_browser.get(url)))
    paris.allowed_origins = [SHOP]
    db.session.commit()
    load_widget(app, paris, Origin=SHOP)
    moved_clock.shift(timedelta(seconds=30))
    load_widget(app, paris, Origin="https://elsewhere.example")  # within the minute: not noted
    page = plain(text_of(staff_browser.get(url)))
    assert "Last seen on https://shop.example at 11:00." in page
    assert "not one of your allowed website origins" not in page


def test_a_site_left_out_of_the_allowed_origins_is_pointed_out(app, staff_browser, tenant):
    load_widget(app, tenant, Referer="https://shop.example/products/42?ref=mail")
    page = plain(text_of(staff_browser.get("/admin/settings")))
    assert "Last seen on https://shop.example at" in page
    assert "https://shop.example is not one of your allowed website origins" in page
