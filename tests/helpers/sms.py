"""The SMS channel in tests: the numbers, Twilio's settings pointing at the local
server, inbound texts posted to the webhook signed exactly as Twilio signs them
(`RequestValidator.compute_signature` over the public URL and the form parameters),
what the texts left in the database, and what the fault tests' workers share."""

import secrets
from dataclasses import dataclass

from flask.testing import FlaskClient
from redis import Redis
from rq import Worker
from rq.scheduler import RQScheduler
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from followup.extensions import db
from followup.models import Chat, Message, SmsAnswer
from followup.queue import JobQueue
from tests.helpers.jobs import TWILIO_FROM

PUBLIC_BASE_URL = "https://followup.example.test"
WEBHOOK_PATH = "/hooks/twilio/sms"
WEBHOOK_URL = PUBLIC_BASE_URL + WEBHOOK_PATH
AGENT_NUMBER = "+14155550150"
CUSTOMER_NUMBER = "+14155550177"

# The fault tests' workers: a lease of a few seconds and a sweep every second, so what
# a killed worker or an emptied Redis left behind is done again within a test's wait.
LEASE_S = 5.0
# libpq names the worker's connections so a test can drop them and no other.
WORKER_APP_NAME = "followup-test-worker"


def twilio_settings(twilio) -> dict:
    return {
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_FROM_NUMBER": TWILIO_FROM,
        "TWILIO_API_BASE": twilio.base_url,
    }


def twilio_params(body: str, from_: str, to: str, sid: str | None = None) -> dict[str, str]:
    """The form Twilio posts for an inbound SMS (the fields it always sends)."""
    # Fresh each time: the webhook takes each MessageSid once, and Redis outlives a run.
    sid = sid or "SM" + secrets.token_hex(16)
    return {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "SAN FRANCISCO",
        "FromZip": "94105",
        "SmsSid": sid,
        "FromState": "CA",
        "SmsStatus": "received",
        "FromCity": "SAN FRANCISCO",
        "Body": body,
        "FromCountry": "US",
        "To": to,
        "ToZip": "94105",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": from_,
        "ApiVersion": "2010-04-01",
    }


@dataclass
class InboundSms:
    client: FlaskClient
    auth_token: str

    def signature(self, params: dict, url: str = WEBHOOK_URL, token: str | None = None) -> str:
        return RequestValidator(token or self.auth_token).compute_signature(url, params)

    def post(self, params: dict, signature: str | None, **kwargs):
        headers = {"X-Twilio-Signature": signature} if signature is not None else {}
        return self.client.post(WEBHOOK_PATH, data=params, headers=headers, **kwargs)

    def send(self, body: str, from_: str = CUSTOMER_NUMBER, to: str = AGENT_NUMBER, **kwargs):
        """A text as Twilio delivers it: signed with the account's auth token."""
        params = twilio_params(body, from_, to)
        return self.post(params, self.signature(params), **kwargs)


def count(model) -> int:
    db.session.rollback()  # see what the requests committed
    return db.session.scalar(select(func.count()).select_from(model))


def the_chat() -> Chat:
    """The one chat the test's texts opened, as the requests committed it."""
    db.session.rollback()
    (chat,) = db.session.scalars(select(Chat)).all()
    return chat


def nothing_stored() -> bool:
    return count(Chat) == 0 and count(Message) == 0


def conversation(chat_id: int) -> list[tuple[str, str]]:
    db.session.rollback()
    return [
        (m.role, m.content)
        for m in db.session.scalars(
            select(Message).where(Message.chat_id == chat_id).order_by(Message.id)
        )
    ]


def answer_states() -> list[str]:
    """Each text's answer state (`SmsAnswer`), oldest text first, as committed."""
    db.session.rollback()
    return list(db.session.scalars(select(SmsAnswer.state).order_by(SmsAnswer.message_id)))


def worker_ready(redis_url: str) -> bool:
    """A worker is up and its scheduler (which runs jobs queued for later) holds the queue."""
    with Redis.from_url(redis_url) as connection:
        return bool(Worker.all(connection=connection)) and bool(
            connection.exists(RQScheduler.get_locking_key(JobQueue.ANSWERS))
        )
