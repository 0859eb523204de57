"""The Follow-Up Requests admin page: every route as a full page and as an HTMX partial."""

import json
import re
from datetime import timedelta

import pytest
import time_machine

from followup.clock import utcnow
from followup.extensions import db
from followup.models import FollowUpRequest, FollowUpStatusChange, Priority, Source, Status
from followup.services import activity, followups
from followup.services.followups import Actor
from tests.helpers.apps import text_of
from tests.helpers.templates import assert_rendered

SYSTEM = Actor("tests")
# The page renders its list first, then the page around it.
PAGE = ("admin/followups/_list.html", "admin/followups/page.html")


def card_names(html: str) -> list[str]:
    return re.findall(r'<span class="card-name">([^<]*)</span>', html)


def reload(followup) -> FollowUpRequest:
    db.session.expire_all()
    return db.session.get(FollowUpRequest, followup.id)


# --- the page and the list ---------------------------------------------------------------


def test_full_page_has_every_header_element_and_cards(staff_browser, tenant, make_followup):
    make_followup(
        tenant,
        name="Maria Garcia",
        email="maria@example.com",
        phone="+14155550101",
        reason="Quote for 40 hoodies",
        priority="high",
    )
    make_followup(tenant, name="John Smith")
    with assert_rendered(staff_browser, *PAGE):
        response = staff_browser.get("/admin/followups")
    page = text_of(response)
    assert response.status_code == 200
    assert "<h1>Follow-Up Requests</h1>" in page
    assert ">2 pending</span>" in page
    assert ">Settings</a>" in page and ">Refresh</a>" in page
    assert 'placeholder="Search by name, email, or reason"' in page
    for option in ("All Status", "Pending", "Contacted", "Resolved", "Cancelled"):
        assert f">{option}</option>" in page
    assert card_names(page) == ["John Smith", "Maria Garcia"]  # newest first
    assert "maria@example.com" in page and ">+1 415-555-0101<" in page
    assert "Quote for 40 hoodies" in page
    assert 'class="status-pill status-pending">Pending<' in page
    assert "High Priority" in page
    assert "just now" in page
    assert "HX-Request" in response.headers["Vary"]


def test_htmx_list_request_returns_only_the_list_partial(staff_browser, tenant, make_followup):
    make_followup(tenant, name="Maria Garcia")
    with assert_rendered(staff_browser, "admin/followups/_list.html"):
        response = staff_browser.get("/admin/followups", htmx=True)
    html = text_of(response)
    assert response.status_code == 200
    assert "<html" not in html and "<h1>" not in html
    assert card_names(html) == ["Maria Garcia"]
    assert "HX-Request" in response.headers["Vary"]


def test_boosted_or_history_restore_request_gets_the_full_page(staff_browser):
    boosted = staff_browser.get("/admin/followups", htmx=True, headers={"HX-Boosted": "true"})
    restore = staff_browser.get(
        "/admin/followups", htmx=True, headers={"HX-History-Restore-Request": "true"}
    )
    assert "<html" in text_of(boosted) and "<html" in text_of(restore)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("maria", ["Maria Garcia"]),  # name, case-insensitive
        ("JOHN@EXAMPLE", ["John Smith"]),  # email
        ("refund", ["John Smith"]),  # reason
        ("100%", ["Percent Person"]),  # % is literal, not a wildcard
        ("a_b", []),  # _ is literal too
        ("nobody", []),
    ],
)
def test_search_by_name_email_and_reason(staff_browser, tenant, make_followup, query, expected):
    make_followup(tenant, name="Maria Garcia", email="maria@example.com", reason="Hoodies quote")
    make_followup(tenant, name="John Smith", email="john@example.com", reason="A refund please")
    make_followup(tenant, name="Percent Person", email="pp@example.com", reason="100% sure")
    html = text_of(staff_browser.get(f"/admin/followups?q={query.replace('%', '%25')}", htmx=True))
    assert card_names(html) == expected
    if not expected:
        assert "No follow-up requests match these filters." in html


