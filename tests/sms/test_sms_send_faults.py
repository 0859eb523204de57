"""An answer saved is texted, whatever fails between its commit and Twilio: real
`python worker.py` processes, a real Redis, SQLite and PostgreSQL, the fake model and
the local Twilio, which can hold a request open while the test kills the worker.

Real time here (the workers are other processes): a send's lease
(SMS_ANSWER_LEASE_S) is a few seconds and the sweep runs every second; the retry
after a failed send is SEND_RETRY_INTERVALS_S[0] (10 s) away.
"""

from redis import Redis
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from followup.extensions import db
from followup.models import AnswerState, Message, Role, SendState, SmsSend
from followup.queue import JobQueue
from followup.services.sms_sends import SEND_RETRY_INTERVALS_S
from tests.helpers.jobs import WAIT_S, wait_for
from tests.helpers.sms import AGENT_NUMBER, CUSTOMER_NUMBER, answer_states, worker_ready

QUESTION = "Is the shop open today?"
ANSWER = f"You said: {QUESTION}"


def the_answer_delivery() -> tuple[str, int, list | None]:
    """(state, attempts, SIDs) of the AI answer's SMS delivery, as committed."""
    db.session.rollback()
    row = db.session.execute(
        select(SmsSend.state, SmsSend.attempts, Message.sms_sids)
        .join(Message, Message.id == SmsSend.message_id)
        .where(Message.role == Role.AGENT)
    ).one()
    db.session.rollback()
    return tuple(row)


def texts_sent(twilio) -> list[tuple[str, str, str]]:
    return [(m.from_, m.to, m.body) for m in twilio.messages]


def sent(twilio, count: int):
    return lambda: len(twilio.messages) >= count and the_answer_delivery()[0] == SendState.SENT


def test_an_answer_whose_worker_died_before_twilio_took_it_is_texted_once(
    queued_app, agent, sms, twilio, start_worker, settings
):
    first = start_worker()
    wait_for(lambda: worker_ready(settings["REDIS_URL"]), "the worker", first)
    held = twilio.hold_next(accept=False)

    sms.send(QUESTION)
    assert held.arrived.wait(WAIT_S), "the answer never reached Twilio"
    first.kill()  # kill -9 while Twilio has the request but has not taken it
    held.released.set()  # Twilio drops it: its sender is gone
    # The answer is committed and its text marked answered: only its send is left.
    assert answer_states() == [AnswerState.ANSWERED]
    assert the_answer_delivery() == (SendState.SENDING, 1, None)
    assert twilio.messages == []

    second = start_worker()
    wait_for(sent(twilio, 1), "the swept send", second)

    assert texts_sent(twilio) == [(AGENT_NUMBER, CUSTOMER_NUMBER, ANSWER)]
    assert the_answer_delivery() == (SendState.SENT, 2, [twilio.messages[0].sid])


def test_an_answer_twilio_took_from_a_worker_that_died_before_its_sid_is_texted_twice(
    queued_app, agent, sms, twilio, start_worker, settings
):
    """The window that remains (README, "Reliability"): Twilio's Messages API takes no
    idempotency key, so a part Twilio accepted from a sender killed before it saved the
    SID cannot be told from one Twilio never took, and is texted again. Never lost."""
    first = start_worker()
    wait_for(lambda: worker_ready(settings["REDIS_URL"]), "the worker", first)
    held = twilio.hold_next(accept=True)

    sms.send(QUESTION)
    assert held.arrived.wait(WAIT_S), "the answer never reached Twilio"
    first.kill()  # kill -9 after Twilio took the part, before its SID came back
    held.released.set()
    assert the_answer_delivery() == (SendState.SENDING, 1, None)
    assert len(twilio.messages) == 1

    second = start_worker()
    wait_for(sent(twilio, 2), "the swept send", second)

    assert texts_sent(twilio) == [(AGENT_NUMBER, CUSTOMER_NUMBER, ANSWER)] * 2
    assert the_answer_delivery() == (SendState.SENT, 2, [twilio.messages[1].sid])


def retry_scheduled(redis_url: str) -> bool:
    with Redis.from_url(redis_url) as connection:
        return ScheduledJobRegistry(JobQueue.ANSWERS, connection=connection).count == 1


def test_an_answer_whose_retry_redis_lost_in_a_restart_is_texted_once(
    queued_app, agent, sms, twilio, start_worker, settings, private_redis
):
    settings["REDIS_URL"] = queued_app.config["REDIS_URL"] = private_redis.url
    first = start_worker()
    wait_for(lambda: worker_ready(private_redis.url), "the worker", first)
    twilio.fail_next(100, 503)  # Twilio busy until the test says otherwise

    sms.send(QUESTION)
    wait_for(lambda: retry_scheduled(private_redis.url), "the send's retry in Redis", first)
    first.kill()
    private_redis.restart_empty()  # the retry's job is gone
    assert the_answer_delivery() == (SendState.TO_SEND, 1, None)
    twilio.reset()  # Twilio answers again

    second = start_worker()
    wait_for(
        sent(twilio, 1), "the retried send", second, timeout_s=SEND_RETRY_INTERVALS_S[0] + WAIT_S
    )

    assert texts_sent(twilio) == [(AGENT_NUMBER, CUSTOMER_NUMBER, ANSWER)]
    assert len(twilio.requests) == 1  # since Twilio is back: the retry alone
    assert the_answer_delivery() == (SendState.SENT, 2, [twilio.messages[0].sid])
