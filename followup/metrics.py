"""Prometheus metrics: what is counted, where the counts live, who may read them.

Counted as things happen (this module): requests by route and status and their time,
jobs by kind and outcome, reminders sent or failed, the model's calls, tokens and time.
Read at each scrape (web/metrics.py): queue depths and notifications by state.

Several processes count: gunicorn's workers, the RQ worker and the job processes it
forks. prometheus_client's multiprocess mode adds them up: each process writes its
counts to files in one folder (PROMETHEUS_MULTIPROC_DIR), and a scrape merges the files.
The web's folder belongs to gunicorn's master (`web_server_starting`): the one set in
PROMETHEUS_MULTIPROC_DIR, emptied, else a new private one. Each RQ worker has a folder
of its own and serves it on METRICS_WORKER_PORT (`serve_worker_metrics`): workers may
run on boxes without a web process, and one worker's restart must not wipe the web's
counts. A worker runs one job at a time, so its job processes take turns with one set
of files (`JobMetrics`) rather than leaving files behind for each job.

Without a folder (tests, `flask` commands) a process counts for itself alone.
"""

import atexit
import hmac
import ipaddress
import logging
import os
import shutil
import tempfile
import threading
import time
from enum import StrEnum
from functools import wraps
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from flask import Flask, g, request, request_started
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    values,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

log = logging.getLogger(__name__)

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED_ROUTE = "unmatched"  # a 404 or 405: no URL rule, and the raw path is unbounded
KNOWN_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
OTHER_METHOD = "other"
LOOPBACK_BINDING = "127.0.0.1"
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - only with METRICS_TOKEN set


# --- which file each process counts into ---------------------------------------------------------

_job_process = False


def _process_identity() -> str:
    """The name of this process's files. Job processes share their worker's: it runs one
    at a time, and a file per job would leave thousands for each scrape to read."""
    if _job_process:
        return f"jobs-{os.getppid()}"
    return str(os.getpid())


_multiprocess_value = values.MultiProcessValue(process_identifier=_process_identity)


def _value(*args, **kwargs):
    """prometheus_client chooses file-backed values once, when imported; here a value is
    file-backed whenever the folder is set as it is made (worker.py sets it late)."""
    if os.environ.get(MULTIPROC_DIR):
        return _multiprocess_value(*args, **kwargs)
    return values.MutexValue(*args, **kwargs)


values.ValueClass = _value
# The `_created` series exist only in one process's counts, not in added-up ones: none.
disable_created_metrics()


def in_job_process() -> None:
    """Called in each job process RQ forks: count into the worker's job files."""
    global _job_process
    _job_process = True


# --- the metrics ---------------------------------------------------------------------------------

# Ours alone: the default registry also holds the process and platform collectors,
# which multiprocess mode cannot add up.
OWN = CollectorRegistry()

REQUESTS = Counter(
    "followup_http_requests",
    "HTTP requests answered, by URL rule and status.",
    ["route", "method", "status"],
    registry=OWN,
)
REQUEST_SECONDS = Histogram(
    "followup_http_request_duration_seconds",
    "From the request's start to its last byte (a streamed reply: its whole length).",
    ["route", "method"],
    registry=OWN,
)
JOBS = Counter(
    "followup_jobs",
    "Background jobs run, by job function and outcome.",
    ["kind", "outcome"],
    registry=OWN,
)
REMINDERS = Counter(
    "followup_reminders",
    "Auto follow-up reminders: sent, or failed (tried again later).",
    ["outcome"],
    registry=OWN,
)
LLM_CALLS = Counter(
    "followup_llm_calls",
    "Calls to the model, by outcome.",
    ["outcome"],
    registry=OWN,
)
LLM_TOKENS = Counter(
    "followup_llm_tokens",
    "Tokens the model reported: input (the prompt) and output (its reply).",
    ["direction"],
    registry=OWN,
)
# Labelled, as every metric here: a metric without labels makes its value when this
# module is imported, before gunicorn or the worker sets the multiprocess folder, and it
# then never reaches the shared files.
LLM_SECONDS = Histogram(
    "followup_llm_call_duration_seconds",
    "From asking the model to the end of its reply, by outcome.",
    ["outcome"],
    buckets=(0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, float("inf")),
    registry=OWN,
)


