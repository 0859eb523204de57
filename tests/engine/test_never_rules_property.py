"""The "Never" rules of PRODUCT.md, checked over random histories (hypothesis): client
messages (answered by the AI or not), staff replies, pauses, the model failing, and
the clock moving across both DST changes, with the due reminders run after each.

Never: two reminders for the same (chat, cycle, step); a reminder after the client
replied in that cycle; a reminder earlier than its due time (its delay after the
client's message or the previous reminder, and 30 minutes after a staff reply); a
reminder outside working hours; a reminder while paused. The expectations are worked
out here from the history, not asked of the engine.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from followup.extensions import db
from followup.models import WEEKDAYS, Agent, Chat, Message, ReminderSend, Role
from followup.services import autofollowup, chats
from tests.helpers.chains import make_agent, run_due, start_chat

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

# (time zone, weekly hours): always open; office hours over the spring DST change in
# Berlin; a night shift over midnight in New York.
HOURS = [
    ("UTC", {day: [["00:00", "24:00"]] for day in WEEKDAYS}),
    ("Europe/Berlin", {day: [["09:00", "18:00"]] for day in WEEKDAYS[:5]}),
    (
        "America/New_York",
        {day: [["00:00", "06:00"], ["22:00", "24:00"]] for day in WEEKDAYS},
    ),
]
STARTS = [datetime(2026, 3, 27, 15, 0, tzinfo=UTC), datetime(2026, 10, 23, 20, 0, tzinfo=UTC)]
TAKEOVER = timedelta(minutes=30)

steps_strategy = st.lists(st.tuples(st.integers(1, 8 * 60), st.booleans()), min_size=1, max_size=4)
# Each action: something happens, then time passes (minutes: a moment, or long enough
# for steps to fall due, up to three days), then the due reminders run.
EVENTS = ["nothing", "nothing", "client", "client", "staff", "pause", "llm_down"]
action_strategy = st.tuples(
    st.sampled_from(EVENTS),
    st.booleans(),  # client: does the AI answer? pause: on or off? llm_down: down or up?
    st.one_of(st.sampled_from([0, 1, 30, 240, 720, 1440, 2880]), st.integers(0, 72 * 60)),
)
# Every history starts with a client message the AI answers: a chain to watch.
FIRST = ("client", True, 0)


@dataclass
class History:
    """Pauses and resumes, each with the id of the chat's last message at that moment:
    a reminder with a greater id came after it (timestamps can be equal)."""

    paused: list[tuple[int, bool]] = field(default_factory=list)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    hours=st.sampled_from(HOURS),
    start=st.sampled_from(STARTS),
    steps=steps_strategy,
    actions=st.lists(action_strategy, min_size=5, max_size=20),
)
def test_never_rules_hold_whatever_happens(
    app, tenant, staff, fake_llm, hours, start, steps, actions
):
    # Earlier examples' agents and chats stay in the database: out of the way.
    db.session.execute(update(Chat).values(chain_due_at=None))
    db.session.execute(update(Agent).values(serves_web_widget=False))
    db.session.commit()
    fake_llm.reset()
    zone, weekly = hours
    with time_machine.travel(start, tick=False) as clock:
        agent = make_agent(
            tenant,
            steps=[(delay, f"Step instruction {n}") for n, (delay, _) in enumerate(steps, 1)],
            run_once=tuple(n for n, (_, once) in enumerate(steps, 1) if once),
            timezone=zone,
            working_hours=weekly,
        )
        chat = start_chat(tenant)
        history = History()
        for event, flag, minutes in [FIRST, *actions]:
            act(chat, staff, fake_llm, history, event, flag)
            clock.shift(timedelta(minutes=minutes))
            run_due()
            assert_nothing_overdue(chat, fake_llm)
    fake_llm.reset()
    check_never_rules(chat, agent, history)


def act(chat, staff, fake_llm, history, event, flag) -> None:
    if event == "client":
        chats.post_client_message(chat, "Is this still available?")
        if flag:
            fake_llm.behaviour.fail_status, failing = None, fake_llm.behaviour.fail_status
            chats.reply(chat)
            fake_llm.behaviour.fail_status = failing
    elif event == "staff":
        chats.post_staff_reply(chat, staff, "A person here: how can I help?")
    elif event == "pause":
        autofollowup.set_paused(chat, flag)
        last_id = db.session.scalar(select(func.max(Message.id)).where(Message.chat_id == chat.id))
        history.paused.append((last_id, flag))
    elif event == "llm_down":
        fake_llm.behaviour.fail_status = 500 if flag else None


def assert_nothing_overdue(chat, fake_llm) -> None:
    """After the due reminders ran, none is left due (unless the model is down)."""
    db.session.expire_all()
    due = db.session.get(Chat, chat.id).chain_due_at
    if fake_llm.behaviour.fail_status is None:
        assert due is None or due > datetime.now(UTC)


def check_never_rules(chat, agent, history: History) -> None:
    db.session.expire_all()
    messages = list(
        db.session.scalars(select(Message).where(Message.chat_id == chat.id).order_by(Message.id))
    )
    sends = {
        send.message_id: send
        for send in db.session.scalars(select(ReminderSend).where(ReminderSend.chat_id == chat.id))
    }
    reminders = [m for m in messages if m.reminder_step_id is not None]
    event(f"reminders sent: {min(len(reminders), 5)}{'+' if len(reminders) >= 5 else ''}")
    assert len(reminders) == len(sends)  # every reminder has its send, and only one
    keys = [(send.cycle, send.step_id) for send in sends.values()]
    assert len(keys) == len(set(keys)), "two reminders for the same (chat, cycle, step)"

    steps = {step.id: step for step in agent.steps}
    zone = ZoneInfo(agent.timezone)
    client_times: list[datetime] = []
    previous_in_cycle: datetime | None = None
    last_staff_reply: datetime | None = None
    fired_once: set[int] = set()
    for message in messages:
        if message.role == Role.CLIENT:
            client_times.append(message.created_at)
            previous_in_cycle = None
            continue
        if message.role == Role.STAFF:
            last_staff_reply = message.created_at
            continue
        if message.reminder_step_id is None:
            continue
        send, step, sent_at = sends[message.id], steps[message.reminder_step_id], message.created_at
        # Not after the client replied: the reminder belongs to the latest client message.
        assert send.cycle == len(client_times), "a reminder of a cycle the client had ended"
        counted_from = previous_in_cycle or client_times[-1]
        assert sent_at >= counted_from + timedelta(minutes=step.delay_minutes), "too early"
        assert not last_staff_reply or sent_at >= last_staff_reply + TAKEOVER, "in a takeover"
        assert open_at(agent.working_hours, sent_at.astimezone(zone)), "outside working hours"
        assert not paused_before(history, message.id), "while paused"
        assert not (step.run_once_per_chat and step.id in fired_once), "a run-once step twice"
        if step.run_once_per_chat:
            fired_once.add(step.id)
        previous_in_cycle = sent_at


def open_at(weekly: dict, local: datetime) -> bool:
    clock_time = local.strftime("%H:%M:%S")
    return any(
        start + ":00" <= clock_time < (end + ":00" if end != "24:00" else "24:00:00")
        for start, end in weekly.get(WEEKDAYS[local.weekday()], [])
    )


def paused_before(history: History, message_id: int) -> bool:
    changes = [paused for last_id, paused in history.paused if last_id < message_id]
    return bool(changes) and changes[-1]