def test_status_filter_and_search_combine(staff_browser, tenant, make_followup):
    done = make_followup(tenant, name="Ann Contacted")
    make_followup(tenant, name="Ann Pending")
    followups.change_status(tenant.id, done.id, Status.CONTACTED, SYSTEM)
    assert card_names(
        text_of(staff_browser.get("/admin/followups?status=contacted", htmx=True))
    ) == ["Ann Contacted"]
    assert card_names(
        text_of(staff_browser.get("/admin/followups?q=ann&status=pending", htmx=True))
    ) == ["Ann Pending"]
    assert len(card_names(text_of(staff_browser.get("/admin/followups?status=", htmx=True)))) == 2


def card_of(html: str, followup_id: int) -> str:
    return re.search(rf'data-followup-id="{followup_id}">(.*?)</li>', html, re.S).group(1)


def test_cards_link_to_their_detail_keeping_the_filters(staff_browser, tenant, make_followup):
    ann, bob = make_followup(tenant, name="Ann Lee"), make_followup(tenant, name="Bob Lee")
    html = text_of(staff_browser.get("/admin/followups?q=lee&status=pending", htmx=True))
    for followup in (ann, bob):
        url = f"/admin/followups/{followup.id}?q=lee&amp;status=pending"
        assert f'href="{url}" hx-get="{url}"' in card_of(html, followup.id)
    plain = text_of(staff_browser.get("/admin/followups", htmx=True))
    assert f'href="/admin/followups/{ann.id}" hx-get=' in card_of(plain, ann.id)


def test_only_the_selected_card_is_marked(staff_browser, tenant, make_followup):
    ann, bob = make_followup(tenant, name="Ann"), make_followup(tenant, name="Bob")
    page = text_of(staff_browser.get(f"/admin/followups/{ann.id}"))
    marked = re.findall(r'class="followup-card [^"]*is-selected"\s+data-followup-id="(\d+)"', page)
    assert marked == [str(ann.id)] and str(bob.id) in page


def test_high_priority_badge_only_on_high_priority_cards(staff_browser, tenant, make_followup):
    high = make_followup(tenant, name="Urgent", priority="high")
    normal = make_followup(tenant, name="Calm")
    html = text_of(staff_browser.get("/admin/followups", htmx=True))
    assert "High Priority" in card_of(html, high.id)
    assert "High Priority" not in card_of(html, normal.id)


def test_filters_survive_reload_as_url_state(staff_browser, tenant, make_followup):
    make_followup(tenant, name="Maria Garcia")
    page = text_of(staff_browser.get("/admin/followups?q=maria&status=pending"))
    assert 'name="q" value="maria"' in page
    assert '<option value="pending" selected>Pending</option>' in page
    assert 'hx-push-url="true"' in page


def test_unknown_status_filter_is_a_clear_error(staff_browser):
    response = staff_browser.get("/admin/followups?status=bogus", htmx=True)
    assert response.status_code == 422
    assert "Status: choose one of all, pending, contacted, resolved, cancelled." in text_of(
        response
    )
    assert response.headers["HX-Retarget"] == "#alerts"


def test_list_loads_in_pages_with_a_cursor(app, staff_browser, tenant, make_followup):
    start = utcnow() - timedelta(hours=40)
    for n in range(30):
        with time_machine.travel(start + timedelta(minutes=n), tick=False):
            make_followup(tenant, name=f"Person {n:02d}")
    first = text_of(staff_browser.get("/admin/followups"))
    assert card_names(first) == [f"Person {n:02d}" for n in range(29, 4, -1)]
    cursor = re.search(r"cursor=([0-9-]+)", first).group(1)
    with assert_rendered(staff_browser, "admin/followups/_rows.html"):
        more = text_of(staff_browser.get(f"/admin/followups?cursor={cursor}", htmx=True))
    assert card_names(more) == [f"Person {n:02d}" for n in range(4, -1, -1)]
    assert "Load more" not in more


def test_bad_cursor_is_refused(staff_browser):
    response = staff_browser.get("/admin/followups?cursor=xyz", htmx=True)
    assert response.status_code == 422
    assert "The list changed too much to go on: reload it." in text_of(response)


