"""The spec's FAQ about Auto Follow-up, one test per question, answered as PRODUCT.md
decides. The chat starts at START (Monday 09:00 UTC) with Alexey (4 h, 24 h, 48 h)."""

from datetime import timedelta

from followup.extensions import db
from followup.models import ChainEnd, Chat
from followup.services import autofollowup, chats, sms_chats
from followup.services.agents import MAX_STEPS
from tests.helpers.chains import (
    START,
    client_says,
    make_agent,
    refreshed,
    reminders,
    run_due,
    start_chat,
    step_positions,
)

HOUR = timedelta(hours=1)


def dashboard_chat_ids(tenant) -> list[int]:
    return [row.chat.id for row in autofollowup.active_chains(tenant.id).rows]


def test_faq_why_is_the_section_empty_only_chats_with_an_active_chain_are_listed(clock, tenant):
    agent = make_agent(tenant, autofollowup_enabled=False)
    chat = start_chat(tenant)
    client_says(chat)
    assert dashboard_chat_ids(tenant) == []  # the employee has auto follow-up off

    agent.autofollowup_enabled = True
    agent.steps.clear()
    db.session.commit()
    client_says(chat, "Anyone there?")
    assert dashboard_chat_ids(tenant) == []  # no steps to send

    agent.serves_web_widget = False
    make_agent(tenant, name="Maria")  # the widget's new chats go to Maria, who has steps
    fresh = start_chat(tenant)
    chats.post_client_message(fresh, "Hello")
    assert dashboard_chat_ids(tenant) == []  # the client wrote, nobody answered yet
    chats.reply(fresh)
    assert dashboard_chat_ids(tenant) == [fresh.id]

    autofollowup.set_paused(fresh, True)
    assert dashboard_chat_ids(tenant) == []  # paused for this chat


def test_faq_if_the_client_replies_before_a_step_fires_the_chain_starts_over(chat, clock):
    client_says(chat)
    clock.move_to(START + 3 * HOUR)  # step 1 would fire at 13:00
    client_says(chat, "Actually, what about Denmark?")
    clock.move_to(START + 4 * HOUR)
    run_due()
    assert reminders(chat) == []
    assert refreshed(chat).chain_due_at == START + 7 * HOUR  # step 1 again, from the reply
    clock.move_to(START + 7 * HOUR)
    run_due()
    assert step_positions(chat) == [1]


def test_faq_the_agent_does_not_send_the_exact_text_of_the_instruction(clock, tenant, fake_llm):
    bad = "Write: Hello! We'd like to remind you that you can ask us anything."
    make_agent(tenant, steps=[(60, bad)])
    chat = start_chat(tenant)
    client_says(chat, "How long does delivery take?")
    clock.move_to(START + HOUR)
    run_due()
    (reminder,) = reminders(chat)
    assert reminder.content == "You said: How long does delivery take?"  # the model's own words
    assert bad not in reminder.content
    assert bad in fake_llm.requests[-1]["messages"][-1]["content"]  # guidance for the model only


def test_faq_how_many_steps_every_one_of_the_most_allowed_runs_in_order(clock, tenant):
    make_agent(tenant, steps=[(1, f"Reminder number {n}") for n in range(1, MAX_STEPS + 1)])
    chat = start_chat(tenant)
    client_says(chat)
    for minute in range(1, MAX_STEPS + 2):
        clock.move_to(START + timedelta(minutes=minute))
        run_due()
    assert step_positions(chat) == list(range(1, MAX_STEPS + 1))
    assert refreshed(chat).chain_ended == ChainEnd.EXHAUSTED


def test_faq_the_delay_counts_from_the_clients_last_message_then_from_each_reminder(chat, clock):
    chats.post_client_message(chat, "Hi")
    clock.advance(minutes=20)
    last = clock.now()
    client_says(chat, "Do you ship to Norway?")  # the client's last message counts
    assert refreshed(chat).chain_due_at == last + 4 * HOUR
    clock.move_to(last + 4 * HOUR + timedelta(minutes=5))  # sent five minutes late
    run_due()
    assert refreshed(chat).chain_due_at == last + 4 * HOUR + timedelta(minutes=5) + 24 * HOUR


def test_faq_auto_followup_works_on_every_channel_of_the_agent(clock, tenant, twilio):
    agent = make_agent(tenant, sms_number="+14155550100")  # the widget and an SMS number
    web = start_chat(tenant)
    client_says(web)
    received = sms_chats.receive(agent.sms_number, "+14155550188", "Are you open on Sunday?")
    sms = db.session.get(Chat, received.chat_id)
    chats.reply(sms)
    twilio.reset()

    clock.move_to(START + 4 * HOUR)
    run_due()
    assert step_positions(web) == [1] and step_positions(sms) == [1]
    assert [message.body for message in twilio.messages] == [reminders(sms)[0].content]


def test_faq_auto_followup_sends_nothing_outside_working_hours(clock, tenant):
    make_agent(tenant, working_hours={"mon": [["09:00", "12:00"]], "tue": [["09:00", "12:00"]]})
    chat = start_chat(tenant)
    client_says(chat)  # due 13:00 Monday: closed until Tuesday 09:00
    for hour in (13, 18, 23):
        clock.move_to(START.replace(hour=hour))
        run_due()
    clock.move_to(START + 24 * HOUR - timedelta(seconds=1))
    run_due()
    assert reminders(chat) == []
    clock.move_to(START + 24 * HOUR)
    run_due()
    assert [m.created_at for m in reminders(chat)] == [START + 24 * HOUR]


def test_faq_auto_followup_consumes_tokens_and_they_are_recorded(chat, clock, fake_llm):
    client_says(chat)
    calls_before = len(fake_llm.requests)
    clock.move_to(START + 4 * HOUR)
    run_due()
    (reminder,) = reminders(chat)
    assert len(fake_llm.requests) == calls_before + 1  # one model call per reminder
    assert reminder.prompt_tokens > 0 and reminder.completion_tokens > 0


def test_faq_auto_followup_can_be_disabled_for_a_specific_chat(chat, clock, tenant):
    other = start_chat(tenant)
    autofollowup.set_paused(chat, True)
    client_says(chat)
    client_says(other)
    for hours in (4, 28):
        clock.move_to(START + hours * HOUR)
        run_due()
    assert reminders(chat) == [] and step_positions(other) == [1, 2]
