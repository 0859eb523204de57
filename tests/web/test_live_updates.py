"""Live admin pages: the poll "anything new since v?" (web/admin/live.py, services/live.py).

Nothing changed: a 204 from one Redis GET, no SQL beyond the login's user load. After a
request is created, its status moved or its notes saved (in any process: Redis is
shared), the poller comes back with the new version and the event that refreshes the
list and the badge. Another tenant's change never does."""

import json
import logging
import re
import uuid

import pytest
from flask import g
from redis import Redis

from followup.extensions import db
from followup.services import activity, followups, live
from tests.helpers.apps import REDIS_TEST_URL, build_app
from tests.helpers.database_work import database_work

POLL = "/admin/live"
USER_LOAD = ["CHECKOUT", "SELECT"]


@pytest.fixture(autouse=True)
def live_keys(app):
    """Counters of this test's own (the tests share one Redis database)."""
    prefix = f"test:live:{uuid.uuid4().hex}:"
    app.config["LIVE_KEY_PREFIX"] = prefix
    yield prefix
    redis = Redis.from_url(REDIS_TEST_URL)
    keys = list(redis.scan_iter(match=prefix + "*"))
    if keys:
        redis.delete(*keys)


def fresh_request() -> None:
    """What a server's request starts with: no user and no CSRF token in `g` (the tests'
    requests share one app context)."""
    vars(g).clear()


def poller_of(html: str) -> dict:
    match = re.search(r'<div id="live-poll"[^>]*>.*?</div>', html, re.S)
    assert match, "no live poller on the page"
    tag = match.group(0)
    version = re.search(r'id="live-version" name="v" value="([^"]*)"', html)
    return {
        "version": version.group(1) if version else None,
        "pending": int(re.search(r'data-pending="(\d+)"', tag).group(1)),
        "newest_id": int(re.search(r'data-newest-id="(\d+)"', tag).group(1)),
        "tag": tag,
    }


def page_poller(browser) -> dict:
    fresh_request()
    response = browser.get("/admin/followups")
    assert response.status_code == 200
    return poller_of(response.get_data(as_text=True))


def poll(browser, version: str):
    fresh_request()
    return browser.get(f"{POLL}?v={version}", htmx=True, headers={"X-Followup-Poll": "1"})


def events_of(response) -> set[str]:
    return set(json.loads(response.headers.get("HX-Trigger", "{}")))


def test_nothing_changed_is_a_204_without_sql(staff_browser, tenant, make_followup):
    make_followup(tenant)
    seen = page_poller(staff_browser)
    fresh_request()
    db.session.remove()  # nothing loaded, as in a server's request
    with database_work() as work:
        response = staff_browser.get(
            f"{POLL}?v={seen['version']}", htmx=True, headers={"X-Followup-Poll": "1"}
        )
    assert response.status_code == 204
    assert response.get_data() == b""
    assert "HX-Trigger" not in response.headers
    assert work == USER_LOAD  # the login's own user load, nothing else


def test_a_new_request_triggers_the_refresh_with_the_new_counts(
    staff_browser, tenant, make_followup
):
    make_followup(tenant)
    seen = page_poller(staff_browser)
    assert seen["pending"] == 1
    newest = make_followup(tenant)
    response = poll(staff_browser, seen["version"])
    assert response.status_code == 200
    assert events_of(response) == {"followups-changed"}
    now = poller_of(response.get_data(as_text=True))
    assert now["version"] != seen["version"]
    assert now["pending"] == 2
    assert now["newest_id"] == newest.id
    # Seen: quiet again.
    assert poll(staff_browser, now["version"]).status_code == 204


def test_a_status_change_and_a_note_trigger_the_refresh(
    staff_browser, tenant, staff, make_followup
):
    followup = make_followup(tenant)
    seen = page_poller(staff_browser)
    followups.change_status(tenant.id, followup.id, "contacted", followups.Actor("Colleague"))
    after_status = poll(staff_browser, seen["version"])
    assert "followups-changed" in events_of(after_status)
    status_seen = poller_of(after_status.get_data(as_text=True))
    assert status_seen["pending"] == 0
    activity.add_note(followup, "Called back, left a message.", followups.Actor("Colleague"))
    after_note = poll(staff_browser, status_seen["version"])
    assert "followups-changed" in events_of(after_note)


