"""Every rule of PRODUCT.md "Auto Follow-up semantics", one test each, on a clock the
tests move, on SQLite and PostgreSQL. Jobs run in the test's process: `run_due()` is
what the worker's cron does when the clock has moved.

The chat starts at START (Monday 09:00 UTC) with Alexey, whose chain is the spec's
example: 4 h, 24 h, 48 h.
"""

import logging
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from followup.errors import NotFound, ValidationFailed
from followup.extensions import db
from followup.models import (
    AutoFollowupStep,
    ChainEnd,
    Channel,
    Chat,
    Message,
    ReminderSend,
    Role,
)
from followup.services import autofollowup, capture, chats, sms_chats, staff_accounts
from followup.services.reminder_sending import send_reminder
from tests.fakes.blackhole import Blackhole
from tests.fakes.local_http import closed_redis_url
from tests.helpers.chains import (
    SPEC_CHAIN,
    START,
    client_says,
    make_agent,
    refreshed,
    reminders,
    run_due,
    sends,
    start_chat,
    step_positions,
)

HOUR = timedelta(hours=1)


def first_step(agent) -> AutoFollowupStep:
    return agent.steps[0]


def test_rule_a_step_waits_at_least_one_minute(app, agent):
    agent.steps.append(AutoFollowupStep(position=4, delay_minutes=0, instruction="Say hi"))
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_rule_the_chain_starts_when_the_client_writes_and_the_agent_replies(chat, clock):
    assert refreshed(chat).chain_due_at is None  # the greeting alone starts nothing
    chats.post_client_message(chat, "Do you ship to Norway?")
    assert refreshed(chat).chain_due_at is None  # nor the client's message alone
    chats.reply(chat)
    chat = refreshed(chat)
    assert chat.chain_step_id == first_step(chat.agent).id
    assert chat.chain_due_at == START + 4 * HOUR


def test_rule_step_one_is_due_its_delay_after_the_clients_last_message(chat, clock):
    chats.post_client_message(chat, "Do you ship to Norway?")
    clock.advance(minutes=10)  # the answer comes later: the delay still counts from the client
    chats.reply(chat)
    assert refreshed(chat).chain_due_at == START + 4 * HOUR

    clock.move_to(START + 4 * HOUR - timedelta(seconds=1))
    run_due()
    assert reminders(chat) == []
    clock.move_to(START + 4 * HOUR)
    run_due()
    (reminder,) = reminders(chat)
    assert reminder.created_at == START + 4 * HOUR


def test_rule_each_later_step_is_due_its_delay_after_the_previous_reminder_was_sent(chat, clock):
    client_says(chat)
    sent_at = clock.move_to(START + 6 * HOUR)  # the workers were two hours behind
    run_due()
    assert [m.created_at for m in reminders(chat)] == [sent_at]
    assert refreshed(chat).chain_due_at == sent_at + 24 * HOUR

    clock.move_to(sent_at + 24 * HOUR - timedelta(minutes=1))
    run_due()
    assert step_positions(chat) == [1]
    clock.move_to(sent_at + 24 * HOUR)
    run_due()
    assert step_positions(chat) == [1, 2]


def test_rule_any_client_message_resets_the_chain_and_a_new_cycle_starts_at_step_one(chat, clock):
    client_says(chat)
    clock.move_to(START + 4 * HOUR)
    run_due()
    cycle = refreshed(chat).chain_cycle

    wrote_at = clock.move_to(START + 5 * HOUR)
    chats.post_client_message(chat, "Still there?")
    chat = refreshed(chat)
    assert (chat.chain_cycle, chat.chain_step_id, chat.chain_due_at) == (cycle + 1, None, None)

    chats.reply(chat)
    chat = refreshed(chat)
    assert chat.chain_step_id == first_step(chat.agent).id
    assert chat.chain_due_at == wrote_at + 4 * HOUR
    clock.move_to(wrote_at + 4 * HOUR)
    run_due()
    assert step_positions(chat) == [1, 1]
    assert [send.cycle for send in sends(chat)] == [cycle, cycle + 1]


