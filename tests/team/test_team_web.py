"""The Team page, the pages behind the one-time links, "Forgot password?" and a member's
own account page, through the test client."""

import re

import pytest
from sqlalchemy import select

from followup.extensions import db, mail
from followup.models import Notification, StaffRole, StaffStatus, StaffToken, StaffUser
from followup.services import staff_accounts, team
from tests.fakes.local_http import closed_redis_url
from tests.helpers.apps import text_of
from tests.helpers.staff import PASSWORD, StaffBrowser, as_a_new_request, logged_in_browser
from tests.helpers.templates import assert_rendered

NEW_PASSWORD = "a brand new passphrase"
LINK = re.compile(r"http://localhost(/(?:invitation|reset-password|confirm-email)/[\w-]+)")


def path_in(outbox) -> str:
    assert len(outbox) == 1, outbox
    match = LINK.search(outbox[0].body)
    assert match, outbox[0].body
    return match.group(1)


def member_named(email: str) -> StaffUser:
    db.session.expire_all()
    return db.session.scalar(select(StaffUser).where(StaffUser.email == email))


@pytest.fixture
def agent(staff):
    return staff_accounts.create_staff_user("acme", "al@acme.example", PASSWORD, "Al", "agent")


def fresh_browser(app) -> StaffBrowser:
    as_a_new_request()
    browser = StaffBrowser(app.test_client())
    browser.refresh_csrf("/login")
    return browser


# --- the Team page -------------------------------------------------------------------------------


def test_the_team_page_lists_each_member_with_role_and_status(app, staff_browser, agent):
    with assert_rendered(app, "admin/team/page.html"):
        page = text_of(staff_browser.get("/admin/team"))
    assert "Olivia Owner" in page and "owner@acme.example" in page
    assert "al@acme.example" in page
    assert page.index("owner@acme.example") < page.index("al@acme.example")
    assert 'href="/admin/team"' in page  # in the menu
    with assert_rendered(app, "admin/team/_content.html"):
        assert staff_browser.get("/admin/team", htmx=True).status_code == 200


def test_an_invitation_from_the_page_is_emailed_and_its_link_lets_the_invitee_in(
    app, staff_browser
):
    with mail.record_messages() as outbox:
        response = staff_browser.post(
            "/admin/team/invitations", {"email": "nina@acme.example", "role": "admin"}, htmx=True
        )
    assert response.status_code == 200
    assert "Invitation sent to nina@acme.example. The link works once, for 72 hours." in text_of(
        response
    )
    path = path_in(outbox)
    invitee = fresh_browser(app)
    page = invitee.get(path)
    assert page.status_code == 200
    assert "You were invited as <strong>nina@acme.example</strong>" in text_of(page)
    refused = invitee.post(path, {"name": "", "password": "short"})
    assert refused.status_code == 422
    assert "Name:" in text_of(refused) and "at least 12 characters" in text_of(refused)
    joined = invitee.post(path, {"name": "Nina New", "password": NEW_PASSWORD})
    assert joined.status_code == 303
    assert invitee.get("/admin/team").status_code == 200  # signed in, as an admin
    assert member_named("nina@acme.example").role == StaffRole.ADMIN
    as_a_new_request()
    assert fresh_browser(app).get(path).status_code == 410  # used once


def test_an_invitation_with_a_bad_address_shows_the_form_again(app, staff_browser):
    with assert_rendered(app, "admin/team/_content.html"):
        response = staff_browser.post(
            "/admin/team/invitations", {"email": "nope", "role": "agent"}, htmx=True
        )
    assert response.status_code == 422
    assert "Nobody was invited" in text_of(response)
    assert db.session.scalar(select(Notification.id)) is None


def test_a_deactivated_member_is_signed_out_at_once(app, staff_browser, agent):
    as_a_new_request()
    agent_browser = logged_in_browser(app, agent.email)
    as_a_new_request()
    assert staff_browser.post(f"/admin/team/{agent.id}/deactivate", htmx=True).status_code == 200
    as_a_new_request()
    assert agent_browser.get("/admin/followups").status_code == 302
    as_a_new_request()
    assert fresh_browser(app).login(agent.email).status_code == 401
    as_a_new_request()
    staff_browser.post(f"/admin/team/{agent.id}/reactivate", htmx=True)
    as_a_new_request()
    assert fresh_browser(app).login(agent.email).status_code == 303


def test_the_owner_cannot_be_deactivated_from_the_page(app, staff, agent):
    admin = staff_accounts.create_staff_user("acme", "ada@acme.example", PASSWORD, "Ada")
    browser = logged_in_browser(app, admin.email)
    response = browser.post(f"/admin/team/{staff.id}/deactivate", htmx=True)
    assert response.status_code == 403
    assert "The owner cannot be deactivated" in text_of(response)
    assert member_named(staff.email).status == StaffStatus.ACTIVE


def test_the_owner_changes_a_role_and_hands_over_ownership(app, staff_browser, agent):
    response = staff_browser.post(f"/admin/team/{agent.id}/role", {"role": "admin"}, htmx=True)
    assert "Al is now an admin." in text_of(response)
    response = staff_browser.post(f"/admin/team/{agent.id}/ownership", htmx=True)
    assert "Al is the owner now; you are an admin." in text_of(response)
    assert member_named("owner@acme.example").role == StaffRole.ADMIN
    assert "Make owner" not in text_of(staff_browser.get("/admin/team"))


# --- forgot password -----------------------------------------------------------------------------


