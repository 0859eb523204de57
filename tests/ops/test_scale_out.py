"""Scale-out, shown: two web processes (gunicorn, each on its own port, as two boxes
behind a load balancer) and three `python worker.py` processes, all on one PostgreSQL
database and one Redis, with one SECRET_KEY.

Customers send follow-up requests through both web processes in turn, by the REST API
and by the widget's API (a widget session opened on one process, its form sent through
the other). Every staff email, staff text and customer confirmation goes out exactly
once. Chats go silent with a one-minute reminder step, made due now by saying the
customers wrote that long ago: every reminder is sent exactly once, whichever of the three
workers' crons swept it. A staff member logged in on one process watches the Follow-Ups
page's live poll on both while each change comes through one of them (the requests, and
the member's own status changes, sent with the other process's CSRF token): every change
reaches both polls.

Waits are polls with deadlines; every process is killed with its session at the end.
"""

import re
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import pytest
import requests
from rq import Queue, Worker
from rq.cron import get_cron_job_ids
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from sqlalchemy import select, update

from followup.clock import utcnow
from followup.extensions import db
from followup.models import Chat, DeliveryState, Message, ReminderSend
from followup.queue import JobQueue
from followup.services import api_tokens, staff_accounts, tenants
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.smtp_server import FakeSmtp
from tests.fakes.twilio_server import FakeTwilio
from tests.helpers.apps import app_with_empty_schema
from tests.helpers.chains import make_agent
from tests.helpers.jobs import (
    PROJECT_ROOT,
    WorkerProcess,
    outbox_rows,
    shared_settings,
    wait_for,
    worker_environment,
)
from tests.helpers.staff import PASSWORD

WEB_PROCESSES = 2
WORKERS = 3
FOLLOWUPS = 8  # half by the REST API, half by the widget's form; alternating processes
SILENT_CHATS = 6
STAFF_INBOX = "team@acme.example"
STAFF_PHONE = "+14155550123"
ORIGIN = "https://shop.example"
STEP_DELAY = timedelta(minutes=1)
REMINDER_STEP = "Check in kindly"
START_S = 40.0  # gunicorn and the workers import the app on a busy 2-core box
DELIVERY_S = 30.0
NOTIFICATION_SWEEP = "followup.jobs.notifications.sweep_notifications"
REMINDER_SWEEP = "followup.jobs.reminders.sweep_due_reminders"


@dataclass
class WebProcess(WorkerProcess):
    """A gunicorn master (one worker process) on its own port; killed with its session."""

    base_url: str

    def url(self, path: str) -> str:
        return self.base_url + path


# --- the processes ------------------------------------------------------------------------------


@pytest.fixture
def database_url(postgres_url) -> str:
    """PostgreSQL only: more than one box cannot share a SQLite file."""
    return postgres_url


@pytest.fixture
def settings(
    database_url: str,
    jobs_redis_url: str,
    smtp: FakeSmtp,
    twilio: FakeTwilio,
    fake_llm: FakeOpenAI,
    redis_db,
) -> dict:
    return shared_settings(database_url, jobs_redis_url, smtp, twilio) | {
        "OPENAI_BASE_URL": fake_llm.base_url,
        "OPENAI_API_KEY": "test-key",
        "LLM_TIMEOUT_S": 10.0,
        # Rate limits counted in the one Redis, as production does.
        "RATELIMIT_STORAGE_URI": jobs_redis_url,
        # Production-like leases and timeouts: this test is about many processes, not
        # about a job killed mid-send (tests/jobs cover that with short ones).
        "NOTIFY_JOB_TIMEOUT_S": 30,
        "NOTIFY_SEND_LEASE_S": 60.0,
        "NOTIFY_SWEEP_INTERVAL_S": 2,
        "REMINDER_SWEEP_INTERVAL_S": 1,
        # A job per due chat: the three workers take them at once, racing as they may.
        "REMINDER_BATCH": 1,
        "REMINDER_JOB_TIMEOUT_S": 30,
    }


@pytest.fixture
def app(settings, database_url):
    with app_with_empty_schema(database_url, **settings, RQ_ASYNC=True) as app:
        yield app