def test_rule_nothing_pending_of_an_ended_cycle_may_be_sent(chat, clock):
    client_says(chat)
    old = autofollowup.pending(refreshed(chat))
    clock.move_to(START + 3 * HOUR)
    chats.post_client_message(chat, "One more thing")  # the AI has not answered yet

    clock.move_to(old.due_at)
    # The job queued for the old cycle still runs: it must send nothing.
    outcome = send_reminder(old.chat_id, old.cycle, old.step_id)
    assert outcome.startswith("drop: the client wrote since")
    run_due()
    assert reminders(chat) == []


def test_rule_a_run_once_step_that_fired_is_skipped_in_later_cycles(clock, tenant):
    make_agent(
        tenant,
        steps=[(60, "Introduce our spring offer"), (120, "Ask if we can help")],
        run_once=(1,),
    )
    chat = start_chat(tenant)
    client_says(chat)
    clock.move_to(START + 1 * HOUR)
    run_due()
    clock.move_to(START + 3 * HOUR)
    run_due()
    assert step_positions(chat) == [1, 2]

    wrote_at = clock.move_to(START + 4 * HOUR)
    client_says(chat, "Thanks, and what about returns?")
    # Step 2 takes step 1's place; its delay counts from the client's message as usual.
    assert refreshed(chat).chain_due_at == wrote_at + 2 * HOUR
    clock.move_to(wrote_at + 2 * HOUR)
    run_due()
    assert step_positions(chat) == [1, 2, 2]
    assert refreshed(chat).chain_ended == ChainEnd.EXHAUSTED


def test_rule_after_the_last_step_the_chain_is_exhausted_until_the_client_writes(
    chat, clock, tenant
):
    client_says(chat)
    for hours in (4, 28, 76):
        clock.move_to(START + hours * HOUR)
        run_due()
    assert step_positions(chat) == [1, 2, 3]
    chat = refreshed(chat)
    assert chat.chain_ended == ChainEnd.EXHAUSTED and chat.chain_due_at is None
    assert autofollowup.active_chains(tenant.id).rows == []

    clock.advance(days=30)
    run_due()
    chats.reply(chat)  # an answer of the business alone does not start it again
    assert refreshed(chat).chain_due_at is None

    client_says(chat, "Back again: do you ship to Sweden?")
    chat = refreshed(chat)
    assert chat.chain_ended is None and chat.chain_due_at is not None
    assert [row.chat.id for row in autofollowup.active_chains(tenant.id).rows] == [chat.id]


def test_rule_the_llm_writes_the_reminder_from_instruction_persona_and_conversation(
    clock, tenant, fake_llm
):
    agent = make_agent(
        tenant, role="Travel advisor", tone="Warm and brief", instructions="Always sign as Alexey."
    )
    chat = start_chat(tenant)
    client_says(chat, "Is the Lisbon trip still available in May?")
    clock.move_to(START + 4 * HOUR)
    run_due()

    (reminder,) = reminders(chat)
    instruction = agent.steps[0].instruction
    assert reminder.content == "You said: Is the Lisbon trip still available in May?"
    assert instruction not in reminder.content
    prompt = fake_llm.requests[-1]
    assert "tools" not in prompt
    system, *conversation, task = prompt["messages"]
    assert "Alexey, Travel advisor at Acme Inc" in system["content"]
    assert "Warm and brief" in system["content"] and "Always sign as Alexey." in system["content"]
    assert {"role": "user", "content": "Is the Lisbon trip still available in May?"} in conversation
    assert task["role"] == "system" and instruction in task["content"]


def test_rule_a_reply_that_only_repeats_the_instruction_is_never_sent(chat, clock, fake_llm):
    client_says(chat)
    fake_llm.behaviour.reply_text = SPEC_CHAIN[0][1] + "."
    clock.move_to(START + 4 * HOUR)
    run_due()
    assert reminders(chat) == []
    assert refreshed(chat).chain_due_at == START + 4 * HOUR + timedelta(minutes=1)

    fake_llm.behaviour.reply_text = "Hi again! We're here whenever you need us."
    clock.advance(minutes=1)
    run_due()
    assert [m.content for m in reminders(chat)] == ["Hi again! We're here whenever you need us."]