def test_a_save_from_this_page_triggers_the_other_pages_not_itself(
    staff_browser, tenant, make_followup
):
    followup = make_followup(tenant)
    make_followup(tenant)
    seen = page_poller(staff_browser)
    fresh_request()
    saved = staff_browser.post(
        f"/admin/followups/{followup.id}/status", data={"status": "contacted"}, htmx=True
    )
    assert saved.status_code == 200
    # Other pages (still on the old version) hear of it.
    assert poll(staff_browser, seen["version"]).status_code == 200
    # This one is told the version its own change made, and the new count: no news.
    assert json.loads(saved.headers["HX-Trigger"]) == {"followups-changed": True}
    own = json.loads(saved.headers["HX-Trigger-After-Settle"])
    assert own["live-version"] == {"version": live.version(tenant.id), "pending": 1}
    assert own["live-version"]["version"] != seen["version"]
    assert poll(staff_browser, own["live-version"]["version"]).status_code == 204


def test_answers_without_a_change_carry_no_version(staff_browser, tenant, make_followup):
    followup = make_followup(tenant)
    fresh_request()
    pane = staff_browser.get(f"/admin/followups/{followup.id}", htmx=True)
    assert pane.status_code == 200
    assert "HX-Trigger-After-Settle" not in pane.headers


def test_another_tenants_change_never_triggers(
    app, staff_browser, tenant, other_tenant, make_followup
):
    theirs = make_followup(other_tenant)
    seen = page_poller(staff_browser)
    make_followup(other_tenant)
    followups.change_status(other_tenant.id, theirs.id, "contacted", followups.Actor("Them"))
    activity.add_note(theirs, "Their note.", followups.Actor("Them"))
    assert poll(staff_browser, seen["version"]).status_code == 204
    assert live.version(other_tenant.id) == "4"  # their own pages did hear of all four


def test_a_change_made_by_another_process_triggers(
    app, database_url, live_keys, staff_browser, tenant
):
    """Two app instances (two web processes, or a worker) share only the database and
    Redis: a request created by the other one reaches this one's pages."""
    seen = page_poller(staff_browser)
    other_process = build_app(database_url, LIVE_KEY_PREFIX=live_keys)
    with other_process.app_context():
        followups.create_followup(
            tenant.id,
            {"name": "Ada", "email": "ada@example.com", "reason": "Call me back."},
            source="api",
            notify=False,
        )
        db.session.remove()
        db.engine.dispose()
    response = poll(staff_browser, seen["version"])
    assert response.status_code == 200
    assert poller_of(response.get_data(as_text=True))["pending"] == 1


def test_without_redis_changes_still_save_and_pages_wait(
    app, staff_browser, tenant, make_followup, monkeypatch, caplog
):
    seen = page_poller(staff_browser)
    away = live._redis_for("redis://127.0.0.1:1/0")  # nothing listens there
    monkeypatch.setattr(live, "redis_connection", lambda: away)
    with caplog.at_level(logging.WARNING, logger="followup.services.live"):
        followup = make_followup(tenant)
    assert followup.id is not None
    assert "could not count a change" in caplog.text
    assert poll(staff_browser, seen["version"]).status_code == 204
    # Redis is back: the first answer brings the change (made meanwhile by another).
    monkeypatch.undo()
    make_followup(tenant)
    assert poll(staff_browser, seen["version"]).status_code == 200


def test_the_page_carries_the_poller_and_the_pending_count_in_its_title(
    staff_browser, tenant, make_followup
):
    for _ in range(3):
        make_followup(tenant)
    fresh_request()
    html = staff_browser.get("/admin/followups").get_data(as_text=True)
    assert re.search(r"<title>\(3\) Follow-Up Requests", html)
    seen = poller_of(html)
    assert seen["pending"] == 3
    assert 'hx-trigger="every 1s"' in seen["tag"]
    # A poll is not the member at work: an unattended tab still times out.
    assert "X-Followup-Poll" in seen["tag"]
    assert "admin-live.js" in html


def test_every_admin_page_polls(staff_browser, tenant):
    fresh_request()
    html = staff_browser.get("/admin/settings").get_data(as_text=True)
    assert poller_of(html)["pending"] == 0
    assert re.search(r"<title>Settings", html), "no count in the title with nothing pending"


def test_a_plain_visit_to_the_poll_goes_to_the_page(staff_browser):
    fresh_request()
    response = staff_browser.get(f"{POLL}?v=0")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/followups")


def test_the_poll_needs_a_login(browser):
    response = browser.get(f"{POLL}?v=0", htmx=True)
    assert response.status_code in (302, 401)
    assert "HX-Trigger" not in response.headers


def test_the_login_page_has_no_poller(browser):
    html = browser.get("/login").get_data(as_text=True)
    assert 'id="live-poll"' not in html
    assert "admin-live.js" not in html


def test_an_error_page_has_no_poller(staff_browser, tenant, make_followup):
    """An error page runs no query of its own: the database may be what failed."""
    make_followup(tenant)
    fresh_request()
    response = staff_browser.get("/admin/followups/999999")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert 'id="live-poll"' not in html
    assert re.search(r"<title>Error 404", html)
