"""The team inbox on the Follow-Up Requests page (issue 14): assign (to me, to a member),
priority, the timeline's notes, the list's filters and initials, and the bulk bar, each
as an HTMX swap and as a plain form post."""

import json
import re
from datetime import timedelta

import pytest

from followup.extensions import db
from followup.models import FollowUpActivity, FollowUpRequest, Status
from followup.services import activity, followups, staff_accounts
from followup.services.followups import Actor
from tests.helpers.templates import assert_rendered

MEMBER_PASSWORD = "a long enough password"
DETAIL = "admin/followups/_detail.html"


@pytest.fixture
def agent(tenant):
    return staff_accounts.create_staff_user(
        "acme", "agent@acme.example", MEMBER_PASSWORD, name="Aaron Agent"
    )


def stored(followup_id: int) -> FollowUpRequest:
    db.session.expire_all()
    return db.session.get(FollowUpRequest, followup_id)


def html_of(response) -> str:
    return response.get_data(as_text=True)


def test_assign_to_me_swaps_the_pane_and_refreshes_the_list(
    staff_browser, tenant, staff, make_followup
):
    followup = make_followup(tenant)
    page = html_of(staff_browser.get(f"/admin/followups/{followup.id}"))
    assert 'id="assign-to-me"' in page and f'name="assignee_id" value="{staff.id}"' in page
    with assert_rendered(staff_browser, DETAIL):
        response = staff_browser.post(
            f"/admin/followups/{followup.id}/assign", data={"assignee_id": staff.id}, htmx=True
        )
    assert response.status_code == 200
    assert json.loads(response.headers["HX-Trigger"]) == {"followups-changed": True}
    html = html_of(response)
    assert 'id="assign-to-me"' not in html  # theirs now
    assert f'<option value="{staff.id}" selected>Olivia Owner (you)</option>' in html
    assert re.search(r"Olivia Owner</strong>\s+assigned it to <strong>Olivia Owner</strong>", html)
    assert stored(followup.id).assignee_id == staff.id


def test_assigning_someone_of_another_tenant_is_refused_in_the_pane(
    staff_browser, tenant, other_tenant, make_followup
):
    followup = make_followup(tenant)
    outsider = staff_accounts.create_staff_user("globex", "g@globex.example", MEMBER_PASSWORD)
    url = f"/admin/followups/{followup.id}/assign"
    with assert_rendered(staff_browser, DETAIL):
        response = staff_browser.post(url, data={"assignee_id": outsider.id}, htmx=True)
    assert response.status_code == 200
    assert "Assignee: choose an active member of your team." in html_of(response)
    plain = staff_browser.post(url, data={"assignee_id": outsider.id})
    assert plain.status_code == 422 and 'id="assign-refused"' in html_of(plain)
    assert stored(followup.id).assignee_id is None