def test_rule_the_tokens_of_every_reminder_are_recorded(chat, clock):
    client_says(chat)
    clock.move_to(START + 4 * HOUR)
    run_due()
    (reminder,) = reminders(chat)
    assert reminder.role == Role.AGENT
    assert reminder.prompt_tokens > 0 and reminder.completion_tokens > 0 and reminder.model
    assert reminder.total_tokens == reminder.prompt_tokens + reminder.completion_tokens


def test_rule_outside_working_hours_a_due_reminder_waits_for_the_next_opening(clock, tenant):
    make_agent(
        tenant,
        timezone="Europe/Berlin",
        working_hours={day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    )
    friday_5pm_berlin = START.replace(day=6, hour=16)  # UTC+1 in March before the 29th
    clock.move_to(friday_5pm_berlin)
    chat = start_chat(tenant)
    client_says(chat)  # step 1 due at 21:00 Berlin: closed
    monday_9am_berlin = START.replace(day=9, hour=8)
    assert refreshed(chat).chain_due_at == monday_9am_berlin

    for moment in (friday_5pm_berlin + 4 * HOUR, START.replace(day=7, hour=12)):
        clock.move_to(moment)
        run_due()
    clock.move_to(monday_9am_berlin - timedelta(seconds=1))
    run_due()
    assert reminders(chat) == []
    clock.move_to(monday_9am_berlin)
    run_due()
    assert [m.created_at for m in reminders(chat)] == [monday_9am_berlin]


def test_rule_working_hours_are_checked_again_when_the_reminder_is_due(chat, clock):
    client_says(chat)  # planned for 13:00 while Alexey is open 24/7
    agent = chat.agent
    agent.working_hours = {"mon": [["14:30", "18:00"]], "tue": [["09:00", "18:00"]]}
    db.session.commit()  # saved without telling the engine: the job still checks
    clock.move_to(START + 4 * HOUR)
    run_due()
    assert reminders(chat) == []
    assert refreshed(chat).chain_due_at == START.replace(hour=14, minute=30)
    clock.move_to(START.replace(hour=14, minute=30))
    run_due()
    assert step_positions(chat) == [1]


def test_rule_on_the_web_a_reminder_shows_when_the_visitor_returns(clock, agent, tenant, app):
    api = app.test_client()
    started = api.post(f"/api/widget/v1/{tenant.widget_public_key}/sessions", json={})
    token, chat_id = started.json["session_token"], started.json["chat_id"]
    headers = {"Authorization": f"Bearer {token}"}
    answer = api.post(
        f"/api/widget/v1/chats/{chat_id}/messages", json={"text": "Hello?"}, headers=headers
    )
    last_seen = answer.json["messages"][-1]["id"]

    clock.move_to(START + 4 * HOUR)
    run_due()
    returned = api.get(
        f"/api/widget/v1/chats/{chat_id}/messages?after={last_seen}", headers=headers
    )
    (message,) = returned.json["messages"]
    assert message["role"] == "agent" and message["content"] == "You said: Hello?"


def test_rule_on_sms_a_reminder_goes_out_through_twilio(clock, tenant, twilio, fake_llm):
    agent = make_agent(tenant, sms_number="+14155550100", serves_web_widget=False)
    received = sms_chats.receive("+14155550100", "+14155550177", "Do you deliver on Sundays?")
    chat = db.session.get(Chat, received.chat_id)
    chats.reply(chat)  # what the SMS answer job does
    twilio.reset()
    fake_llm.requests.clear()

    clock.move_to(START + 4 * HOUR)
    run_due()
    (reminder,) = reminders(chat)
    (sms,) = twilio.messages
    assert chat.channel == Channel.SMS
    assert (sms.to, sms.from_, sms.body) == ("+14155550177", agent.sms_number, reminder.content)
    # The model wrote it as a text message: the SMS channel's rules, no form.
    (request,) = fake_llm.requests
    system = request["messages"][0]["content"]
    assert capture.SMS.writing in system and "form" not in system


def test_rule_staff_can_pause_auto_followup_for_one_chat(chat, clock, tenant):
    other = start_chat(tenant)
    client_says(chat)
    client_says(other)
    autofollowup.set_paused(chat, True)
    assert refreshed(chat).chain_due_at is None

    clock.move_to(START + 5 * HOUR)
    run_due()
    assert reminders(chat) == [] and step_positions(other) == [1]

    autofollowup.set_paused(chat, False)  # overdue: it goes at the next chance
    assert refreshed(chat).chain_due_at == START + 5 * HOUR
    run_due()
    assert step_positions(chat) == [1]


def test_rule_an_opt_out_ends_the_chats_reminders(clock, tenant, twilio):
    make_agent(tenant, sms_number="+14155550100", serves_web_widget=False)
    received = sms_chats.receive("+14155550100", "+14155550177", "How much is shipping?")
    chat = db.session.get(Chat, received.chat_id)
    chats.reply(chat)
    clock.advance(minutes=5)
    sms_chats.receive("+14155550100", "+14155550177", "STOP")
    chat = refreshed(chat)
    assert chat.opted_out and chat.chain_due_at is None

    clock.move_to(START + 5 * HOUR)
    run_due()
    assert reminders(chat) == [] and twilio.messages == []


def test_rule_never_two_reminders_for_the_same_chat_cycle_and_step(chat, clock, app, fake_llm):
    client_says(chat)
    due = autofollowup.pending(refreshed(chat))
    clock.move_to(due.due_at)
    fake_llm.behaviour.first_token_delay_s = 0.3  # both workers are writing at once
    outcomes = []

    def worker():
        with app.app_context():
            outcomes.append(send_reminder(due.chat_id, due.cycle, due.step_id))
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes)[-1] == "sent" and outcomes.count("sent") == 1, outcomes
    assert len(reminders(chat)) == 1 and len(sends(chat)) == 1


