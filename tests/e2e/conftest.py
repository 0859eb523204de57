"""Fixtures for the browser tests: a live server, a clean seeded database, real Chromium.

The server is the real app on a SQLite file, served by werkzeug in a daemon thread
for the whole session; each test empties the tables and seeds its own data from the
test thread (inside an app context of its own), and gets a fresh browser context, so
no cookies or state leak between tests. These tests do not use the root `app`
fixture: they run once, on SQLite.
"""

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from followup.extensions import db
from followup.models import FollowUpRequest, Source
from followup.services import accounts, followups
from tests.conftest import PASSWORD, build_app, empty_tables

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
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
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
            tenant = accounts.create_tenant("acme", "Acme Inc", contact_email="team@acme.example")
            staff = accounts.create_staff_user("acme", STAFF_EMAIL, PASSWORD, name="Olivia Owner")
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


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    database = tmp_path_factory.mktemp("e2e") / "e2e.db"
    # Every test logs in afresh: keep the login rate limit out of the way.
    app = build_app(f"sqlite:///{database}", LOGIN_RATE_LIMIT="1000 per minute")
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    yield LiveServer(app, f"http://127.0.0.1:{server.port}")
    server.shutdown()
    thread.join(timeout=5)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def seeded(live_server) -> dict[str, int]:
    """A clean database with the standard seed; follow-up ids by customer name."""
    return live_server.seed()


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def viewport() -> dict:
    """Tests parametrize this to run at another size."""
    return {"width": 1366, "height": 900}


@pytest.fixture
def page(chromium, live_server, viewport):
    context = chromium.new_context(base_url=live_server.url, viewport=viewport)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