def test_pending_older_than_response_time_is_overdue(staff_browser, tenant, make_followup):
    with time_machine.travel(utcnow() - timedelta(hours=25), tick=False):
        old = make_followup(tenant, name="Old Pending")
        old_contacted = make_followup(tenant, name="Old Contacted")
    make_followup(tenant, name="Fresh Pending")
    followups.change_status(tenant.id, old_contacted.id, Status.CONTACTED, SYSTEM)
    html = text_of(staff_browser.get("/admin/followups", htmx=True))
    cards = dict(re.findall(r'data-followup-id="(\d+)">(.*?)</li>', html, re.S))
    assert "Overdue" in cards[str(old.id)]
    assert all("Overdue" not in body for key, body in cards.items() if key != str(old.id))


# --- the detail panel ------------------------------------------------------------------------


def test_detail_as_full_page_and_partial(staff_browser, tenant, make_followup):
    followup = make_followup(
        tenant,
        name="Maria Garcia",
        email="maria@example.com",
        phone="+14155550101",
        reason="Quote for hoodies",
        summary="Asked about bulk pricing.",
    )
    with assert_rendered(staff_browser, *PAGE):
        page = text_of(staff_browser.get(f"/admin/followups/{followup.id}?q=maria"))
    with assert_rendered(staff_browser, "admin/followups/_detail.html"):
        partial = text_of(staff_browser.get(f"/admin/followups/{followup.id}", htmx=True))
    assert "<h1>Follow-Up Requests</h1>" in page and "Maria Garcia" in page
    assert 'name="q" value="maria"' in page  # filters kept beside the selection
    assert "<html" not in partial
    for html in (page, partial):
        assert 'href="mailto:maria@example.com"' in html
        assert 'href="tel:+14155550101"' in html
        assert "Quote for hoodies" in html and "Asked about bulk pricing." in html
        assert "Submitted" in html and "Contacted" in html and "Resolved" in html
        assert 'id="add-note">Add note</button>' in html  # the timeline takes notes
        options = re.findall(
            r'<option value="(\w+)"(?: selected disabled)?>',
            html.split('id="status-select"')[1].split("</select>")[0],
        )
        assert options == ["pending", "contacted", "cancelled"]


def test_final_status_offers_no_transition(staff_browser, tenant, make_followup):
    followup = make_followup(tenant)
    followups.change_status(tenant.id, followup.id, Status.CANCELLED, SYSTEM)
    html = text_of(staff_browser.get(f"/admin/followups/{followup.id}", htmx=True))
    assert 'id="status-select"' not in html
    assert "Cancelled is a final status." in html


def test_unknown_id_is_404(staff_browser):
    assert staff_browser.get("/admin/followups/999999").status_code == 404
    assert staff_browser.get("/admin/followups/999999", htmx=True).status_code == 404


VERIFIED_WHY = (
    "the email is the customer's own: they opened a login link sent to it "
    "and typed the code their chat showed."
)
UNVERIFIED_WHY = (
    "nobody has proved this email is the customer's: it was typed in, or sent "
    "by your website without a signature over it (the widget's signature covers "
    "the customer id only)."
)


def identity_badge(label: str, why: str) -> str:
    return (
        f'<span class="badge badge-{label.lower()}" title="{label}: {why}">{label}'
        f'<span class="visually-hidden">: {why}</span></span>'
    )


def test_cards_and_detail_say_whether_the_identity_was_verified(
    staff_browser, tenant, make_followup
):
    signed = followups.create_followup(
        tenant.id,
        {"name": "Signed Sam", "email": "sam@example.com", "reason": "Invoice"},
        source=Source.TEXT,
        identity_verified=True,
    )
    typed = make_followup(tenant, name="Typed Tom")
    verified, unverified = (
        identity_badge("Verified", VERIFIED_WHY),
        identity_badge("Unverified", UNVERIFIED_WHY),
    )
    html = text_of(staff_browser.get("/admin/followups", htmx=True))
    assert verified in card_of(html, signed.id) and unverified not in card_of(html, signed.id)
    assert unverified in card_of(html, typed.id) and verified not in card_of(html, typed.id)
    for followup, badge in ((signed, verified), (typed, unverified)):
        detail = text_of(staff_browser.get(f"/admin/followups/{followup.id}", htmx=True))
        badges = detail.split('class="detail-badges"')[1].split("</div>")[0]
        assert badge in badges


def section_titles(html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", title)
        for title in re.findall(r"<h3[^>]*>(.*?)</h3>", html.split('id="followup-detail"')[1])
    ]


