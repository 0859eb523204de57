""" "Forgot password?" only queues a job, the same for anyone: the job looks the member up
and writes the link and its email to the outbox. RQ's description names nobody (it is
logged by the worker)."""

from rq import Queue
from sqlalchemy import select

from followup.extensions import db
from followup.models import Notification, StaffToken
from followup.queue import PASSWORD_RESET_DESCRIPTION, JobQueue
from followup.services import team


def test_the_page_queues_one_job_for_anyone_and_the_job_emails_members_only(
    app, tenant, staff, redis_db
):
    for address in (staff.email, "nobody@acme.example"):
        team.request_password_reset(address)
    jobs = Queue(JobQueue.ANSWERS, connection=redis_db).jobs
    assert [job.description for job in jobs] == [PASSWORD_RESET_DESCRIPTION] * 2
    assert db.session.scalar(select(StaffToken.id)) is None  # the page wrote nothing
    for job in jobs:
        job.perform()
    db.session.expire_all()
    rows = db.session.scalars(select(Notification)).all()
    assert [(row.kind, row.recipient) for row in rows] == [("password_reset", staff.email)]
