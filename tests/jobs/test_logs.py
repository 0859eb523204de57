"""The operators' log lines: one per request and one per job, as text or JSON lines, the
request id from a request into the jobs it queued, and no customer text, email body,
token or secret in any line of a full run at LOG_LEVEL=DEBUG (the web app in this
process, configured as app.py configures it, and a real `python worker.py`)."""

import json
import logging
import os
import re
import signal

import pytest
from rq import Queue, Retry

from followup.logs import (
    QUIET_LIBRARIES,
    REQUEST_ID_HEADER,
    REQUEST_ID_META,
    JobLines,
    LineFormatter,
    configure_logging,
)
from followup.queue import JobQueue
from followup.services import api_tokens, customer_login, staff_accounts
from tests.helpers.jobs import (
    BurstWorker,
    all_sent,
    app_with_the_fake_model,
    configure_tenant,
    wait_for,
)
from tests.helpers.staff import StaffBrowser, as_a_new_request, logged_in_browser
from tests.helpers.widget import Visitor

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
ONE_DATABASE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
FLOW_REQUEST_ID = "flow-request-0001"


@pytest.fixture
def app(settings, database_url, fake_llm):
    with app_with_the_fake_model(database_url, settings, fake_llm.base_url) as app:
        yield app


@pytest.fixture
def logging_as_in_production(caplog):
    """The test process's logging set up as app.py sets it up; put back afterwards."""
    root = logging.getLogger()
    kept = (list(root.handlers), root.level)
    names = [*QUIET_LIBRARIES, "rq.worker"]
    levels = {name: logging.getLogger(name).level for name in names}

    def configure(level: str = "INFO", log_format: str = "text") -> None:
        # caplog puts the root's level back after this fixture does, as the level it saw
        # first: it must see the level from before, or the next tests run at DEBUG.
        caplog.set_level(level)
        configure_logging(level, log_format)

    yield configure
    root.handlers[:], root.level = kept
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def lines_of(records, event: str) -> list[logging.LogRecord]:
    return [record for record in records if getattr(record, "line_event", None) == event]


# The fake SMTP server (aiosmtpd) logs in this process what it receives: not the app's.
FAKE_SERVERS_LOGGERS = ("mail.log",)


def formatted(records) -> str:
    """Every record of the app as both formats would print it."""
    return "\n".join(
        LineFormatter(log_format).format(record)
        for record in records
        if record.name not in FAKE_SERVERS_LOGGERS
        for log_format in ("text", "json")
    )


# --- the request line --------------------------------------------------------------------------


@ONE_DATABASE
def test_a_request_line_names_the_route_not_the_path_in_text_and_json(
    app, staff, make_followup, tenant, caplog
):
    browser = logged_in_browser(app, staff.email)
    followup = make_followup(tenant)
    caplog.set_level(logging.INFO, logger="followup.requests")
    caplog.clear()
    response = browser.get(
        f"/admin/followups/{followup.id}?q=secret-query",
        headers={REQUEST_ID_HEADER: "proxy-id-12345"},
    )
    assert response.status_code == 200
    assert response.headers[REQUEST_ID_HEADER] == "proxy-id-12345"
    (record,) = lines_of(caplog.records, "request")

    text = LineFormatter("text").format(record)
    assert re.fullmatch(
        STAMP + r" INFO request id=proxy-id-12345 method=GET "
        r"route=/admin/followups/<int:followup_id> status=200 ms=\d+ tenant=" + str(tenant.id),
        text,
    ), text
    line = json.loads(LineFormatter("json").format(record))
    assert re.fullmatch(STAMP, line.pop("time"))
    assert line.pop("ms") >= 0
    assert line == {
        "level": "INFO",
        "event": "request",
        "id": "proxy-id-12345",
        "method": "GET",
        "route": "/admin/followups/<int:followup_id>",
        "status": 200,
        "tenant": tenant.id,
    }
    assert "secret-query" not in text


