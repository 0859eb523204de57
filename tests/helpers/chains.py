"""Building chains and looking at what the engine did, for the engine tests: an AI
employee with the spec's chain, a clock the tests move from START, and the app's
settings for the engine."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rq.job import Job
from rq.registry import FailedJobRegistry
from sqlalchemy import select

from followup.extensions import db
from followup.jobs.reminders import send_reminders, sweep_due_reminders
from followup.models import Agent, AutoFollowupStep, Chat, Message, ReminderSend, Tenant
from followup.queue import queue_for
from followup.services import chats
from tests.helpers.jobs import TWILIO_FROM

# A Monday morning, in winter time (Europe/Berlin is UTC+1).
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# The spec's example chain: (delay in minutes, instruction).
SPEC_CHAIN = [
    (4 * 60, "Remind the user that we're available and ready to help"),
    (24 * 60, "Ask if the question is still relevant"),
    (48 * 60, "Say a warm goodbye and let them know we're always happy to help when needed"),
]


def make_agent(
    tenant: Tenant,
    steps=SPEC_CHAIN,
    run_once: tuple[int, ...] = (),
    **fields,
) -> Agent:
    """An AI employee answering the widget, auto follow-up on, with `steps`; the steps
    at the (1-based) positions in `run_once` run once per chat."""
    agent = Agent(
        tenant_id=tenant.id,
        name=fields.pop("name", "Alexey"),
        serves_web_widget=fields.pop("serves_web_widget", True),
        autofollowup_enabled=fields.pop("autofollowup_enabled", True),
        **fields,
    )
    for position, (delay, instruction) in enumerate(steps, start=1):
        agent.steps.append(
            AutoFollowupStep(
                position=position,
                delay_minutes=delay,
                instruction=instruction,
                run_once_per_chat=position in run_once,
            )
        )
    db.session.add(agent)
    db.session.commit()
    return agent


def start_chat(tenant: Tenant, name: str | None = None) -> Chat:
    customer = {"name": name} if name else None
    chat = chats.start_chat(tenant.widget_public_key, customer).chat
    return chat


def client_says(chat: Chat, text: str = "Do you ship to Norway?") -> Message:
    """The client writes and the AI answers (the fake model: "You said: …")."""
    chats.post_client_message(chat, text)
    return chats.reply(chat)


def run_due() -> int:
    """What the worker's cron does: queue every due reminder (here they run at once,
    so a job that fails is reported here, not hidden in RQ's failed registry)."""
    queued = sweep_due_reminders()
    registry = FailedJobRegistry(queue=queue_for(send_reminders))
    failed = registry.get_job_ids()
    if failed:
        job = Job.fetch(failed[0], connection=registry.connection)
        raise AssertionError(f"reminder job failed:\n{job.latest_result().exc_string}")
    return queued


def reminders(chat: Chat) -> list[Message]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Message)
            .where(Message.chat_id == chat.id, Message.reminder_step_id.is_not(None))
            .order_by(Message.id)
        )
    )


def sends(chat: Chat) -> list[ReminderSend]:
    return list(
        db.session.scalars(
            select(ReminderSend).where(ReminderSend.chat_id == chat.id).order_by(ReminderSend.id)
        )
    )


def step_positions(chat: Chat) -> list[int]:
    """The positions of the steps whose reminders were sent, in order."""
    positions = {step.id: step.position for step in chat.agent.steps}
    return [positions[message.reminder_step_id] for message in reminders(chat)]


def refreshed(chat: Chat) -> Chat:
    db.session.expire_all()
    return db.session.get(Chat, chat.id)


def engine_settings(database_url, redis_url, fake_llm, twilio_server) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "OPENAI_BASE_URL": fake_llm.base_url,
        "OPENAI_API_KEY": "test-key",
        "LLM_TIMEOUT_S": 2.0,
        "TWILIO_ACCOUNT_SID": twilio_server.account_sid,
        "TWILIO_AUTH_TOKEN": twilio_server.auth_token,
        "TWILIO_FROM_NUMBER": TWILIO_FROM,
        "TWILIO_API_BASE": twilio_server.base_url,
    }


@dataclass
class Clock:
    traveller: object

    def now(self) -> datetime:
        return datetime.now(UTC)

    def advance(self, **delta) -> datetime:
        self.traveller.shift(timedelta(**delta))
        return self.now()

    def move_to(self, moment: datetime) -> datetime:
        self.traveller.move_to(moment)
        return self.now()