class JobOutcome(StrEnum):
    FINISHED = "finished"
    RETRIED = "retried"  # failed, and RQ runs it again later
    FAILED = "failed"
    STOPPED = "stopped"  # stopped on purpose (`rq` command, shutdown)


class ReminderOutcome(StrEnum):
    SENT = "sent"
    FAILED = "failed"


class LLMOutcome(StrEnum):
    OK = "ok"
    FAILED = "failed"
    ABANDONED = "abandoned"  # the caller stopped reading (a visitor left mid-reply)


# --- requests ------------------------------------------------------------------------------------


def observe_requests(app: Flask) -> None:
    """Count every request the app answers, and time it to its last byte."""
    request_started.connect(_request_started, app)
    app.after_request(_request_answered)


def _request_started(_sender, **_extra) -> None:
    g.metrics_started = time.perf_counter()


def _request_answered(response):
    route = request.url_rule.rule if request.url_rule else UNMATCHED_ROUTE
    # A client may send any method name: the label takes the known ones, so no client
    # can add series without end.
    method = request.method if request.method in KNOWN_METHODS else OTHER_METHOD
    # Counted before the answer leaves: a client that reads it and scrapes finds it.
    REQUESTS.labels(route, method, str(response.status_code)).inc()
    started = g.get("metrics_started")
    if started is not None:
        timer = REQUEST_SECONDS.labels(route, method)
        response.call_on_close(lambda: timer.observe(time.perf_counter() - started))
    return response


# --- jobs, reminders, the model -----------------------------------------------------------------


class JobMetrics:
    """Mixed into the RQ worker class: counts each job by its function and outcome, in the
    job's process (or the worker's, when the job process died)."""

    def setup_work_horse_signals(self) -> None:
        super().setup_work_horse_signals()
        in_job_process()

    def handle_job_success(self, job, queue, started_job_registry) -> None:
        super().handle_job_success(job, queue, started_job_registry)
        JOBS.labels(job.func_name, JobOutcome.FINISHED).inc()

    def handle_job_failure(self, job, queue, started_job_registry=None, exc_string="") -> None:
        if self._stopped_job_id == job.id:  # read before RQ resets it
            outcome = JobOutcome.STOPPED
        else:
            outcome = JobOutcome.RETRIED if job.should_retry else JobOutcome.FAILED
        super().handle_job_failure(job, queue, started_job_registry, exc_string)
        JOBS.labels(job.func_name, outcome).inc()


def count_reminder(outcome: ReminderOutcome) -> None:
    REMINDERS.labels(outcome).inc()


def observe_llm_stream(final_type: type):
    """Decorate a generator of the model's reply whose last event is a `final_type`
    carrying `prompt_tokens` and `completion_tokens`: count the call, its tokens, its time."""

    def decorate(stream):
        @wraps(stream)
        def observed(*args, **kwargs):
            started, outcome = time.perf_counter(), LLMOutcome.ABANDONED
            try:
                for event in stream(*args, **kwargs):
                    if isinstance(event, final_type):
                        outcome = LLMOutcome.OK
                        _count_tokens(event.prompt_tokens, event.completion_tokens)
                    yield event
            except Exception:
                outcome = LLMOutcome.FAILED
                raise
            finally:
                LLM_CALLS.labels(outcome).inc()
                LLM_SECONDS.labels(outcome).observe(time.perf_counter() - started)

        return observed

    return decorate


def _count_tokens(prompt_tokens: int | None, completion_tokens: int | None) -> None:
    if prompt_tokens:
        LLM_TOKENS.labels("input").inc(prompt_tokens)
    if completion_tokens:
        LLM_TOKENS.labels("output").inc(completion_tokens)


# --- who may read them ---------------------------------------------------------------------------


class Refusal(StrEnum):
    DISABLED = "Metrics are turned off here."
    NEEDS_TOKEN = "Metrics need the metrics token, sent as Authorization: Bearer <token>."  # noqa: S105
    NOT_LOCAL = (
        "Metrics are served only to this machine, directly, not through a proxy. "
        "Set a metrics token to read them from elsewhere."
    )