@ONE_DATABASE
@pytest.mark.parametrize(
    "incoming", [None, "short", "has spaces in it", "x" * 65, 'quote"d-id-1234', "ok-id status=200"]
)
def test_a_missing_or_odd_request_id_is_replaced_by_a_new_one(app, incoming, caplog):
    caplog.set_level(logging.INFO, logger="followup.requests")
    headers = {} if incoming is None else {REQUEST_ID_HEADER: incoming}
    response = app.test_client().get("/login", headers=headers)
    given = response.headers[REQUEST_ID_HEADER]
    assert re.fullmatch(r"[0-9a-f]{24}", given)
    (record,) = lines_of(caplog.records, "request")
    assert record.line_fields["id"] == given
    assert record.line_fields["route"] == "/login"
    assert record.line_fields["tenant"] is None
    assert LineFormatter("text").format(record).endswith(" tenant=-")


@ONE_DATABASE
def test_an_address_without_a_route_and_an_api_call_are_logged_too(app, tenant, caplog):
    caplog.set_level(logging.INFO, logger="followup.requests")
    token = api_tokens.create_api_token(tenant.slug, "logs")
    client = app.test_client()
    assert client.get("/no/such/page/abc123").status_code == 404
    listed = client.get("/api/v1/followups", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200
    missing, api = [record.line_fields for record in lines_of(caplog.records, "request")]
    assert (missing["route"], missing["status"]) == ("-", 404)
    assert (api["route"], api["status"], api["tenant"]) == ("/api/v1/followups", 200, tenant.id)


def _boom(token: str):
    raise RuntimeError("a view that breaks")


@ONE_DATABASE
def test_an_unhandled_error_is_logged_with_its_route_not_its_path(app, caplog):
    caplog.set_level(logging.INFO)
    app.add_url_rule("/boom/<token>", "boom", _boom)
    response = app.test_client().get("/boom/tok-5f2a9c-secret")
    assert response.status_code == 500
    log = formatted(caplog.records)
    assert "Unhandled error on GET /boom/<token>" in log
    assert "route=/boom/<token> status=500" in log
    assert "tok-5f2a9c-secret" not in log


def test_other_records_get_the_same_time_and_level_in_front(caplog):
    logging.getLogger("followup.example").warning("Notification %s failed", 7)
    (record,) = caplog.records
    assert re.fullmatch(
        STAMP + r" WARNING followup.example: Notification 7 failed",
        LineFormatter("text").format(record),
    )
    line = json.loads(LineFormatter("json").format(record))
    assert (line["level"], line["logger"], line["message"]) == (
        "WARNING",
        "followup.example",
        "Notification 7 failed",
    )


# --- the job line, and the request id carried into it -----------------------------------------


def job_lines(log: str) -> list[dict]:
    return [line for line in map(_json_or_none, log.splitlines()) if line and line.get("event")]


def _json_or_none(text: str) -> dict | None:
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


@ONE_DATABASE
def test_the_request_id_reaches_the_line_of_each_job_the_request_queued(
    app, tenant, settings, start_worker, redis_db
):
    settings["LOG_FORMAT"] = "json"
    token = api_tokens.create_api_token(tenant.slug, "logs")
    response = app.test_client().post(
        "/api/v1/followups",
        json={"name": "Ann Lee", "email": "ann@example.com", "reason": "A quote"},
        headers={"Authorization": f"Bearer {token}", REQUEST_ID_HEADER: FLOW_REQUEST_ID},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    queued = Queue(JobQueue.NOTIFICATIONS, connection=redis_db).jobs
    assert queued and {job.meta[REQUEST_ID_META] for job in queued} == {FLOW_REQUEST_ID}

    worker = start_worker()
    wait_for(all_sent, "the notifications to be sent", worker)

    def delivery_lines():
        return [
            line
            for line in job_lines(worker.log())
            if line["event"] == "job" and line["name"].endswith("deliver_notifications")
        ]

    (line,) = wait_for(delivery_lines, "the delivery job's line", worker)
    assert re.fullmatch(STAMP, line.pop("time"))
    assert isinstance(line.pop("ms"), int)
    assert line == {
        "level": "INFO",
        "event": "job",
        "name": "followup.jobs.notifications.deliver_notifications",
        "queue": "notifications",
        "outcome": "ok",
        "id": queued[0].id,
        "request_id": FLOW_REQUEST_ID,
    }
    # One line per job: RQ's own lines for it (taken, "Job OK") are left out at INFO.
    log = worker.log()
    assert "Job OK" not in log and "Successfully completed" not in log
    assert "Enqueued job sweep_promises" not in log
    assert sum(queued[0].id in text for text in log.splitlines()) == 1
    # The sweeps the cron queues come from no request.
    sweeps = lambda: [  # noqa: E731
        line for line in job_lines(worker.log()) if line.get("name", "").endswith("sweep_promises")
    ]
    assert wait_for(sweeps, "a sweep's line", worker)[0]["request_id"] is None


def succeeds() -> None:
    """A job for the outcome test (RQ imports it by name)."""


def fails() -> None:
    raise RuntimeError("a job that fails")


class LoggedBurstWorker(JobLines, BurstWorker):
    """The tests' in-process worker with worker.py's job lines."""


def test_a_job_line_says_ok_retried_or_failed(redis_db, caplog):
    caplog.set_level(logging.INFO, logger="followup.jobs")
    queue = Queue("logs-test", connection=redis_db)
    done = queue.enqueue(succeeds, meta={REQUEST_ID_META: "request-id-0001"})
    failing = queue.enqueue(fails, retry=Retry(max=1))  # again at once, then no more
    LoggedBurstWorker([queue], connection=redis_db).work(burst=True)

    lines = [record.line_fields for record in lines_of(caplog.records, "job")]
    assert [(line["id"], line["outcome"], line["request_id"]) for line in lines] == [
        (done.id, "ok", "request-id-0001"),
        (failing.id, "retried", None),
        (failing.id, "failed", None),
    ]
    assert {line["name"] for line in lines} == {f"{__name__}.succeeds", f"{__name__}.fails"}
    assert all(line["queue"] == "logs-test" and line["ms"] >= 0 for line in lines)
    failed = [record for record in lines_of(caplog.records, "job") if record.levelname != "INFO"]
    assert [record.levelname for record in failed] == ["WARNING"]


# By the name the worker imports it by (pytest may import this file under another).
DIES = "tests.jobs.test_logs.dies"


def dies() -> None:
    """A job whose process is killed (out of memory, say): it writes no line itself."""
    os.kill(os.getpid(), signal.SIGKILL)


@ONE_DATABASE
def test_a_job_whose_process_died_still_gets_its_failed_line(app, start_worker, redis_db):
    worker = start_worker()
    job = Queue("default", connection=redis_db).enqueue(
        DIES, meta={REQUEST_ID_META: "request-id-0002"}
    )
    line = re.compile(
        rf"^{STAMP} WARNING job name={DIES} queue=default outcome=failed ms=- "
        rf"id={job.id} request_id=request-id-0002$",
        re.MULTILINE,
    )
    wait_for(lambda: line.search(worker.log()), "the dead job's line", worker)


# --- nothing secret in any line of a full run ---------------------------------------------------

PLANTED = {
    "chat text": "Planted chat text: my locker code is 7319-zebra",
    "follow-up name": "Plantedname Quokka",
    "follow-up email": "planted.quokka@example.com",
    "follow-up phone": "+14155550177",
    "follow-up reason": "Planted reason: repaint the violet gazebo",
    "staff password": "Planted-Pass phrase 8841",
    "wrong password": "Planted-Wrong guess 5521",
    "customer email": "planted.customer@example.com",
}


def mail_link(smtp, address: str, pattern: str) -> str:
    def found():
        for mail in smtp.received():
            if address in mail.rcpt_tos:
                match = re.search(pattern, mail.part("plain"))
                if match:
                    return match.group(1)
        return None

    return found


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_full_run_at_debug_logs_no_customer_text_token_or_secret(
    app, tenant, settings, start_worker, smtp, twilio, caplog, logging_as_in_production
):
    settings["LOG_LEVEL"] = "DEBUG"
    logging_as_in_production("DEBUG", "text")
    caplog.set_level(logging.DEBUG)
    configure_tenant(tenant, contact_phone="+14155550123", sms_enabled=True)
    staff_accounts.create_staff_user(
        tenant.slug, "planted.staff@acme.example", PLANTED["staff password"], name="Sam"
    )
    customer_login.add_customer_with_email(tenant.id, PLANTED["customer email"], "Cleo", None)
    token = api_tokens.create_api_token(tenant.slug, "planted")
    worker = start_worker()

    # A staff login, a wrong password first.
    browser = StaffBrowser(app.test_client())
    assert browser.login("planted.staff@acme.example", PLANTED["wrong password"]).status_code != 303
    assert browser.login("planted.staff@acme.example", PLANTED["staff password"]).status_code == 303
    as_a_new_request()

    # A follow-up through the API: the staff email and SMS, the customer's confirmation.
    created = app.test_client().post(
        "/api/v1/followups",
        json={
            "name": PLANTED["follow-up name"],
            "email": PLANTED["follow-up email"],
            "phone": PLANTED["follow-up phone"],
            "reason": PLANTED["follow-up reason"],
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201, created.get_data(as_text=True)

    # The widget: a chat, then a login link for a known customer, opened.
    visitor = Visitor(app.test_client(), tenant)
    visitor.start()
    events = visitor.say(PLANTED["chat text"])
    assert events[-1][0] == "done"
    asked = visitor.post("login", {"email": PLANTED["customer email"]})
    assert asked.status_code == 200
    login_token = wait_for(
        mail_link(smtp, PLANTED["customer email"], r"/customer-login/(\S+)"),
        "the login link email",
        worker,
    )
    assert app.test_client().get(f"/customer-login/{login_token}").status_code == 200

    # A password reset, its link opened.
    as_a_new_request()
    resetting = StaffBrowser(app.test_client())
    resetting.refresh_csrf("/forgot-password")
    reset = resetting.post("/forgot-password", {"email": "planted.staff@acme.example"})
    assert reset.status_code == 200
    reset_token = wait_for(
        mail_link(smtp, "planted.staff@acme.example", r"/reset-password/([\w-]+)"),
        "the reset email",
        worker,
    )
    assert app.test_client().get(f"/reset-password/{reset_token}").status_code == 200
    wait_for(all_sent, "every notification to be sent", worker)
    assert twilio.messages  # the staff SMS went out

    secrets_of_the_run = {
        **PLANTED,
        "phone as shown": "415-555-0177",
        "phone's digits": "4155550177",
        "API token": token,
        "widget session token": visitor.token,
        "login link token": login_token,
        "reset token": reset_token,
        "secret key": app.config["SECRET_KEY"],
        "Twilio auth token": twilio.auth_token,
    }
    worker_log = worker.log()
    web_log = formatted(caplog.records)
    # Not vacuous: both logs have their lines, and the worker printed at DEBUG.
    requests = [record.line_fields for record in lines_of(caplog.records, "request")]
    assert len(requests) >= 8
    widget = [
        line
        for line in requests
        # The stream's line is written as it starts, before it reads the chat.
        if line["route"].startswith("/w/<public_key>/chats/") and "stream" not in line["route"]
    ]
    assert widget and {line["tenant"] for line in widget} == {tenant.id}
    assert re.search(
        rf"^{STAMP} INFO job name=followup.jobs.customer_login.email_login_link queue=answers "
        rf"outcome=ok ms=\d+ id=[\w-]+ request_id={asked.headers[REQUEST_ID_HEADER]}$",
        worker_log,
        re.MULTILINE,
    ), worker_log[-3000:]
    assert " job name=followup.jobs.notifications.deliver_notifications " in worker_log
    assert " DEBUG rq." in worker_log
    for what, value in secrets_of_the_run.items():
        assert value not in web_log, f"the web's log shows the {what}"
        assert value not in worker_log, f"the worker's log shows the {what}"