def test_the_job_holds_no_transaction_while_the_model_writes(chat, clock, fake_llm):
    """The model may take seconds: meanwhile the job keeps no lock, snapshot or pooled
    connection (a client message or a pause must get through, and workers share the pool)."""
    # The job runs in this thread and app context; the model is asked from the fake
    # server's thread, which has neither.
    job_session, pool, held = db.session(), db.engine.pool, []
    fake_llm.behaviour.on_request = lambda _body: held.append(
        (job_session.in_transaction(), pool.checkedout())
    )
    client_says(chat)
    clock.move_to(START + 4 * HOUR)
    run_due()
    assert step_positions(chat) == [1] and held and set(held) == {(False, 0)}


def test_rule_the_unique_key_refuses_a_second_send_of_a_chat_cycle_and_step(chat, clock):
    client_says(chat)
    clock.move_to(START + 4 * HOUR)
    run_due()
    (send,) = sends(chat)
    db.session.add(ReminderSend(chat_id=chat.id, cycle=send.cycle, step_id=send.step_id))
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_rule_never_a_reminder_earlier_than_its_due_time(chat, clock):
    client_says(chat)
    due = autofollowup.pending(refreshed(chat))
    clock.move_to(due.due_at - timedelta(milliseconds=500))  # RQ started the job early
    outcome = send_reminder(due.chat_id, due.cycle, due.step_id)
    assert outcome == f"wait: not before {due.due_at.isoformat()}"
    assert reminders(chat) == [] and refreshed(chat).chain_due_at == due.due_at
    clock.move_to(due.due_at)
    assert send_reminder(due.chat_id, due.cycle, due.step_id) == "sent"


def test_rule_no_reminder_within_30_minutes_of_a_staff_reply(chat, clock, staff):
    client_says(chat)
    replied_at = clock.move_to(START + 4 * HOUR - timedelta(minutes=15))
    chats.post_staff_reply(chat, staff, "Hi, Olivia here from the team.")
    assert refreshed(chat).chain_due_at == replied_at + timedelta(minutes=30)

    clock.move_to(START + 4 * HOUR)
    run_due()
    assert reminders(chat) == []
    clock.move_to(replied_at + timedelta(minutes=30))
    run_due()
    assert step_positions(chat) == [1]


def test_rule_a_staff_reply_counted_when_the_reminder_is_due(chat, clock, staff):
    client_says(chat)
    clock.move_to(START + 4 * HOUR - timedelta(minutes=10))
    # Saved without the engine hearing of it (an older web process): the job still checks.
    chat.last_staff_reply_at = clock.now()
    db.session.commit()
    clock.move_to(START + 4 * HOUR)
    run_due()
    assert reminders(chat) == []
    assert refreshed(chat).chain_due_at == START + 4 * HOUR + timedelta(minutes=20)


