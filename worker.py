"""The RQ worker with its scheduler: `python worker.py`.

Run as many as the load needs; they share the queue through Redis (`REDIS_URL`).
Jobs run inside one pushed app context, so they use `db`, `current_app` and the
queue helpers exactly like a request does. RQ's own signal handlers stay in
place: the first SIGTERM/SIGINT finishes the current job and stops (warm
shutdown), a second one stops at once.
"""

from rq import Worker

from followup import create_app
from followup.jobs import default_queue


def main() -> None:
    app = create_app()
    with app.app_context():
        queue = default_queue()
        worker = Worker([queue], connection=queue.connection)
        # The scheduler moves jobs enqueued with enqueue_at/enqueue_in onto the
        # queue when due; with several workers, one of them holds its lock.
        worker.work(with_scheduler=True)


if __name__ == "__main__":
    main()