def test_the_detail_shows_status_notes_and_history_before_notifications(
    staff_browser, tenant, make_followup
):
    followup = make_followup(tenant, summary="Asked about bulk pricing.")
    for htmx in (True, False):
        html = text_of(staff_browser.get(f"/admin/followups/{followup.id}", htmx=htmx))
        assert section_titles(html) == [
            "Contact Information",
            "Reason for Follow-Up",
            "Conversation Summary",
            "Status",
            "Assignee",
            "Priority",
            "Timestamps",
            "Activity",
            "Notifications",
        ]


# --- workflow through the page -------------------------------------------------------------


def test_status_change_updates_and_triggers_list_refresh(
    staff_browser, tenant, staff, make_followup
):
    followup = make_followup(tenant)
    with assert_rendered(staff_browser, "admin/followups/_detail.html"):
        response = staff_browser.post(
            f"/admin/followups/{followup.id}/status", data={"status": "contacted"}, htmx=True
        )
    assert response.status_code == 200
    assert json.loads(response.headers["HX-Trigger"]) == {"followups-changed": True}
    assert 'class="status-pill status-contacted">Contacted<' in text_of(response)
    stored = reload(followup)
    assert stored.status == Status.CONTACTED and stored.contacted_at is not None
    change = db.session.query(FollowUpStatusChange).one()
    assert (change.from_status, change.to_status, change.staff_user_id) == (
        "pending",
        "contacted",
        staff.id,
    )
    assert re.search(r"Olivia Owner</strong>\s+moved it from", text_of(response))
    badge = staff_browser.get("/admin/followups/badge", htmx=True)
    assert ">0 pending</span>" in text_of(badge)


def test_plain_form_post_redirects_back_to_the_detail(staff_browser, tenant, make_followup):
    followup = make_followup(tenant)
    with assert_rendered(staff_browser):  # nothing: the browser loads the page next
        response = staff_browser.post(
            f"/admin/followups/{followup.id}/status", data={"status": "cancelled"}
        )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/admin/followups/{followup.id}")
    assert reload(followup).cancelled_at is not None


def status_options(html: str) -> list[str]:
    """The values the status dropdown offers, the current status first."""
    return re.findall(
        r'<option value="(\w+)"(?: selected disabled)?>',
        html.split('id="status-select"')[1].split("</select>")[0],
    )


def history_lines(html: str) -> list[str]:
    """The status changes of the timeline as text, without their times, oldest first."""
    timeline = html.split('id="timeline"')[1].split("</ol>")[0]
    items = re.findall(r'<li class="timeline-entry entry-status">(.*?)<time', timeline, re.S)
    lines = [" ".join(re.sub(r"<[^>]+>", " ", item).split()).rstrip(" ·") for item in items]
    return lines[::-1]


@pytest.mark.parametrize(
    ("moves", "forbidden", "message"),
    [
        ([], "resolved", "A pending request can move to Contacted or Cancelled, not to Resolved."),
        (["contacted", "resolved"], "pending", "final status"),
        (["cancelled"], "contacted", "final status"),
        (["contacted"], "pending", "can move to Resolved or Cancelled"),
    ],
)
def test_forbidden_transition_is_refused_and_changes_nothing(
    staff_browser, tenant, make_followup, moves, forbidden, message
):
    followup = make_followup(tenant)
    for status in moves:
        followups.change_status(tenant.id, followup.id, status, SYSTEM)
    before = reload(followup)
    snapshot = (
        before.status,
        before.contacted_at,
        before.resolved_at,
        before.cancelled_at,
        len(before.history),
    )
    response = staff_browser.post(
        f"/admin/followups/{followup.id}/status", data={"status": forbidden}, htmx=True
    )
    # htmx swaps the pane like any other; the message is in it.
    assert response.status_code == 200
    assert message in text_of(response)
    after = reload(followup)
    assert (
        after.status,
        after.contacted_at,
        after.resolved_at,
        after.cancelled_at,
        len(after.history),
    ) == snapshot


