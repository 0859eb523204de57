"""The delivery state on the request's detail panel, "Retry now", and the setting
for the customer confirmation email."""

import re

from followup.extensions import db
from followup.jobs.notifications import deliver_notifications
from tests.helpers.jobs import configure_tenant, outbox_rows, row_of


def panel_of(response) -> str:
    page = response.get_data(as_text=True)
    match = re.search(r'<section class="detail-section notifications".*?</section>', page, re.S)
    assert match, page[:500]
    return match.group(0)


def entry(panel: str, channel: str) -> str:
    """One channel's part of the pane: from its item to the next one."""
    start = panel.index(f'data-channel="{channel}"')
    end = panel.find('role="listitem"', start)
    return panel[start : end if end != -1 else len(panel)]


def test_the_detail_panel_shows_each_channel_and_refreshes_while_on_the_way(
    app, tenant, staff_browser, make_followup
):
    followup = make_followup(tenant)
    panel = panel_of(staff_browser.get(f"/admin/followups/{followup.id}"))
    staff = entry(panel, "staff_email")
    assert "Email to your team" in staff and "team@acme.example" in staff and "Queued" in staff
    assert "Retry now" not in staff
    assert "Confirmation email to the customer" in entry(panel, "customer_email")
    assert 'hx-trigger="every 5s"' in panel  # still on the way: the pane polls itself

    for row in outbox_rows():
        deliver_notifications([row["id"]])
    polled = staff_browser.get(f"/admin/followups/{followup.id}/notifications", htmx=True)
    assert polled.status_code == 200
    panel = polled.get_data(as_text=True)
    assert panel.count("Sent</span>") == 2
    assert "<dt>Sent</dt>" in entry(panel, "staff_email")
    assert "every 5s" not in panel  # settled: no more polling


def test_a_failure_shows_its_error_and_retry_now_sends_it(
    app, tenant, staff_browser, make_followup, smtp
):
    configure_tenant(tenant, customer_confirmation_enabled=False)
    followup = make_followup(tenant)
    smtp.stop()
    deliver_notifications([row_of("staff_email")["id"]])
    smtp.start()

    panel = panel_of(staff_browser.get(f"/admin/followups/{followup.id}"))
    staff = entry(panel, "staff_email")
    assert "Retrying" in staff and "Connection refused" in staff and "Retry now" in staff
    assert "<dt>Attempts</dt><dd>1</dd>" in staff

    response = staff_browser.post(
        f"/admin/followups/{followup.id}/notifications/retry",
        data={"notification_id": row_of("staff_email")["id"]},
        htmx=True,
    )
    assert response.status_code == 200
    assert 'id="notifications-panel"' in response.get_data(as_text=True)
    row = row_of("staff_email")
    assert (row["state"], row["attempts"]) == ("pending", 1)
    deliver_notifications([row["id"]])  # the job "Retry now" queued
    assert row_of("staff_email")["state"] == "sent"
    assert len(smtp.received()) == 1


def test_retry_now_needs_the_csrf_token_and_changes_nothing_without_it(
    app, tenant, staff_browser, make_followup, smtp
):
    followup = make_followup(tenant)
    smtp.stop()
    deliver_notifications([row_of("staff_email")["id"]])
    before = row_of("staff_email")
    response = staff_browser.post(
        f"/admin/followups/{followup.id}/notifications/retry",
        data={"notification_id": row_of("staff_email")["id"]},
        htmx=True,
        csrf=False,
    )
    assert response.status_code == 400
    assert row_of("staff_email") == before


def test_retry_now_refuses_a_sent_notification_and_an_unknown_one(
    app, tenant, staff_browser, make_followup, smtp
):
    followup = make_followup(tenant)
    for row in outbox_rows():
        deliver_notifications([row["id"]])
    url = f"/admin/followups/{followup.id}/notifications/retry"

    response = staff_browser.post(
        url, data={"notification_id": row_of("staff_email")["id"]}, htmx=True
    )
    assert response.status_code == 409
    assert "sent already" in response.get_data(as_text=True)
    response = staff_browser.post(url, data={"notification_id": "pigeon"}, htmx=True)
    assert response.status_code == 422
    assert {row["state"] for row in outbox_rows()} == {"sent"}
    assert len(smtp.received()) == 2


def test_another_tenants_request_is_404_for_the_panel_and_retry(
    app, tenant, other_tenant, staff_browser, make_followup, smtp
):
    theirs = make_followup(other_tenant)
    smtp.stop()
    for row in outbox_rows():
        deliver_notifications([row["id"]])
    before = outbox_rows()
    assert (
        staff_browser.get(f"/admin/followups/{theirs.id}/notifications", htmx=True).status_code
        == 404
    )
    response = staff_browser.post(
        f"/admin/followups/{theirs.id}/notifications/retry",
        data={"notification_id": row_of("staff_email")["id"]},
        htmx=True,
    )
    assert response.status_code == 404
    assert outbox_rows() == before


def test_the_customer_confirmation_setting_is_saved_from_the_settings_panel(
    app, tenant, staff_browser, make_followup
):
    form = staff_browser.get("/admin/followups/settings", htmx=True).get_data(as_text=True)
    assert re.search(r'id="customer_confirmation" name="customer_confirmation" checked', form)
    assert "Send customers a confirmation email" in form

    response = staff_browser.post(
        "/admin/followups/settings",
        data={"enabled": "on", "response_time_hours": "24"},  # the switch turned off
        htmx=True,
    )
    assert response.status_code == 200
    db.session.refresh(tenant)
    assert tenant.customer_confirmation_enabled is False
    make_followup(tenant)
    assert [row["channel"] for row in outbox_rows()] == ["staff_email"]

    staff_browser.post(
        "/admin/followups/settings",
        data={"enabled": "on", "response_time_hours": "24", "customer_confirmation": "on"},
        htmx=True,
    )
    db.session.refresh(tenant)
    assert tenant.customer_confirmation_enabled is True
