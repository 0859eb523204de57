"""The request's Notifications section in Chromium: a failed email in staff words with
the technical text folded away, and emails saved as files when no mail server is set.
(The conftest's console guard fails a test on any console error or CSP violation.)"""

from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, expect

from followup.extensions import db, mail
from followup.models import Source, Tenant
from followup.services import followups
from tests.fakes.local_http import closed_port
from tests.helpers.browser import SCREENS, staff_login


@contextmanager
def mail_settings(app, instance_path: Path | None = None, **settings):
    """The live server's mail settings changed for a while (Flask-Mail reads them anew,
    as a restarted server would)."""
    saved = {name: app.config.get(name) for name in settings}
    saved_instance = app.instance_path
    app.config.update(settings)
    app.instance_path = str(instance_path or saved_instance)
    mail.init_app(app)
    try:
        yield
    finally:
        app.config.update(saved)
        app.instance_path = saved_instance
        mail.init_app(app)


def create_request(app, name: str) -> int:
    """A request made as the widget would; its notifications are delivered at once
    (RQ runs jobs in this process here)."""
    with app.app_context():
        tenant = db.session.query(Tenant).filter_by(slug="acme").one()
        data = {"name": name, "email": "sam@example.com", "reason": "Wants a call back."}
        followup_id = followups.create_followup(tenant.id, data, source=Source.TEXT).id
        db.session.remove()
    return followup_id


def test_a_failed_email_in_staff_words_with_the_technical_text_folded(
    page: Page, live_server, seeded
):
    port = closed_port()
    with mail_settings(
        live_server.app,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=port,
        MAIL_SUPPRESS_SEND=False,
        NOTIFY_MAX_ATTEMPTS=1,
    ):
        followup_id = create_request(live_server.app, "Sam Carter")
    staff_login(page, f"/admin/followups/{followup_id}")
    team_email = page.locator('#notifications-panel [data-channel="staff_email"]')
    expect(team_email.locator(".delivery-head")).to_contain_text("Failed")
    expect(team_email.locator(".delivery-error")).to_contain_text(
        f"The mail server refused the connection (127.0.0.1:{port}). Check MAIL_SERVER."
    )
    details = team_email.locator("details.technical-details")
    expect(details.locator("summary")).to_have_text("Technical details")
    expect(details.locator("code")).to_be_hidden()
    SCREENS.mkdir(parents=True, exist_ok=True)
    panel = page.locator("#notifications-panel")
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(SCREENS / "notifications-failed-email.png"))

    details.locator("summary").click()
    expect(details.locator("code")).to_have_text(
        "ConnectionRefusedError: [Errno 111] Connection refused"
    )
    panel.screenshot(path=str(SCREENS / "notifications-failed-email-details-open.png"))


def test_emails_saved_as_files_say_so_on_the_request_and_in_settings(
    page: Page, live_server, seeded, tmp_path
):
    with mail_settings(live_server.app, tmp_path / "instance", MAIL_SERVER=None):
        followup_id = create_request(live_server.app, "Sam Carter")
        staff_login(page, f"/admin/followups/{followup_id}")
        folder = tmp_path / "instance" / "mail"
        deliveries = page.locator("#notifications-panel .delivery")
        expect(deliveries).to_have_count(2)
        for delivery in deliveries.all():
            expect(delivery.locator(".delivery-head")).to_contain_text("Saved to file")
            expect(delivery).to_contain_text(f"Saved to {folder} (no mail server configured)")
            file_name = delivery.locator("code").inner_text()
            assert (folder / file_name).is_file()
        expect(page.locator("#notifications-panel")).not_to_contain_text("Retry now")
        SCREENS.mkdir(parents=True, exist_ok=True)
        panel = page.locator("#notifications-panel")
        panel.scroll_into_view_if_needed()
        panel.screenshot(path=str(SCREENS / "notifications-saved-to-file.png"))

        page.goto("/admin/settings")
        notice = page.locator("#mail-to-files")
        expect(notice).to_have_text(
            f"Emails are saved as files in {folder} because no mail server is configured. "
            "Set MAIL_SERVER to send them."
        )
        page.locator("#business-settings").screenshot(path=str(SCREENS / "settings-mail.png"))