def refusal(config, authorization: str | None, peer: str, forwarded: bool) -> Refusal | None:
    """Why this reader may not read the metrics, or None when it may.

    With METRICS_TOKEN set, the token decides. Without it, only a reader on this machine,
    and not through a proxy: a proxy on this box also connects from loopback (the
    deploy/ examples refuse /metrics as well). `peer` is the connection's address, never
    a forwarded one."""
    if not config["METRICS_ENABLED"]:
        return Refusal.DISABLED
    token = config["METRICS_TOKEN"]
    if token:
        scheme, _, sent = (authorization or "").partition(" ")
        given = sent.strip() if scheme.lower() == "bearer" else ""
        return None if hmac.compare_digest(given.encode(), token.encode()) else Refusal.NEEDS_TOKEN
    return None if _is_loopback(peer) and not forwarded else Refusal.NOT_LOCAL


def _is_loopback(address: str) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    # A server listening on [::] sees IPv4 clients as ::ffff:127.0.0.1.
    mapped = getattr(parsed, "ipv4_mapped", None)
    return (mapped or parsed).is_loopback


def forwarded(environ: dict) -> bool:
    """The request came through a proxy: it says whom for (X-Real-IP: nginx's other way)."""
    names = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")
    return any(environ.get(name) for name in names)


def peer_address(environ: dict) -> str:
    """The address that connected, before any proxy fix rewrote REMOTE_ADDR."""
    original = environ.get("werkzeug.proxy_fix.orig") or {}
    return original.get("REMOTE_ADDR") or environ.get("REMOTE_ADDR", "")


# --- the exposition ------------------------------------------------------------------------------


class _OwnMetrics:
    """This process's counts, for a process without a multiprocess folder."""

    def collect(self):
        return OWN.collect()


def exposition(*collectors) -> bytes:
    """The metrics in Prometheus' text format: every process's counts, then `collectors`
    (read at this scrape)."""
    registry = CollectorRegistry()
    folder = os.environ.get(MULTIPROC_DIR)
    if folder:
        MultiProcessCollector(registry, path=folder)
    else:
        registry.register(_OwnMetrics())
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry)


# --- the web's folder (gunicorn.conf.py's hooks) -------------------------------------------------

_made_folder: list[str] = []


def web_server_starting(_server=None) -> None:
    """gunicorn's master, before its workers: start from an empty folder. The one set in
    PROMETHEUS_MULTIPROC_DIR is emptied; else a new one is made (and removed at exit)."""
    folder = os.environ.get(MULTIPROC_DIR)
    if folder:
        _empty(folder)
        return
    folder = tempfile.mkdtemp(prefix="followup-metrics-web-")
    _made_folder.append(folder)
    os.environ[MULTIPROC_DIR] = folder


def web_worker_exited(_server, worker) -> None:
    """gunicorn's master, when one of its workers ended (as the multiprocess docs ask)."""
    folder = os.environ.get(MULTIPROC_DIR)
    if folder:
        mark_process_dead(worker.pid, folder)


def web_server_stopped(_server=None) -> None:
    for folder in _made_folder:
        shutil.rmtree(folder, ignore_errors=True)
    _made_folder.clear()


def _empty(folder: str) -> None:
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.endswith(".db"):
            os.remove(os.path.join(folder, name))


# --- the worker's own server ---------------------------------------------------------------------


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *_args) -> None:
        pass  # one line per scrape is noise


def serve_worker_metrics(config) -> WSGIServer | None:
    """The RQ worker's metrics on METRICS_WORKER_PORT (0: none), from a folder of its own,
    in a thread. Loopback only, unless METRICS_TOKEN is set. Call before any job runs."""
    port = config["METRICS_WORKER_PORT"]
    if not (config["METRICS_ENABLED"] and port):
        return None
    address = ALL_INTERFACES if config["METRICS_TOKEN"] else LOOPBACK_BINDING
    try:
        server = make_server(
            address, port, _worker_app(config), server_class=_Server, handler_class=_QuietHandler
        )
    except OSError as exc:
        log.warning("No worker metrics: port %s cannot be used (%s).", port, exc.strerror)
        return None
    folder = tempfile.mkdtemp(prefix="followup-metrics-worker-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # not run by job processes
    os.environ[MULTIPROC_DIR] = folder
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


def _worker_app(config):
    def app(environ, start_response):
        refused = refusal(
            config, environ.get("HTTP_AUTHORIZATION"), peer_address(environ), forwarded(environ)
        )
        if environ.get("PATH_INFO", "/") not in ("/", "/metrics") or refused is Refusal.DISABLED:
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"There is nothing at this address: the metrics are at /metrics.\n"]
        if refused:
            start_response("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8")])
            return [f"{refused.value}\n".encode()]
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
        return [exposition()]

    return app