@pytest.mark.parametrize("tried", ["contacted", "cancelled"])
def test_a_change_refused_after_another_tab_resolved_shows_the_request_as_it_is_now(
    staff_browser, tenant, make_followup, tried
):
    followup = make_followup(tenant)
    tab_a = text_of(staff_browser.get(f"/admin/followups/{followup.id}", htmx=True))
    assert status_options(tab_a) == ["pending", "contacted", "cancelled"]
    other = Actor("Another Admin")
    followups.change_status(tenant.id, followup.id, Status.CONTACTED, other)  # tab B
    followups.change_status(tenant.id, followup.id, Status.RESOLVED, other)

    response = staff_browser.post(
        f"/admin/followups/{followup.id}/status", data={"status": tried}, htmx=True
    )

    html = text_of(response)
    assert response.status_code == 200
    assert json.loads(response.headers["HX-Trigger"]) == {"followups-changed": True}
    assert 'role="alert" id="status-refused"' in html
    assert "Status not changed." in html
    assert "This request is resolved, a final status; it cannot be changed." in html
    assert 'class="status-pill status-resolved">Resolved<' in html
    assert 'id="status-select"' not in html and "Resolved is a final status." in html
    assert history_lines(html) == [
        "Another Admin moved it from Pending to Contacted",
        "Another Admin moved it from Contacted to Resolved",
    ]
    stored = reload(followup)
    assert (stored.status, len(stored.history)) == (Status.RESOLVED, 2)


def test_a_refused_change_offers_the_moves_allowed_now(staff_browser, tenant, make_followup):
    followup = make_followup(tenant)
    followups.change_status(tenant.id, followup.id, Status.CONTACTED, Actor("Another Admin"))
    response = staff_browser.post(
        f"/admin/followups/{followup.id}/status", data={"status": "contacted"}, htmx=True
    )
    html = text_of(response)
    assert "A contacted request can move to Resolved or Cancelled, not to Contacted." in html
    assert 'class="status-pill status-contacted">Contacted<' in html
    assert status_options(html) == ["contacted", "resolved", "cancelled"]
    assert '<option value="contacted" selected disabled>Contacted (current)</option>' in html
    assert json.loads(response.headers["HX-Trigger"]) == {"followups-changed": True}


def test_a_refused_plain_form_post_shows_the_page_as_it_is_now(
    staff_browser, tenant, make_followup
):
    followup = make_followup(tenant)
    followups.change_status(tenant.id, followup.id, Status.CANCELLED, Actor("Another Admin"))
    response = staff_browser.post(
        f"/admin/followups/{followup.id}/status", data={"status": "contacted"}
    )
    page = text_of(response)
    assert response.status_code == 409
    assert "<h1>Follow-Up Requests</h1>" in page
    assert "This request is cancelled, a final status; it cannot be changed." in page
    assert 'class="status-pill status-cancelled">Cancelled<' in page
    assert ">0 pending</span>" in page  # the badge as it is now, too
    assert reload(followup).status == Status.CANCELLED


def test_unknown_status_value_is_refused_in_the_pane(staff_browser, tenant, make_followup):
    followup = make_followup(tenant)
    response = staff_browser.post(
        f"/admin/followups/{followup.id}/status", data={"status": "archived"}, htmx=True
    )
    html = text_of(response)
    assert response.status_code == 200
    assert "Status: use one of pending, contacted, resolved, cancelled." in html
    assert status_options(html) == ["pending", "contacted", "cancelled"]
    assert reload(followup).status == Status.PENDING
    plain = staff_browser.post(f"/admin/followups/{followup.id}/status", data={"status": "x"})
    assert plain.status_code == 422


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("post", "/admin/followups/{id}/status", {"status": "contacted"}),
        ("post", "/admin/followups/{id}/timeline/notes", {"text": "sneaky"}),
        ("post", "/admin/followups/settings", {"response_time_hours": "48"}),
    ],
)
def test_admin_writes_without_csrf_token_are_refused(
    staff_browser, tenant, make_followup, method, path, data
):
    followup = make_followup(tenant)
    response = staff_browser.post(path.format(id=followup.id), data=data, csrf=False, htmx=True)
    assert response.status_code == 400
    assert reload(followup).status == Status.PENDING
    assert activity.notes_of(tenant.id, followup.id) == []
    assert db.session.get(type(tenant), tenant.id).response_time_hours == 24


# --- badge, banner, settings ------------------------------------------------------------------