def test_priority_as_a_plain_form_post_goes_to_the_request(staff_browser, tenant, make_followup):
    followup = make_followup(tenant)
    url = f"/admin/followups/{followup.id}/priority"
    response = staff_browser.post(url, data={"priority": "high"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/admin/followups/{followup.id}")
    assert stored(followup.id).priority == "high"
    refused = staff_browser.post(url, data={"priority": "urgent"}, htmx=True)
    assert "Priority: use normal or high." in html_of(refused)
    assert stored(followup.id).priority == "high"


def test_a_note_is_added_escaped_with_its_links_clickable(staff_browser, tenant, make_followup):
    followup = make_followup(tenant)
    typed = "Quote: https://acme.example/q/7 <script>x</script>"
    with assert_rendered(staff_browser, DETAIL):
        response = staff_browser.post(
            f"/admin/followups/{followup.id}/timeline/notes", data={"text": typed}, htmx=True
        )
    html = html_of(response)
    assert '<a href="https://acme.example/q/7" rel="noopener noreferrer nofollow"' in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x" not in html
    assert "<summary>Edit</summary>" in html  # one's own, just written
    (note,) = activity.notes_of(tenant.id, followup.id)
    assert note.text == typed


def test_an_empty_note_is_refused_keeping_nothing_and_saying_why(
    staff_browser, tenant, make_followup
):
    followup = make_followup(tenant)
    url = f"/admin/followups/{followup.id}/timeline/notes"
    response = staff_browser.post(url, data={"text": "   "})
    assert response.status_code == 422
    assert "Note: please fill this in." in html_of(response)
    assert db.session.query(FollowUpActivity).count() == 0


def test_an_edit_from_a_stale_view_shows_the_note_as_it_is_now_and_keeps_the_typed_text(
    staff_browser, tenant, staff, make_followup
):
    followup = make_followup(tenant)
    me = Actor(staff.display_name, staff.id)
    note = activity.add_note(followup, "First words", me)
    activity.edit_note(tenant.id, followup.id, note.id, "Words from my other tab", me, 0)
    url = f"/admin/followups/{followup.id}/timeline/notes/{note.id}"
    with assert_rendered(staff_browser, DETAIL):
        response = staff_browser.post(url, data={"text": "Stale edit", "version": "0"}, htmx=True)
    html = html_of(response)
    assert 'id="note-conflict"' in html
    assert '<div class="note-text">Words from my other tab</div>' in html
    assert ">Stale edit</textarea>" in html
    plain = staff_browser.post(url, data={"text": "Stale edit", "version": "0"})
    assert plain.status_code == 409
    delete = staff_browser.post(f"{url}/delete", data={"version": "1"}, htmx=True)
    assert delete.status_code == 200 and activity.notes_of(tenant.id, followup.id) == []


def test_someone_elses_note_cannot_be_edited_and_shows_no_edit_form(
    staff_browser, tenant, agent, make_followup
):
    followup = make_followup(tenant)
    theirs = activity.add_note(followup, "Agent's words", Actor(agent.display_name, agent.id))
    page = html_of(staff_browser.get(f"/admin/followups/{followup.id}", htmx=True))
    assert "Agent&#39;s words" in page and "<summary>Edit</summary>" not in page
    url = f"/admin/followups/{followup.id}/timeline/notes/{theirs.id}"
    response = staff_browser.post(url, data={"text": "Mine now", "version": "0"})
    assert response.status_code == 403 and "Only its author can change a note." in html_of(response)
    assert activity.notes_of(tenant.id, followup.id)[0].text == "Agent's words"


def test_the_list_filters_live_in_the_url_and_cards_show_initials(
    staff_browser, tenant, staff, agent, make_followup, moved_clock
):
    make_followup(tenant, name="Old Customer", priority="high")
    moved_clock.shift(timedelta(hours=30))
    mine = make_followup(tenant, name="My Customer")
    voice = make_followup(tenant, name="Voice Customer", source="voice")
    followups.assign(tenant.id, mine.id, staff.id, Actor("x", staff.id))
    followups.assign(tenant.id, voice.id, agent.id, Actor("x", staff.id))

    def names(query: str) -> list[str]:
        with assert_rendered(staff_browser, "admin/followups/_list.html"):
            html = html_of(staff_browser.get(f"/admin/followups?{query}", htmx=True))
        return re.findall(r'<span class="card-name">(.*?)</span>', html)

    assert names("assignee=mine") == ["My Customer"]
    assert names("assignee=unassigned") == ["Old Customer"]
    assert names("overdue=1") == ["Old Customer"]
    assert names("priority=high") == ["Old Customer"]
    assert names("source=voice") == ["Voice Customer"]
    page = html_of(staff_browser.get("/admin/followups?assignee=mine&overdue=1"))
    assert '<option value="mine" selected>Mine</option>' in page
    assert 'id="overdue-filter" name="overdue" value="1" checked' in page
    everyone = html_of(staff_browser.get("/admin/followups"))
    assert 'title="Assigned to Aaron Agent">AA<' in everyone
    assert 'title="Assigned to Olivia Owner">OO<' in everyone
    assert f'href="/admin/followups/{mine.id}?assignee=mine"' in html_of(
        staff_browser.get("/admin/followups?assignee=mine")
    )
    assert staff_browser.get("/admin/followups?assignee=theirs").status_code == 422


def test_bulk_status_reports_the_refused_and_changes_the_rest(staff_browser, tenant, make_followup):
    open_one, closed = make_followup(tenant, name="Open One"), make_followup(tenant, name="Done")
    followups.change_status(tenant.id, closed.id, Status.CANCELLED, Actor("x"))
    data = {"ids": [open_one.id, closed.id], "action": "status", "status": "contacted"}
    with assert_rendered(staff_browser, "admin/followups/_bulk_outcome.html"):
        response = staff_browser.post("/admin/followups/bulk", data=data, htmx=True)
    assert response.status_code == 200
    assert json.loads(response.headers["HX-Trigger"]) == {"followups-changed": True}
    html = html_of(response)
    assert "1 request updated." in html
    assert (
        "<strong>Done</strong>: This request is cancelled, a final status; it cannot be changed."
        in html
    )
    assert (stored(open_one.id).status, stored(closed.id).status) == ("contacted", "cancelled")


def test_bulk_assign_as_a_plain_form_post_shows_the_page_with_the_outcome(
    staff_browser, tenant, agent, make_followup
):
    ids = [make_followup(tenant).id for _ in range(3)]
    data = {"ids": ids, "action": "assign", "assignee_id": agent.id}
    page = ("admin/followups/_list.html", "admin/followups/page.html")
    with assert_rendered(staff_browser, *page):
        response = staff_browser.post("/admin/followups/bulk", data=data)
    assert response.status_code == 200 and "3 requests updated." in html_of(response)
    assert [stored(i).assignee_id for i in ids] == [agent.id] * 3
    nothing = staff_browser.post("/admin/followups/bulk", data={"action": "assign"}, htmx=True)
    assert nothing.status_code == 422
    assert "Nothing changed: Selection: select one request or more." in html_of(nothing)