def test_rule_a_staff_answer_starts_the_chain_as_the_ais_would(chat, clock, staff, fake_llm):
    chats.post_client_message(chat, "Can a person call me?")  # the AI does not answer
    clock.advance(minutes=2)
    chats.post_staff_reply(chat, staff, "Sure, what time suits you?")
    assert refreshed(chat).chain_due_at == START + 4 * HOUR


def test_rule_an_agent_with_auto_followup_off_sends_no_reminder(chat, clock, tenant):
    client_says(chat)
    chat.agent.autofollowup_enabled = False
    db.session.commit()
    assert autofollowup.active_chains(tenant.id).rows == []
    clock.move_to(START + 4 * HOUR)
    run_due()
    assert reminders(chat) == [] and refreshed(chat).chain_due_at is None

    chat.agent.autofollowup_enabled = True
    db.session.commit()
    client_says(chat, "Hello again")
    assert refreshed(chat).chain_due_at == START + 8 * HOUR


def test_rule_a_failed_llm_call_sends_nothing_and_is_retried_later_with_backoff(
    chat, clock, fake_llm, app
):
    client_says(chat)
    fake_llm.behaviour.fail_status = 500
    app.config["REMINDER_RETRY_MAX_S"] = 300
    clock.move_to(START + 4 * HOUR)
    retries = []
    for _ in range(5):
        run_due()
        due_at = refreshed(chat).chain_due_at
        retries.append((due_at - clock.now()).total_seconds())
        clock.move_to(due_at)
    assert retries == [60, 120, 240, 300, 300]  # twice as long each time, up to the most
    assert reminders(chat) == []

    fake_llm.behaviour.fail_status = None
    run_due()
    assert step_positions(chat) == [1]
    assert "Remind the user" not in reminders(chat)[0].content


def test_rule_a_model_that_never_answers_is_a_failed_call_retried_later(chat, clock, app):
    """The model's server takes the connection and says nothing: writing the reminder
    gives up after LLM_TIMEOUT_S, like any failed call."""
    client_says(chat)
    blackhole = Blackhole().start()
    try:
        app.config.update(OPENAI_BASE_URL=blackhole.base_url, LLM_TIMEOUT_S=0.5)
        clock.move_to(START + 4 * HOUR)
        run_due()
        assert blackhole.accepted == 1
    finally:
        blackhole.stop()
    assert reminders(chat) == []
    assert refreshed(chat).chain_due_at == START + 4 * HOUR + timedelta(seconds=60)


def test_rule_a_step_removed_while_pending_is_replaced_by_the_next(chat, clock):
    client_says(chat)
    agent = chat.agent
    agent.steps.remove(agent.steps[0])
    db.session.commit()
    assert refreshed(chat).chain_step_id is None  # the database let go of the deleted step

    clock.move_to(START + 4 * HOUR)
    run_due()  # step 2 comes next, its 24 h counted from the client's message
    assert reminders(chat) == []
    assert refreshed(chat).chain_due_at == START + 24 * HOUR
    clock.move_to(START + 24 * HOUR)
    run_due()
    assert step_positions(chat) == [2]


def test_rule_a_delay_changed_meanwhile_counts_from_the_same_moment(chat, clock, tenant):
    client_says(chat)
    chat.agent.steps[0].delay_minutes = 6 * 60
    db.session.commit()
    autofollowup.agent_settings_changed(chat.agent.id)  # the admin's save tells the engine
    assert refreshed(chat).chain_due_at == START + 6 * HOUR

    chat.agent.steps[0].delay_minutes = 7 * 60
    db.session.commit()  # not told this time: the job finds out when it runs
    clock.move_to(START + 6 * HOUR)
    run_due()
    assert reminders(chat) == []
    clock.move_to(START + 7 * HOUR)
    run_due()
    assert step_positions(chat) == [1]