def test_badge_is_a_pane_only_route(staff_browser, tenant, make_followup):
    make_followup(tenant)
    assert ">1 pending</span>" in text_of(staff_browser.get("/admin/followups/badge", htmx=True))
    assert staff_browser.get("/admin/followups/badge").status_code == 302


def test_settings_panel_full_page_and_partial(staff_browser):
    with assert_rendered(staff_browser, *PAGE):
        page = text_of(staff_browser.get("/admin/followups/settings"))
    with assert_rendered(staff_browser, "admin/followups/_settings.html"):
        partial = text_of(staff_browser.get("/admin/followups/settings", htmx=True))
    assert "<h1>Follow-Up Requests</h1>" in page
    assert "<html" not in partial
    for html in (page, partial):
        assert "Enable Follow-Up Requests" in html
        assert 'name="response_time_hours"' in html and 'value="24"' in html
        assert ">Save Settings</button>" in html


def test_disabling_followups_shows_the_banner(staff_browser, tenant):
    assert "customers cannot request follow-ups" not in text_of(
        staff_browser.get("/admin/followups")
    )
    response = staff_browser.post(
        "/admin/followups/settings", data={"response_time_hours": "48"}, htmx=True
    )
    assert response.status_code == 200
    assert "Settings saved." in text_of(response)
    assert json.loads(response.headers["HX-Trigger"]) == {
        "settings-changed": True,
        "followups-changed": True,
    }
    db.session.expire_all()
    assert (tenant.followups_enabled, tenant.response_time_hours) == (False, 48)
    banner = text_of(staff_browser.get("/admin/followups/banner", htmx=True))
    assert "customers cannot request follow-ups" in banner
    assert "customers cannot request follow-ups" in text_of(staff_browser.get("/admin/followups"))


def test_enabling_again_hides_the_banner(staff_browser, tenant):
    staff_browser.post("/admin/followups/settings", data={"response_time_hours": "24"})
    staff_browser.post(
        "/admin/followups/settings", data={"enabled": "on", "response_time_hours": "24"}
    )
    db.session.expire_all()
    assert tenant.followups_enabled
    assert "customers cannot request follow-ups" not in text_of(
        staff_browser.get("/admin/followups")
    )


@pytest.mark.parametrize("bad", ["0", "169", "1.5", "abc", "", "-3", "24h", "²"])
def test_response_time_outside_1_to_168_is_refused(staff_browser, tenant, bad):
    response = staff_browser.post(
        "/admin/followups/settings", data={"enabled": "on", "response_time_hours": bad}, htmx=True
    )
    assert response.status_code == 422
    assert "Response Time (hours): use a whole number from 1 to 168." in text_of(response)
    db.session.expire_all()
    assert (tenant.followups_enabled, tenant.response_time_hours) == (True, 24)


def test_settings_error_on_plain_post_renders_the_page(staff_browser):
    response = staff_browser.post("/admin/followups/settings", data={"response_time_hours": "0"})
    assert response.status_code == 422
    assert "<h1>Follow-Up Requests</h1>" in text_of(response)


@pytest.mark.parametrize("hours", ["1", "168"])
def test_response_time_bounds_are_accepted(staff_browser, tenant, hours):
    response = staff_browser.post(
        "/admin/followups/settings", data={"enabled": "on", "response_time_hours": hours}
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert tenant.response_time_hours == int(hours)


# --- customer text is escaped everywhere -----------------------------------------------------

SCRIPT = '<script>alert("x")</script>'


def test_customer_text_is_escaped_in_list_and_detail(staff_browser, tenant, make_followup):
    followup = make_followup(
        tenant,
        name=f"Eve {SCRIPT}",
        reason=f"Help {SCRIPT}",
        summary=f"Summary {SCRIPT}",
        priority=Priority.HIGH,
    )
    activity.add_note(followup, f"Note {SCRIPT}", Actor("Olivia Owner"))
    for url, htmx in [
        ("/admin/followups", False),
        ("/admin/followups", True),
        (f"/admin/followups/{followup.id}", False),
        (f"/admin/followups/{followup.id}", True),
    ]:
        html = text_of(staff_browser.get(url, htmx=htmx))
        assert SCRIPT not in html, url
        assert "&lt;script&gt;" in html, url
