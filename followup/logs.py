"""What the processes print, for operators: one line per request and one per job, in a
stable format, and the request id that ties a request to the jobs it queued.

A line is `2026-12-07T10:00:00Z INFO request id=... method=GET route=/admin/followups
status=200 ms=12 tenant=3` (LOG_FORMAT=text, the default), or the same keys as one JSON
object per line (LOG_FORMAT=json). Every other record (warnings, errors, the libraries')
gets the same time and level in front, `logger: message` after (JSON: "logger",
"message").

Nothing a customer wrote, no email body, token or secret may reach a line: the app's own
log calls name rows by id, jobs are described without their arguments (followup/queue.py),
and the libraries that log what they send (bodies, URLs, headers) are held at WARNING
whatever LOG_LEVEL says (`QUIET_LIBRARIES`).

`configure_logging()` runs once per process: in app.py (gunicorn's workers, `flask` commands)
and in worker.py (the worker, its job processes, scheduler and cron)."""

import json
import logging
import re
import secrets
import sys
import time
from datetime import UTC, datetime

from flask import g, has_request_context, request
from gunicorn.glogging import Logger as GunicornBaseLogger
from rq import get_current_job
from rq.job import Job, JobStatus

from followup.config import Config

REQUEST_ID_HEADER = "X-Request-ID"
# Where a job carries the id of the request that queued it (RQ's job.meta).
REQUEST_ID_META = "request_id"
# An incoming X-Request-ID is kept only when it looks like an id (a proxy's, a load
# balancer's): anything longer or with other characters could forge or break a line.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")
_TENANT_KEY = "followup.log_tenant_id"

# Libraries that log what they send at INFO or DEBUG: Twilio the message's number and
# headers, the HTTP clients URLs and bodies (the model's prompt holds the chat),
# werkzeug's dev server each raw URL with its query string.
QUIET_LIBRARIES = (
    "twilio",
    "openai",
    "httpx",
    "httpx2",
    "httpcore",
    "httpcore2",
    "urllib3",
    "werkzeug",
)
# RQ's own lines for each job taken, done and kept, and the cron's for each sweep it
# queues: our job line says it once, with the outcome and duration. Shown again under
# LOG_LEVEL=DEBUG.
_RQ_JOB_MESSAGES = frozenset(
    {
        "Worker %s: %s: %s (%s)",
        "Worker %s: %s: %s",
        "Successfully completed %s job in %ss on worker %s",
        "Successfully completed job %s in %ss on worker %s",
        "Worker %s: job %s result discarded immediately",
        "Worker %s: job %s result is kept for %s seconds",
    }
)
_RQ_CRON_QUEUED = "Enqueued job "

LOG_FORMATS = ("text", "json")


class LineFormatter(logging.Formatter):
    """Our line: time (UTC, to the second), level, then the event and its key=values,
    or the logger and message of any other record."""

    def __init__(self, log_format: str = "text"):
        super().__init__()
        self.json_lines = log_format == "json"

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = getattr(record, "line_event", None)
        if event is not None:
            return self._event_line(stamp, record.levelname, event, record.line_fields)
        message = record.getMessage()
        if record.exc_info:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        if self.json_lines:
            return _json_line(
                {
                    "time": stamp,
                    "level": record.levelname,
                    "logger": record.name,
                    "message": message,
                }
            )
        return f"{stamp} {record.levelname} {record.name}: {message}"

    def _event_line(self, stamp: str, level: str, event: str, fields: dict) -> str:
        if self.json_lines:
            return _json_line({"time": stamp, "level": level, "event": event, **fields})
        pairs = " ".join(f"{key}={_text_value(value)}" for key, value in fields.items())
        return f"{stamp} {level} {event} {pairs}"


def _json_line(fields: dict) -> str:
    return json.dumps(fields, ensure_ascii=False, default=str)


def _text_value(value) -> str:
    if value is None:
        return "-"
    text = str(value)
    # Quoted (as JSON) only when a space, quote or = would make the line ambiguous.
    return json.dumps(text) if not text or re.search(r'[\s"=]', text) else text


def _drop_rq_job_lines(record: logging.LogRecord) -> bool:
    if record.name == "rq.cron":
        return not str(record.msg).startswith(_RQ_CRON_QUEUED)
    return not (record.name == "rq.worker" and record.msg in _RQ_JOB_MESSAGES)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (a test's capture, a redirect)."""

    def __init__(self):
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def configure_logging(level: str | None = None, log_format: str | None = None) -> None:
    """Our handler on the root logger (replacing one set before), at LOG_LEVEL."""
    level = level or Config.LOG_LEVEL
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(LineFormatter(log_format or Config.LOG_FORMAT))
    if level != "DEBUG":
        handler.addFilter(_drop_rq_job_lines)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))


class GunicornLogger(GunicornBaseLogger):
    """gunicorn's own lines (start, workers, errors) in our format (gunicorn.conf.py)."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(LineFormatter(Config.LOG_FORMAT))


# --- the request id ------------------------------------------------------------------------------


def request_id_from(incoming: str | None) -> str:
    """The client's (or proxy's) id when it is a sane token, else a new one."""
    if incoming and _SANE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return secrets.token_hex(12)


def current_request_id() -> str | None:
    """The id of the request being served, or of the request that queued the job being
    run (so a job queued by a job still names the request that started it all)."""
    if has_request_context():
        return g.get("request_id")
    job = get_current_job()
    return job.meta.get(REQUEST_ID_META) if job is not None else None


def job_meta() -> dict:
    """What every job is queued with: the request id, when there is one."""
    request_id = current_request_id()
    return {REQUEST_ID_META: request_id} if request_id else {}


def note_tenant(tenant_id: int) -> None:
    """The business the request is for, for its line (called where the request's
    business is found: staff, API token, widget key)."""
    if has_request_context():
        request.environ[_TENANT_KEY] = tenant_id


def noted_tenant() -> int | None:
    return request.environ.get(_TENANT_KEY)


def log_request(fields: dict) -> None:
    logging.getLogger("followup.requests").info(
        "request", extra={"line_event": "request", "line_fields": fields}
    )


# --- the job line --------------------------------------------------------------------------------


def _outcome(job: Job) -> str:
    status = job.get_status(refresh=False)
    if status == JobStatus.FINISHED:
        return "ok"
    if status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
        return "retried"  # RQ's Retry put it back
    return "failed"


def log_job(job: Job, queue_name: str, outcome: str, ms: int | None) -> None:
    fields = {
        "name": job.func_name,
        "queue": queue_name,
        "outcome": outcome,
        "ms": ms,
        "id": job.id,
        "request_id": job.meta.get(REQUEST_ID_META),
    }
    level = logging.INFO if outcome != "failed" else logging.WARNING
    logging.getLogger("followup.jobs").log(
        level, "job", extra={"line_event": "job", "line_fields": fields}
    )


class JobLines:
    """A line at the end of every job, for an RQ Worker class (worker.py's)."""

    def perform_job(self, job: Job, queue) -> bool:
        started = time.monotonic()
        try:
            return super().perform_job(job, queue)
        finally:
            log_job(job, queue.name, _outcome(job), round((time.monotonic() - started) * 1000))

    def handle_work_horse_killed(self, job: Job, retpid, ret_val, rusage) -> None:
        # The job's process died (killed, out of memory): it wrote no line of its own.
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)
        log_job(job, job.origin, "failed", None)