def test_rule_steps_reordered_meanwhile_send_the_first_not_yet_sent(chat, clock):
    client_says(chat)
    clock.move_to(START + 4 * HOUR)
    run_due()
    _first, second, third = chat.agent.steps
    second.position, third.position = 3, 2  # the goodbye now comes before "still relevant?"
    db.session.commit()
    db.session.expire_all()
    autofollowup.agent_settings_changed(chat.agent.id)
    assert refreshed(chat).chain_step_id == third.id
    assert refreshed(chat).chain_due_at == START + 4 * HOUR + 48 * HOUR


def test_rule_working_hours_saved_meanwhile_move_the_pending_reminder(clock, tenant):
    agent = make_agent(tenant, working_hours={"tue": [["09:00", "18:00"]]})
    chat = start_chat(tenant)
    client_says(chat)
    assert refreshed(chat).chain_due_at == START + 24 * HOUR  # Tuesday 09:00
    agent.working_hours = {"mon": [["00:00", "24:00"]]}
    db.session.commit()
    autofollowup.agent_settings_changed(agent.id)  # what the Working Hours tab's save does
    assert refreshed(chat).chain_due_at == START + 4 * HOUR


def test_with_redis_down_saved_settings_still_move_the_pending_reminder(
    clock, tenant, app, monkeypatch
):
    agent = make_agent(tenant, working_hours={"tue": [["09:00", "18:00"]]})
    chat = start_chat(tenant)
    client_says(chat)
    monkeypatch.setitem(app.config, "REDIS_URL", closed_redis_url())
    agent.working_hours = {"mon": [["00:00", "24:00"]]}
    db.session.commit()
    autofollowup.agent_settings_changed(agent.id)  # no job can be queued: planned at once
    assert refreshed(chat).chain_due_at == START + 4 * HOUR


def test_with_redis_down_the_replan_asks_redis_once_not_once_per_chat(
    clock, tenant, app, monkeypatch, caplog
):
    """Each try at a Redis that is away can take its connect timeout, inside the
    request that saved the settings."""
    agent = make_agent(tenant, working_hours={"tue": [["09:00", "18:00"]]})
    waiting = [start_chat(tenant) for _ in range(3)]
    for chat in waiting:
        client_says(chat)
    monkeypatch.setitem(app.config, "REDIS_URL", closed_redis_url())
    monkeypatch.setitem(app.config, "RQ_ASYNC", True)  # as with workers: wake-ups go to Redis
    agent.working_hours = {"mon": [["00:00", "24:00"]]}
    db.session.commit()
    with caplog.at_level(logging.WARNING, logger="followup.services.autofollowup"):
        autofollowup.agent_settings_changed(agent.id)
    assert [refreshed(chat).chain_due_at for chat in waiting] == [START + 4 * HOUR] * 3
    unqueued = [r.getMessage() for r in caplog.records if "not queued" in r.getMessage()]
    assert len(unqueued) == 1 and unqueued[0].startswith("Replan of agent")


def test_rule_the_sweep_only_reads_chains_that_are_due(chat, clock, tenant):
    client_says(chat)
    later = start_chat(tenant)
    clock.advance(hours=1)
    client_says(later)
    clock.move_to(START + 4 * HOUR)
    assert run_due() == 1
    assert step_positions(chat) == [1] and reminders(later) == []
    assert run_due() == 0  # nothing is due any more


def test_staff_reply_is_saved_sent_and_scoped_to_the_tenant(chat, clock, staff, other_tenant):
    message = chats.post_staff_reply(chat, staff, "  Hi, Olivia here.  ")
    assert (message.role, message.content) == (Role.STAFF, "Hi, Olivia here.")
    assert refreshed(chat).last_staff_reply_at == START
    with pytest.raises(ValidationFailed) as error:
        chats.post_staff_reply(chat, staff, "   ")
    assert "text" in error.value.fields
    outsider = staff_accounts.create_staff_user(
        "globex", "ops@globex.example", "x" * 12, name="Gus"
    )
    with pytest.raises(NotFound):
        chats.post_staff_reply(chat, outsider, "Hello")
    messages = db.session.scalars(select(Message).where(Message.chat_id == chat.id))
    assert [m.role for m in messages] == [Role.AGENT, Role.STAFF]
