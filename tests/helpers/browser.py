"""Real Chromium against the live app, for the browser tests: where Chromium is and how
it starts, the live server and its standard seed, logging in as the seeded staff
member, and screenshots to look at (test-artifacts/)."""

import contextlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

from followup.extensions import db
from followup.models import FollowUpRequest, Source
from followup.services import followups, staff_accounts, tenants
from tests.helpers.apps import empty_tables
from tests.helpers.staff import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# A microphone that needs no permission prompt and hears a test tone (the `chromium`
# fixture's option): MediaRecorder records real audio from it.
FAKE_MEDIA_ARGS = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
SCREENS = ARTIFACTS.parent / "screens"
STAFF_EMAIL = "owner@acme.example"

# Oldest first; the page lists newest first, so Katherine is on top and Ada last.
SEED_FOLLOWUPS = [
    {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "reason": "Wants a callback about the analytical engine invoice.",
    },
    {
        "name": "Grace Hopper",
        "email": "grace@example.com",
        "phone": "+1 415 555 0100",
        "reason": "Question about renewing the compiler licence before Friday.",
    },
    {
        "name": "Alan Turing",
        "email": "alan@example.com",
        "reason": "Needs help resetting the password of the bombe console.",
    },
    {
        "name": "Katherine Johnson",
        "email": "katherine@example.com",
        "reason": "Asked for the trajectory report to be re-sent.",
    },
]
ALREADY_CONTACTED = "Katherine Johnson"


@dataclass
class LiveServer:
    app: object
    url: str

    def seed(self, extra_followups: list[dict] | None = None) -> dict[str, int]:
        """A tenant, its owner and some follow-ups; returns follow-up ids by name."""
        with self.app.app_context():
            empty_tables()
            tenant = tenants.create_tenant("acme", "Acme Inc", contact_email="team@acme.example")
            staff = staff_accounts.create_staff_user(
                "acme", STAFF_EMAIL, PASSWORD, name="Olivia Owner"
            )
            ids = {}
            for data in SEED_FOLLOWUPS + (extra_followups or []):
                ids[data["name"]] = followups.create_followup(
                    tenant.id, data, source=Source.TEXT
                ).id
            followups.change_status(
                tenant.id,
                ids[ALREADY_CONTACTED],
                "contacted",
                followups.Actor(staff.display_name, staff.id),
            )
            db.session.remove()
        return ids

    def mark_identity_verified(self, followup_id: int) -> None:
        """As if the request had come with the website's signed identity."""
        with self.app.app_context():
            db.session.get(FollowUpRequest, followup_id).identity_verified = True
            db.session.commit()
            db.session.remove()

    def change_status(self, followup_id: int, status: str) -> None:
        """A change made behind the browser's back, as by another staff member."""
        with self.app.app_context():
            followup = db.session.get(FollowUpRequest, followup_id)
            followups.change_status(
                followup.tenant_id, followup_id, status, followups.Actor("Another Admin")
            )
            db.session.remove()


def staff_login(page: Page, target: str) -> None:
    """Open `target` as the seeded staff member: the login form comes first, then `target`."""
    page.goto(target)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill("#email", STAFF_EMAIL)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(target) + "$"))
    # The URL changes before htmx has wired the page up: typing earlier is lost.
    page.wait_for_load_state("load")


def screenshot(page, name: str, full_page: bool = True) -> None:
    """The page as a person sees it (whole, or the window only), to look at:
    test-artifacts/screens/<name>.png."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=full_page, animations="disabled")


@contextlib.contextmanager
def served(app, name: str) -> Iterator[LiveServer]:
    """`app` on an empty schema, served by a real threaded HTTP server until the end."""
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.port}")
    finally:
        server.shutdown()
        thread.join(timeout=5)
        with app.app_context():
            db.engine.dispose()
