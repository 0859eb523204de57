"""Mail without a server: with no MAIL_SERVER, every email is written whole to a file
under the instance folder's mail/ instead of sent; the request's notifications and
Settings say so."""

import email
import email.policy
import re
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from followup.config import PROJECT_ROOT
from followup.extensions import db
from followup.factory import create_app
from followup.jobs.customer_login import email_login_link
from followup.models import Customer, Notification
from followup.notify import email as notify_email
from followup.services import chats, staff_accounts, tenants
from tests.helpers.apps import app_with_empty_schema
from tests.helpers.staff import PASSWORD, logged_in_browser

START = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
FILE_NAME = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-notification-(\d+)\.eml$")


@pytest.fixture
def smtp_port():
    """A port that listens but never answers: any connection attempt stays in its queue."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        yield listener


def connection_attempts(listener: socket.socket) -> int:
    attempts = 0
    while True:
        try:
            connection, _ = listener.accept()
        except BlockingIOError:
            return attempts
        connection.close()
        attempts += 1


@pytest.fixture
def app(database_url, smtp_port, tmp_path):
    """No MAIL_SERVER; MAIL_PORT points at a listener, and sending is not suppressed, so
    an attempt to reach a mail server on this machine would show."""
    with app_with_empty_schema(
        database_url,
        MAIL_SERVER=None,
        MAIL_PORT=smtp_port.getsockname()[1],
        MAIL_SUPPRESS_SEND=False,
    ) as app:
        app.instance_path = str(tmp_path / "instance")
        yield app


@pytest.fixture
def mail_folder(app) -> Path:
    return Path(app.instance_path) / "mail"


def saved(mail_folder: Path) -> list[Path]:
    return sorted(mail_folder.glob("*.eml"))


def read(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def test_mail_server_is_unset_by_default():
    # The code's default, whatever a developer's .env sets (python-dotenv skips it).
    environment = {"PATH": "/usr/bin:/bin", "SECRET_KEY": "x", "PYTHON_DOTENV_DISABLED": "1"}
    shown = subprocess.run(
        [sys.executable, "-c", "from followup.config import Config; print(Config.MAIL_SERVER)"],
        env=environment,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == "None"


def test_the_folder_is_named_from_the_project_as_people_find_it():
    app = create_app()
    with app.app_context():
        assert notify_email.mail_folder_label() == "instance/mail"


def test_emails_are_saved_as_files_and_no_mail_server_is_contacted(
    app, tenant, make_followup, smtp_port, mail_folder
):
    with time_machine.travel(START, tick=False) as clock:
        first = make_followup(tenant, name="Ada Lovelace", email="ada@example.com")
        clock.move_to(START + timedelta(minutes=1))
        second = make_followup(tenant, name="Grace Hopper", email="grace@example.com")

    assert connection_attempts(smtp_port) == 0
    rows = db.session.scalars(select(Notification).order_by(Notification.id)).all()
    files = saved(mail_folder)
    # Named by time, then notification id: a listing is in the order they were written.
    assert [int(FILE_NAME.match(path.name).group(1)) for path in files] == [row.id for row in rows]
    for row, path in zip(rows, files, strict=True):
        assert (row.state, row.attempts, row.last_error) == ("saved_to_file", 1, None)
        assert row.provider_message_id == path.name  # the folder comes from the config
    later = START + timedelta(minutes=1)
    assert [row.sent_at for row in rows] == [START, START, later, later]

    staff_alert, confirmation = read(files[0]), read(files[1])
    assert staff_alert["To"] == "team@acme.example"
    assert staff_alert["Reply-To"] == "ada@example.com"
    assert staff_alert["Subject"] == "New follow-up request from Ada Lovelace"
    assert staff_alert["Message-ID"].startswith(f"<notification-{rows[0].id}-")
    assert staff_alert["Date"] and staff_alert["From"]
    assert f"/admin/followups/{first.id}" in staff_alert.get_body(("plain",)).get_content()
    assert confirmation["To"] == "ada@example.com"
    assert confirmation["Subject"] == "Acme Inc: we received your request"
    assert read(files[3])["To"] == second.email
    assert not list(mail_folder.glob(".*"))  # no half-written file left behind


def test_a_long_instance_path_saves_each_email_once(app, tenant, make_followup):
    """The row keeps the file's name, not its path: however deep the instance folder
    lies, recording the save fits the column, so no retry writes the email again."""
    deep = Path(app.instance_path, "d" * 120, "e" * 120, "instance")
    app.instance_path = str(deep)
    with time_machine.travel(START, tick=False):
        make_followup(tenant)
    rows = db.session.scalars(select(Notification).order_by(Notification.id)).all()
    files = saved(deep / "mail")
    assert [(row.state, row.attempts) for row in rows] == [("saved_to_file", 1)] * 2
    assert [row.provider_message_id for row in rows] == [path.name for path in files]


def test_a_customer_login_link_is_saved_as_a_file_too(app, tenant, mail_folder):
    customer = Customer(tenant_id=tenant.id, email="sam@example.com", name="Sam Carter")
    db.session.add(customer)
    db.session.commit()
    chat = chats.start_chat(tenant.widget_public_key).chat
    with time_machine.travel(START, tick=False):
        email_login_link(chat.id, "sam@example.com", "0" * 64)
    (path,) = saved(mail_folder)
    assert path.name.endswith(f"-login-link-customer-{customer.id}.eml")
    message = read(path)
    assert message["To"] == "sam@example.com"
    assert re.search(r"http://localhost/customer-login/\S+", message.get_content())


def test_the_request_shows_where_its_emails_were_saved(app, tenant, staff, make_followup):
    followup = make_followup(tenant)
    browser = logged_in_browser(app, staff.email)
    panel = browser.get(f"/admin/followups/{followup.id}/notifications", htmx=True)
    text = panel.get_data(as_text=True)
    folder = Path(app.instance_path) / "mail"
    assert text.count(f"Saved to {folder} (no mail server configured)") == 2
    names = [path.name for path in saved(folder)]
    assert re.findall(r'<code class="code-inline">([^<]*)</code>', text) == names
    assert text.count("Saved to file</span>") == 2
    assert "Retry now" not in text
    assert "hx-trigger" not in text  # settled: the pane stops polling


def test_settings_say_emails_are_saved_as_files(app, tenant, staff):
    page = logged_in_browser(app, staff.email).get("/admin/settings").get_data(as_text=True)
    folder = Path(app.instance_path) / "mail"
    assert (
        f"Emails are saved as files in {folder} because no mail server is configured. "
        "Set MAIL_SERVER to send them."
    ) in page


def test_settings_say_nothing_of_files_when_a_mail_server_is_set(database_url, tmp_path):
    with app_with_empty_schema(database_url, MAIL_SERVER="smtp.example.com") as app:
        tenants.create_tenant("acme", "Acme Inc", contact_email="team@acme.example")
        staff_accounts.create_staff_user("acme", "owner@acme.example", PASSWORD)
        page = logged_in_browser(app, "owner@acme.example").get("/admin/settings")
        assert page.status_code == 200
        assert "saved as files" not in page.get_data(as_text=True)


def test_emails_saved_as_files_can_be_sent_once_a_mail_server_is_set(
    app, tenant, staff, make_followup
):
    """What went to the folder is not lost: once MAIL_SERVER is set, staff send it."""
    followup = make_followup(tenant)
    browser = logged_in_browser(app, staff.email)
    panel_url = f"/admin/followups/{followup.id}/notifications"
    assert "Send it now" not in browser.get(panel_url, htmx=True).get_data(as_text=True)
    refused = browser.post(
        f"/admin/followups/{followup.id}/notifications/retry",
        data={"notification_id": staff_email_id(followup.id)},
        htmx=True,
    )
    assert refused.status_code == 409
    assert db.session.scalars(select(Notification.state)).all() == ["saved_to_file"] * 2

    app.config["MAIL_SERVER"] = "127.0.0.1"
    assert browser.get(panel_url, htmx=True).get_data(as_text=True).count("Send it now") == 2
    sent = browser.post(
        f"/admin/followups/{followup.id}/notifications/retry",
        data={"notification_id": staff_email_id(followup.id)},
        htmx=True,
    )
    assert sent.status_code == 200
    # Sent this time, not saved: the test's mail settings reach no server, so it failed
    # and waits for its next try (the file is not written again).
    db.session.expire_all()
    rows = db.session.scalars(select(Notification).order_by(Notification.id)).all()
    assert [(row.channel, row.state, row.attempts) for row in rows] == [
        ("staff_email", "pending", 1),
        ("customer_email", "saved_to_file", 1),
    ]
    assert rows[0].last_error and rows[0].last_error_detail
    assert len(list((Path(app.instance_path) / "mail").glob("*.eml"))) == 2


def staff_email_id(followup_id: int) -> int:
    """The id of the request's email to the team (what "Retry now" posts)."""
    return db.session.scalar(
        select(Notification.id).where(
            Notification.followup_id == followup_id, Notification.channel == "staff_email"
        )
    )