def test_the_login_page_offers_a_password_reset(browser):
    assert 'href="/forgot-password"' in text_of(browser.get("/login"))


@pytest.mark.parametrize("known", [True, False], ids=["member", "stranger"])
def test_forgot_password_answers_the_same_whether_or_not_the_email_has_an_account(
    app, staff, known
):
    address = staff.email if known else "nobody@acme.example"
    browser = fresh_browser(app)
    with mail.record_messages() as outbox:
        response = browser.post("/forgot-password", {"email": address})
    assert response.status_code == 200
    assert (
        f"If {address} belongs to an active Followup account, a link to reset its password is "
        "on its way. It works once, for 60 minutes."
    ) in text_of(response)
    assert len(outbox) == (1 if known else 0)


@pytest.mark.parametrize("known", [True, False], ids=["member", "stranger"])
def test_forgot_password_without_redis_says_to_try_again_for_anyone(app, staff, known):
    app.config["REDIS_URL"] = closed_redis_url()
    address = staff.email if known else "nobody@acme.example"
    response = fresh_browser(app).post("/forgot-password", {"email": address})
    assert response.status_code == 503
    assert "We could not send the link just now. Try again in a minute." in text_of(response)
    assert f'value="{address}"' in text_of(response)  # kept for the next try
    assert db.session.scalar(select(StaffToken.id)) is None


def test_a_reset_link_sets_the_password_and_signs_in(app, staff):
    browser = fresh_browser(app)
    with mail.record_messages() as outbox:
        browser.post("/forgot-password", {"email": staff.email})
    path = path_in(outbox)
    assert "Choose a new password" in text_of(browser.get(path))
    assert browser.post(path, {"password": "short"}).status_code == 422
    assert browser.post(path, {"password": NEW_PASSWORD}).status_code == 303
    assert browser.get("/admin/followups").status_code == 200
    as_a_new_request()
    gone = fresh_browser(app).get(path)
    assert gone.status_code == 410
    assert team.LINK_INVALID in text_of(gone)


@pytest.mark.parametrize("path", ["/invitation/x" + "a" * 40, "/reset-password/short"])
def test_an_unknown_link_says_it_no_longer_works(browser, path):
    response = browser.get(path)
    assert response.status_code == 410
    assert team.LINK_INVALID in text_of(response)


# --- the member's own account --------------------------------------------------------------------


def test_a_member_renames_themselves(app, staff_browser):
    response = staff_browser.post("/account/name", {"name": "Olivia O."})
    assert "Name saved." in text_of(response)
    assert member_named("owner@acme.example").name == "Olivia O."
    refused = staff_browser.post("/account/name", {"name": " "})
    assert refused.status_code == 422


def test_a_member_gives_their_mobile_number_and_takes_it_away(app, staff_browser):
    saved = staff_browser.post("/account/phone", {"phone": "+1 (415) 555-0123"})
    assert "Number saved." in text_of(saved)
    assert 'value="+1 415-555-0123"' in saved.get_data(as_text=True)
    assert member_named("owner@acme.example").phone == "+14155550123"

    refused = staff_browser.post("/account/phone", {"phone": "555 0123"})
    assert refused.status_code == 422
    assert "Mobile number: enter the number with its country code" in text_of(refused)
    assert 'value="555 0123"' in refused.get_data(as_text=True)  # what they typed, to mend
    assert member_named("owner@acme.example").phone == "+14155550123"

    removed = staff_browser.post("/account/phone", {"phone": "  "})
    assert "Number removed." in text_of(removed)
    assert member_named("owner@acme.example").phone is None


def test_a_new_email_is_confirmed_by_a_link_to_it(app, staff_browser):
    with mail.record_messages() as outbox:
        response = staff_browser.post(
            "/account/email", {"email": "olivia@acme.example", "current_password": PASSWORD}
        )
    assert "We emailed a link to olivia@acme.example" in text_of(response)
    assert outbox[0].recipients == ["olivia@acme.example"]
    path = path_in(outbox)
    assert "Confirm olivia@acme.example" in text_of(staff_browser.get(path))
    assert member_named("olivia@acme.example") is None  # a GET changes nothing
    confirmed = staff_browser.post(path)
    assert "You sign in with olivia@acme.example from now on." in text_of(confirmed)
    assert member_named("olivia@acme.example") is not None


def test_a_new_password_ends_the_other_sessions_and_keeps_this_one(app, staff, staff_browser):
    as_a_new_request()
    other_device = logged_in_browser(app, staff.email)
    as_a_new_request()
    refused = staff_browser.post(
        "/account/password", {"current_password": "wrong", "password": NEW_PASSWORD}
    )
    assert refused.status_code == 422
    as_a_new_request()
    response = staff_browser.post(
        "/account/password", {"current_password": PASSWORD, "password": NEW_PASSWORD}
    )
    assert "Password changed. Your other sessions have ended." in text_of(response)
    as_a_new_request()
    assert staff_browser.get("/admin/followups").status_code == 200
    as_a_new_request()
    assert other_device.get("/admin/followups").status_code == 302


def test_an_agent_has_an_account_page_but_no_team_page(app, agent):
    browser = logged_in_browser(app, agent.email)
    account = browser.get("/account")
    assert account.status_code == 200
    # One two-factor section, and a title that is only the page's name.
    assert text_of(account).count('id="account-two-factor"') == 1
    assert re.search(r"<title>(\(\d+\) )?Your account · Followup</title>", text_of(account))
    assert browser.get("/admin/team").status_code == 403
    assert 'href="/admin/team"' not in text_of(browser.get("/admin/followups"))
