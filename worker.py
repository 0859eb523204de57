"""The RQ worker with its schedulers: `python worker.py [--queues answers,notifications]`.

Run as many as the load needs; they share the queues through Redis (`REDIS_URL`).
Each serves the queues it is given (`--queues`, else WORKER_QUEUES, else all of them),
always in priority order (`followup.queue.PRIORITY`): customer answers first, then staff
notifications, reminders, and maintenance; then RQ's `default` queue, for jobs queued
before the upgrade to these queues.
Jobs run inside one pushed app context, so they use `db`, `current_app` and the
queue helpers exactly like a request does.

Beside the worker run two helper processes: RQ's scheduler, which moves jobs
queued for later (`enqueue_at`, the notification retries) onto the queue when
due (one worker holds its lock), and RQ's CronScheduler, which queues the
periodic jobs (into the maintenance queue): the notification sweep and the sweeps for
texts still waiting for their answer and for messages still to text every
NOTIFY_SWEEP_INTERVAL_S, and the reminder sweep every REMINDER_SWEEP_INTERVAL_S. The cron
schedule lives in that process, not in Redis, so a Redis flush or restart cannot
lose it.

RQ forks a process for every job; what the notification jobs need is loaded once
here first (`notifications.preload`), so each forked job starts warm.

What it prints: LOG_LEVEL (INFO by default: a line at the end of every job, the sweeps'
included, in LOG_FORMAT; see the README's Logs); `make run` sets WARNING, so only
warnings and errors show.

Stopping: the first SIGTERM/SIGINT lets the job in hand finish, then the worker
stops (RQ's warm shutdown); a second one stops at once, and the notification the
job was sending goes back to the outbox when its lease ends. The job's own process
ignores SIGTERM, so a signal sent to every process of the service (systemd,
`docker stop`) still lets the job finish. SIGUSR1 prints every thread's stack to the
log, for a worker that seems stuck.
"""

import argparse
import faulthandler
import gc
import logging
import multiprocessing
import signal
import time

from redis import Redis, RedisError
from rq import Worker
from rq.cron import CronScheduler
from rq.exceptions import StopRequested

from followup import metrics
from followup.factory import create_app
from followup.jobs.notifications import sweep_notifications, sweep_promises
from followup.jobs.reminders import sweep_due_reminders
from followup.jobs.reports import refresh_reports
from followup.jobs.sms import sweep_sms_answers, sweep_sms_sends
from followup.logs import JobLines, configure_logging
from followup.processes import die_with_parent
from followup.queue import queue_name, queue_named, serving
from followup.services import notifications, reminder_sending

CRON_STOP_TIMEOUT_S = 5
PUBSUB_STOP_TIMEOUT_S = 1
CRON_REDIS_RETRY_S = 2
# Jobs queued before the priority queues, in RQ's own queue: remove in a later release.
LEGACY_QUEUE = "default"

log = logging.getLogger("worker")


class FollowupWorker(JobLines, metrics.JobMetrics, Worker):
    def setup_work_horse_signals(self) -> None:
        super().setup_work_horse_signals()
        # The worker decides when a job stops: warm shutdown waits for it.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def unsubscribe(self) -> None:
        """RQ's, with a bounded wait for the command channel's listener thread.

        redis-py 8's `stop()` waits for that thread, which, once it has seen the
        unsubscribe, waits up to a minute (RQ's `sleep_time`) for a new subscription: the
        worker then took a minute to stop. The thread is a daemon: a late one ends with
        the process."""
        if not self.pubsub_thread:
            return
        self.pubsub.unsubscribe()
        self.pubsub_thread.stop(timeout=PUBSUB_STOP_TIMEOUT_S)
        if not self.pubsub_thread.is_alive():
            self.pubsub.close()


def run_cron(redis_url: str, sweeps: list[tuple], log_level: str) -> None:
    """The periodic jobs, in a child process that ends with the worker.

    `sweeps`: (job, interval_s, job_timeout_s) for each periodic job.
    """
    die_with_parent()
    cron = CronScheduler(connection=Redis.from_url(redis_url), logging_level=log_level)
    for job, interval_s, timeout_s in sweeps:
        cron.register(job, queue_name(job), interval=interval_s, job_timeout=timeout_s)
    while True:
        try:
            cron.start()  # returns on SIGTERM/SIGINT
            return
        except RedisError as exc:
            # Redis is away (restart, network): keep the schedule and carry on when it
            # is back, as the worker itself does.
            log.error("Cron: Redis unavailable (%s); retrying in %ss.", exc, CRON_REDIS_RETRY_S)
        try:
            time.sleep(CRON_REDIS_RETRY_S)
        except StopRequested:  # raised by the cron's signal handler
            return


def _start_cron(app) -> multiprocessing.Process:
    config = app.config
    process = multiprocessing.get_context("fork").Process(
        target=run_cron,
        args=(
            config["REDIS_URL"],
            [
                (
                    sweep_notifications,
                    config["NOTIFY_SWEEP_INTERVAL_S"],
                    config["NOTIFY_JOB_TIMEOUT_S"],
                ),
                (
                    sweep_promises,
                    config["NOTIFY_SWEEP_INTERVAL_S"],
                    config["NOTIFY_JOB_TIMEOUT_S"],
                ),
                (
                    refresh_reports,
                    config["REPORT_REFRESH_INTERVAL_S"],
                    config["REPORT_JOB_TIMEOUT_S"],
                ),
                (
                    sweep_due_reminders,
                    config["REMINDER_SWEEP_INTERVAL_S"],
                    config["REMINDER_JOB_TIMEOUT_S"],
                ),
                (
                    sweep_sms_answers,
                    config["NOTIFY_SWEEP_INTERVAL_S"],
                    config["NOTIFY_JOB_TIMEOUT_S"],
                ),
                (
                    sweep_sms_sends,
                    config["NOTIFY_SWEEP_INTERVAL_S"],
                    config["NOTIFY_JOB_TIMEOUT_S"],
                ),
            ],
            config["LOG_LEVEL"],
        ),
        name="rq-cron",
        daemon=True,
    )
    process.start()
    return process


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the Followup background worker.")
    parser.add_argument(
        "--queues",
        help="the queues to serve, comma-separated (default: WORKER_QUEUES, else all): "
        "answers, notifications, reminders, maintenance",
    )
    return parser.parse_args()


def queue_names(asked: str) -> list[str]:
    """The queues this worker serves: those asked, in priority order, then the legacy one."""
    return [*serving(asked), LEGACY_QUEUE]


def main() -> None:
    arguments = _arguments()
    configure_logging()
    # `kill -USR1 <pid>` prints where each thread of a stuck process is, into the log;
    # the job and helper processes inherit it.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    app = create_app()
    metrics.serve_worker_metrics(app.config)
    with app.app_context():
        try:
            names = queue_names(arguments.queues or app.config["WORKER_QUEUES"])
        except ValueError as exc:
            raise SystemExit(f"worker.py: {exc}") from None
        notifications.preload()
        reminder_sending.preload()
        # Keep what the worker loaded out of the garbage collector's sight: job
        # processes forked from it then do not sweep (and copy) it all again.
        gc.freeze()
        queues = [queue_named(name) for name in names]
        cron = _start_cron(app)
        try:
            worker = FollowupWorker(queues, connection=queues[0].connection)
            worker.work(with_scheduler=True, logging_level=app.config["LOG_LEVEL"])
        finally:
            cron.terminate()
            cron.join(CRON_STOP_TIMEOUT_S)


if __name__ == "__main__":
    main()