@pytest.fixture
def start_web(settings, tmp_path):
    """Start a gunicorn with the project's gunicorn.conf.py on a port of its own."""
    started: list[WebProcess] = []

    def start() -> WebProcess:
        port = free_port()
        log_path = tmp_path / f"web-{len(started)}.log"
        # One gunicorn worker each: two web processes in all, the least that shows it.
        command = [
            sys.executable, "-m", "gunicorn", "app:app",
            "--config", str(PROJECT_ROOT / "gunicorn.conf.py"),
            "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "8",
        ]  # fmt: skip
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=worker_environment(settings),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        web = WebProcess(process, log_path, f"http://127.0.0.1:{port}")
        started.append(web)
        return web

    yield start
    for web in started:
        web.kill()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def healthy(web: WebProcess) -> bool:
    try:
        return requests.get(web.url("/healthz"), timeout=5).status_code == 200
    except requests.RequestException:  # bound, the app still loading: not yet
        return False


def workers_up(redis_db) -> bool:
    return len(Worker.all(connection=redis_db)) == WORKERS


# --- clients: a customer's and a staff member's ---------------------------------------------------


class StaffOverHttp:
    """A staff member's browser: one login, its cookie sent to either web process.
    PUBLIC_BASE_URL is https (Secure cookies) and these requests are plain HTTP, where
    the proxy's TLS would be: the jar is told to send them anyway."""

    def __init__(self):
        self.http = requests.Session()
        self.csrf_token = ""

    def _keep_cookies(self) -> None:
        for cookie in self.http.cookies:
            cookie.secure = False

    def login(self, web: WebProcess, email: str) -> None:
        page = self.http.get(web.url("/login"), timeout=10).text
        self._keep_cookies()
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        answer = self.http.post(
            web.url("/login"),
            data={"email": email, "password": PASSWORD, "csrf_token": token},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 303, answer.text
        self._keep_cookies()

    def page_version(self, web: WebProcess) -> str:
        """The live version the Follow-Ups page starts from; keeps the page's CSRF token."""
        page = self.http.get(web.url("/admin/followups"), timeout=10)
        assert page.status_code == 200, page.status_code
        self.csrf_token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)[1]
        return re.search(r'id="live-version" name="v" value="([^"]*)"', page.text)[1]

    def mark_contacted(self, web: WebProcess, followup_id: int) -> None:
        answer = self.http.post(
            web.url(f"/admin/followups/{followup_id}/status"),
            data={"status": "contacted"},
            headers={"HX-Request": "true", "X-CSRFToken": self.csrf_token},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text

    def news(self, web: WebProcess, version: str) -> dict | None:
        """The live poll's answer to "anything new since `version`?": None, or the new
        version and pending count."""
        answer = self.http.get(
            web.url(f"/admin/live?v={version}"),
            headers={"HX-Request": "true", "X-Followup-Poll": "1"},
            timeout=10,
        )
        if answer.status_code == 204:
            return None
        assert answer.status_code == 200, answer.status_code
        assert "followups-changed" in answer.headers["HX-Trigger"]
        return {
            "version": re.search(r'id="live-version" name="v" value="([^"]*)"', answer.text)[1],
            "pending": int(re.search(r'data-pending="(\d+)"', answer.text)[1]),
        }


def widget_session(web: WebProcess, public_key: str) -> dict:
    answer = requests.post(
        web.url(f"/api/widget/v1/{public_key}/sessions"),
        json={},
        headers={"Origin": ORIGIN},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def widget_post(web: WebProcess, session: dict, tail: str, body: dict) -> requests.Response:
    return requests.post(
        web.url(f"/api/widget/v1/chats/{session['chat_id']}/{tail}"),
        json=body,
        headers={"Origin": ORIGIN, "Authorization": f"Bearer {session['session_token']}"},
        timeout=20,
    )


def widget_get(web: WebProcess, session: dict, tail: str) -> list[dict]:
    answer = requests.get(
        web.url(f"/api/widget/v1/chats/{session['chat_id']}/{tail}"),
        headers={"Origin": ORIGIN, "Authorization": f"Bearer {session['session_token']}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["messages"]


def customer(n: int) -> dict:
    return {
        "name": f"Customer {n}",
        "email": f"customer{n}@example.com",
        "reason": f"Needs a call about order {n}",
    }


def send_followup(n: int, web: WebProcess, other: WebProcess, api_token: str, key: str) -> int:
    """Request `n` through `web`: by the REST API, or by the widget's form in a session
    that `other` opened (its token is good on every process)."""
    if (n // WEB_PROCESSES) % 2 == 0:
        answer = requests.post(
            web.url("/api/v1/followups"),
            json=customer(n),
            headers={"Authorization": f"Bearer {api_token}"},
            timeout=20,
        )
    else:
        answer = widget_post(web, widget_session(other, key), "followups", customer(n))
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def seen_on_both(staff: StaffOverHttp, webs: list[WebProcess], seen: list[str], what: str) -> int:
    """Wait for the live poll on every web process to report a change since the versions
    in `seen` (updated); the pending count they report, the same on both."""
    pending = set()
    for i, watcher in enumerate(webs):
        news = wait_for(
            lambda i=i, watcher=watcher: staff.news(watcher, seen[i]),
            f"{what} in the live poll on {watcher.base_url}",
        )
        seen[i] = news["version"]
        pending.add(news["pending"])
    assert seen[0] == seen[1]  # one counter in Redis for every process
    (count,) = pending
    return count


# --- what the workers did -------------------------------------------------------------------------


def idle(redis_db, queue: str) -> bool:
    """No job of `queue` waits or runs in any worker."""
    return (
        Queue(queue, connection=redis_db).count == 0
        and StartedJobRegistry(queue, connection=redis_db).count == 0
    )


def swept_since(redis_db, sweep: str, moment: float) -> bool:
    """A sweep queued by a worker's cron after `moment` has finished."""
    jobs = Job.fetch_many(get_cron_job_ids(sweep, redis_db), connection=redis_db)
    return any(
        job
        and job.enqueued_at
        and job.get_status() == JobStatus.FINISHED
        and job.enqueued_at.timestamp() > moment
        for job in jobs
    )


def settled(redis_db, queue: str, sweep: str) -> None:
    """Wait until a sweep that began after now has run and nothing of `queue` is queued
    or running: a duplicate still on its way would have arrived by then."""
    moment = time.time()
    wait_for(
        lambda: swept_since(redis_db, sweep, moment) and idle(redis_db, queue),
        f"a sweep after the sends, and the {queue} queue idle",
        timeout_s=DELIVERY_S,
    )


def every_notification_sent() -> bool:
    """Each request's three: the staff email, the staff text, the confirmation."""
    rows = outbox_rows()
    return len(rows) == 3 * FOLLOWUPS and all(row["state"] == DeliveryState.SENT for row in rows)


def staff_mail_names(smtp: FakeSmtp) -> Counter:
    subjects = [m.message["Subject"] for m in smtp.received() if m.rcpt_tos == [STAFF_INBOX]]
    return Counter(re.search(r"from (Customer \d+)$", subject)[1] for subject in subjects)


def confirmation_addresses(smtp: FakeSmtp) -> Counter:
    return Counter(m.rcpt_tos[0] for m in smtp.received() if m.rcpt_tos != [STAFF_INBOX])


def sms_names(twilio: FakeTwilio) -> Counter:
    return Counter(re.search(r"^Name: (.*)$", sms.body, re.M)[1] for sms in twilio.messages)


def reminders_per_chat(chat_ids: list[int]) -> Counter:
    db.session.expire_all()
    rows = db.session.scalars(
        select(Message.chat_id).where(
            Message.chat_id.in_(chat_ids), Message.reminder_step_id.is_not(None)
        )
    ).all()
    db.session.rollback()  # hold no snapshot while the workers write
    return Counter(rows)


def make_due_now(chat_ids: list[int]) -> None:
    """The customers wrote a step's delay ago: every chain's first reminder is due now."""
    now = utcnow()
    db.session.execute(
        update(Chat)
        .where(Chat.id.in_(chat_ids))
        .values(last_client_message_at=now - STEP_DELAY, chain_due_at=now)
    )
    db.session.commit()


# --- the test -------------------------------------------------------------------------------------


@dataclass
class Business:
    """The tenant as the test set it up: its owner's email, an API token, the widget's key."""

    owner_email: str
    api_token: str
    widget_key: str


def business() -> Business:
    tenant = tenants.create_tenant("acme", "Acme Inc", contact_email=STAFF_INBOX)
    tenant.contact_phone, tenant.sms_enabled = STAFF_PHONE, True
    tenant.allowed_origins = [ORIGIN]
    db.session.commit()
    owner = staff_accounts.create_staff_user("acme", "owner@acme.example", PASSWORD)
    make_agent(tenant, steps=[(1, REMINDER_STEP)])  # working hours: 24/7
    token = api_tokens.create_api_token("acme", "scale-out")
    return Business(owner.email, token, tenant.widget_public_key)


def followups_seen_live(webs: list[WebProcess], acme: Business) -> None:
    """FOLLOWUPS requests through the processes in turn, then a status change through
    each; every change reaches the live poll on both."""
    staff_member = StaffOverHttp()
    staff_member.login(webs[0], acme.owner_email)  # the cookie is good on the other
    seen = [staff_member.page_version(web) for web in webs]
    assert seen[0] == seen[1]
    followup_ids = []
    for n in range(FOLLOWUPS):
        web, other = webs[n % 2], webs[(n + 1) % 2]
        followup_ids.append(send_followup(n, web, other, acme.api_token, acme.widget_key))
        what = f"request {n} (sent to {web.base_url})"
        assert seen_on_both(staff_member, webs, seen, what) == n + 1
    # The staff member's own changes, through each process, with the other's CSRF token.
    for n, web in enumerate(webs):
        staff_member.mark_contacted(web, followup_ids[n])
        what = f"request {n} contacted (through {web.base_url})"
        assert seen_on_both(staff_member, webs, seen, what) == FOLLOWUPS - n - 1
        staff_member.page_version(web)  # this page's token, for the other process


@dataclass
class SilentChat:
    chat_id: int
    session: dict
    answer_id: int  # the agent's answer, after which the customer wrote nothing


def silent_chats(webs: list[WebProcess], acme: Business) -> list[SilentChat]:
    """Chats opened on one process, the customer's message sent through the other, the
    AI's answer the last word: each chain's first reminder is made due now."""
    chats = []
    for n in range(SILENT_CHATS):
        session = widget_session(webs[n % 2], acme.widget_key)
        turn = widget_post(webs[(n + 1) % 2], session, "messages", {"text": f"Blue one {n}?"})
        assert turn.status_code == 200, turn.text
        client, answer = turn.json()["messages"]
        assert (client["role"], answer["role"]) == ("client", "agent")
        chats.append(SilentChat(session["chat_id"], session, answer["id"]))
    make_due_now([chat.chat_id for chat in chats])
    return chats


def notifications_sent_once(smtp: FakeSmtp, twilio: FakeTwilio, redis_db, worker) -> None:
    wait_for(every_notification_sent, "every notification sent", worker, DELIVERY_S)
    settled(redis_db, JobQueue.NOTIFICATIONS, NOTIFICATION_SWEEP)
    names = Counter(f"Customer {n}" for n in range(FOLLOWUPS))
    assert staff_mail_names(smtp) == names
    assert sms_names(twilio) == names
    assert confirmation_addresses(smtp) == Counter(customer(n)["email"] for n in range(FOLLOWUPS))
    assert all(sms.to == STAFF_PHONE for sms in twilio.messages)


def reminders_sent_once(
    chats: list[SilentChat], webs: list[WebProcess], fake_llm: FakeOpenAI, redis_db, worker
) -> None:
    chat_ids = [chat.chat_id for chat in chats]
    wait_for(
        lambda: len(reminders_per_chat(chat_ids)) == SILENT_CHATS,
        "a reminder in every silent chat",
        worker,
        DELIVERY_S,
    )
    settled(redis_db, JobQueue.REMINDERS, REMINDER_SWEEP)
    assert reminders_per_chat(chat_ids) == Counter(dict.fromkeys(chat_ids, 1))
    assert len(db.session.scalars(select(ReminderSend)).all()) == SILENT_CHATS
    db.session.rollback()
    # The model wrote each once, and the customer sees it once, through either process.
    assert len([body for body in fake_llm.requests if REMINDER_STEP in str(body)]) == SILENT_CHATS
    for n, chat in enumerate(chats):
        after = widget_get(webs[n % 2], chat.session, f"messages?after={chat.answer_id}")
        assert [(m["role"], m["content"]) for m in after] == [("agent", f"You said: Blue one {n}?")]


def test_two_web_processes_and_three_workers_send_each_thing_once(
    app, smtp, twilio, fake_llm, redis_db, start_web, start_worker
):
    acme = business()
    webs = [start_web() for _ in range(WEB_PROCESSES)]
    workers = [start_worker() for _ in range(WORKERS)]
    for web in webs:
        wait_for(lambda web=web: healthy(web), f"{web.base_url} to be healthy", web, START_S)
    wait_for(lambda: workers_up(redis_db), "three workers", workers[0], START_S)

    followups_seen_live(webs, acme)
    chats = silent_chats(webs, acme)
    notifications_sent_once(smtp, twilio, redis_db, workers[0])
    reminders_sent_once(chats, webs, fake_llm, redis_db, workers[0])

    # The work was shared: Redis hands each job to the worker that has waited longest.
    assert all(worker.successful_job_count > 0 for worker in Worker.all(connection=redis_db))
    for process in [*webs, *workers]:  # all still up, none hit an error on the way
        assert process.process.poll() is None, process.log()[-3000:]
        assert "Traceback" not in process.log(), process.log()[-3000:]
