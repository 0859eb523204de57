"""The follow-ups list is queried and rendered on each request: every write shows at
once, whichever process made it, and "time ago" texts follow the clock."""

import re
from datetime import timedelta

import time_machine
from flask import g

from followup.clock import utcnow
from followup.extensions import db
from followup.models import FollowUpRequest, Source
from followup.services import followup_settings, followups, staff_accounts, tenant_settings, tenants
from tests.helpers.apps import empty_tables
from tests.helpers.database_work import database_work
from tests.helpers.staff import PASSWORD, StaffBrowser, logged_in_browser

LIST = "/admin/followups?q=order&status=pending"
# The user load joins the tenant: one SELECT, then the list's own when it is rendered.
USER_LOAD = ["CHECKOUT", "SELECT"]


def list_html(browser: StaffBrowser, url: str = LIST) -> str:
    response = browser.get(url, htmx=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def card(html: str, followup_id: int) -> str:
    cards = dict(re.findall(r'data-followup-id="(\d+)">(.*?)</li>', html, re.S))
    return cards[str(followup_id)]


def logged_in(app, tenant_slug: str) -> StaffBrowser:
    email = f"owner@{tenant_slug}.example"
    staff_accounts.create_staff_user(tenant_slug, email, PASSWORD, name="Owner")
    fresh_request_session()
    browser = logged_in_browser(app, email)
    fresh_request_session()
    return browser


def fresh_request_session() -> None:
    """What a server's request starts with: an empty `g` (no user, no CSRF token) and
    nothing loaded. The tests' requests share one app context, its `g` and session."""
    vars(g).clear()
    db.session.remove()


def test_the_same_view_again_is_queried_and_rendered_anew(staff_browser, tenant, make_followup):
    make_followup(tenant)
    fresh_request_session()
    first = list_html(staff_browser)
    fresh_request_session()
    with database_work() as again:
        second = list_html(staff_browser)
    assert second == first and "Customer 1" in second
    assert again == [*USER_LOAD, "SELECT"]


def test_another_view_is_rendered_for_itself(staff_browser, tenant, make_followup):
    make_followup(tenant, reason="Needs help with order 7")
    list_html(staff_browser)
    fresh_request_session()
    with database_work() as other_filter:
        html = list_html(staff_browser, "/admin/followups?q=refund&status=pending")
    assert other_filter == [*USER_LOAD, "SELECT"]
    assert "No follow-up requests match these filters." in html


def test_a_status_change_shows_at_once(staff_browser, tenant, make_followup):
    followup = make_followup(tenant)
    assert "status-pending" in card(list_html(staff_browser, "/admin/followups"), followup.id)

    staff_browser.post(
        f"/admin/followups/{followup.id}/status", data={"status": "contacted"}, htmx=True
    )

    html = list_html(staff_browser, "/admin/followups")
    assert 'class="status-pill status-contacted">Contacted<' in card(html, followup.id)
    assert "Customer 1" not in list_html(staff_browser, "/admin/followups?status=pending")


def test_a_request_made_elsewhere_shows_at_once(staff_browser, tenant, make_followup):
    """A widget capture or the REST API writes in another process: the list reads the
    database on each request, so no message between processes is needed."""
    make_followup(tenant, name="First Customer")
    assert "Second Customer" not in list_html(staff_browser)
    make_followup(tenant, name="Second Customer")
    fresh_request_session()
    assert "Second Customer" in list_html(staff_browser)


def test_a_request_verified_later_shows_so_at_once(staff_browser, tenant, make_followup):
    """The card's Verified mark is a column of the request, read with each list."""
    followup_id = make_followup(tenant).id
    assert ">Unverified<" in card(list_html(staff_browser), followup_id)
    db.session.get(FollowUpRequest, followup_id).identity_verified = True
    db.session.commit()
    fresh_request_session()
    marked = card(list_html(staff_browser), followup_id)
    assert ">Verified<" in marked and ">Unverified<" not in marked


def test_time_ago_and_overdue_follow_the_clock(staff_browser, tenant, make_followup):
    made = utcnow()
    with time_machine.travel(made, tick=False):
        followup = make_followup(tenant)
        assert "just now" in card(list_html(staff_browser), followup.id)
    with time_machine.travel(made + timedelta(seconds=50), tick=False):
        assert "just now" in card(list_html(staff_browser), followup.id)
    with time_machine.travel(made + timedelta(hours=25), tick=False):
        later = card(list_html(staff_browser), followup.id)
    assert "1 day ago" in later and "Overdue" in later


def test_a_new_response_time_holds_for_new_requests_only(staff_browser, tenant, make_followup):
    with time_machine.travel(utcnow() - timedelta(hours=5), tick=False):
        earlier_id = make_followup(tenant).id
    followup_settings.update_followup_settings(tenant.id, True, 4)
    with time_machine.travel(utcnow() - timedelta(hours=5), tick=False):
        later_id = make_followup(tenant).id
    fresh_request_session()
    cards = list_html(staff_browser)
    # Promised within 24 h when it was made: 19 h left; the later one, within 4 h.
    assert "Due in 19 h" in card(cards, earlier_id)
    assert "Overdue by 1 h" in card(cards, later_id)


def test_a_new_timezone_shows_in_the_cards_at_once(staff_browser, tenant, make_followup):
    followup_id = make_followup(tenant).id
    assert re.search(r'title="[^"]+ UTC"', card(list_html(staff_browser), followup_id))
    tenant_settings.update_business(tenant.id, {"name": "Acme Inc", "timezone": "Asia/Tokyo"})
    fresh_request_session()
    assert re.search(r'title="[^"]+ JST"', card(list_html(staff_browser), followup_id))


def test_tenants_never_see_each_others_list(app, tenant, other_tenant, make_followup):
    """Same filters, same rows of each: each staff member sees their tenant's."""
    make_followup(tenant, name="Acme Customer")
    make_followup(other_tenant, name="Globex Customer")
    acme_browser, globex_browser = (logged_in(app, slug) for slug in ("acme", "globex"))
    acme = list_html(acme_browser)
    fresh_request_session()
    globex = list_html(globex_browser)
    assert "Acme Customer" in acme and "Globex" not in acme
    assert "Globex Customer" in globex and "Acme" not in globex


def test_a_tenant_made_anew_under_an_old_id_gets_its_own_list(app):
    """SQLite hands a deleted row's id out again."""
    for name in ("Before Customer", "After Customer"):
        fresh_request_session()
        empty_tables()
        tenant = tenants.create_tenant("acme", "Acme Inc", contact_email="team@acme.example")
        followups.create_followup(
            tenant.id, {"name": name, "email": "c@example.com", "reason": "order 1"}, Source.API
        )
        html = list_html(logged_in(app, "acme"))
        assert name in html and card_count(html) == 1


def card_count(html: str) -> int:
    return len(re.findall(r'class="followup-card ', html))


def selected_cards(html: str) -> list[str]:
    return re.findall(r'class="followup-card [^"]*is-selected"\s+data-followup-id="(\d+)"', html)


def test_the_full_page_marks_the_selected_card(staff_browser, tenant, make_followup):
    first, second = make_followup(tenant).id, make_followup(tenant).id
    for selected in (first, second, first):
        page = staff_browser.get(f"/admin/followups/{selected}").get_data(as_text=True)
        assert selected_cards(page) == [str(selected)]
    assert selected_cards(staff_browser.get("/admin/followups").get_data(as_text=True)) == []
