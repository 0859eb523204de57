"""The login-link email as a queued job in a real Redis, sent over SMTP to the fake
server by an RQ worker in this process (`SimpleWorker`, in the test's app context):
the request does the same work for any email, and a failed send is retried soon."""

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
from rq import Queue
from rq.registry import ScheduledJobRegistry
from sqlalchemy import event, select

from followup.clock import utcnow
from followup.extensions import db
from followup.models import CustomerLoginToken
from followup.queue import LOGIN_LINK_DESCRIPTION, LOGIN_LINK_RETRY_INTERVALS_S, JobQueue
from followup.services import chats, customer_login
from tests.helpers.jobs import work_off

EMAIL = "maria@example.com"
STRANGER = "stranger@example.com"


@pytest.fixture
def customer(tenant):
    found = customer_login.add_customer_with_email(tenant.id, EMAIL, "Maria Garcia", None)
    db.session.commit()
    return found


@pytest.fixture
def chat(tenant, customer):
    chat = chats.start_chat(tenant.widget_public_key).chat
    return chat


@pytest.fixture
def answers(redis_db) -> Queue:
    return Queue(JobQueue.ANSWERS, connection=redis_db)


@contextmanager
def counted_statements():
    """The SQL statements run inside the block, as a list that fills in."""
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def work_of_asking(chat, answers: Queue, email: str) -> tuple[int, int]:
    """(SQL statements run, jobs queued) by one request for a login link."""
    db.session.commit()  # the same start for each: nothing pending, the chat expired
    jobs_before = answers.count
    with counted_statements() as statements:
        customer_login.request_login_link(chat, email)
    return len(statements), answers.count - jobs_before


def test_asking_does_the_same_work_for_a_customers_email_and_a_strangers(app, chat, answers):
    """Time would tell them apart if the work differed: it does not (the job looks the
    customer up), and the job's description in the worker's log names nobody."""
    known = work_of_asking(chat, answers, EMAIL)
    unknown = work_of_asking(chat, answers, STRANGER)
    assert known == unknown
    assert known[1] == 1
    jobs = answers.get_jobs()
    assert [job.description for job in jobs] == [LOGIN_LINK_DESCRIPTION] * 2
    assert db.session.scalars(select(CustomerLoginToken)).all() == []  # not before the job


def test_the_job_mails_the_customer_and_nobody_else(app, chat, answers, smtp, redis_db):
    customer_login.request_login_link(chat, STRANGER)
    customer_login.request_login_link(chat, EMAIL)
    work_off(answers, redis_db)
    (sent,) = smtp.received()
    assert sent.rcpt_tos == [EMAIL]
    assert len(db.session.scalars(select(CustomerLoginToken)).all()) == 1


def scheduled_retry(queue: Queue):
    """The one job scheduled for a retry, moved to the queue without waiting for it."""
    registry = ScheduledJobRegistry(queue=queue)
    (job_id,) = registry.get_job_ids()
    job = queue.fetch_job(job_id)
    due = registry.get_scheduled_time(job)
    registry.remove(job)
    queue.enqueue_job(job)
    return job, due


def test_a_failed_send_is_retried_soon_and_the_customer_gets_a_link_that_works(
    app, chat, answers, smtp, redis_db
):
    smtp.data_reply = "451 4.3.0 Try again later"
    code = customer_login.request_login_link(chat, EMAIL)
    before = utcnow()
    work_off(answers, redis_db)
    assert smtp.received() == []

    job, due = scheduled_retry(answers)
    assert job.retries_left == len(LOGIN_LINK_RETRY_INTERVALS_S) - 1
    first_wait = timedelta(seconds=LOGIN_LINK_RETRY_INTERVALS_S[0])
    assert before + first_wait - timedelta(seconds=1) <= due <= utcnow() + first_wait
    smtp.data_reply = None
    work_off(answers, redis_db)

    (sent,) = smtp.received()
    path = re.search(r"https://followup\.example\.test(/customer-login/\S+)", sent.part("plain"))
    db.session.rollback()
    (row,) = db.session.scalars(select(CustomerLoginToken)).all()  # one link, made anew
    assert row.chat_id == chat.id
    logged_in = customer_login.consume_login_link(path.group(1).rsplit("/", 1)[1], code)
    assert logged_in.email == EMAIL
