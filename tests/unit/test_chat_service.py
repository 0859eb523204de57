"""The agent's turn, pre-fill precedence, the voice capture flow, and the LLM fallback."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from followup.extensions import db
from followup.llm.client import TextDelta
from followup.models import Customer, FollowUpRequest, Message, Role, Source
from followup.services import chat_identity, chats, followups
from tests.helpers.chats import log_in, say, signed, start

# --- the agent's turn ------------------------------------------------------------------------


def test_reply_streams_then_saves_the_message_with_token_use(tenant, fake_llm):
    chat = start(tenant)
    chats.post_client_message(chat, "What are your opening hours?")
    events = list(chats.agent_turn(chat))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    message = events[-1]
    assert len(deltas) > 1
    assert "".join(deltas) == message.content == "You said: What are your opening hours?"
    assert message.role == Role.AGENT
    assert message.prompt_tokens > 0 and message.completion_tokens > 0 and message.model


def test_system_prompt_carries_persona_and_response_time(tenant, fake_llm):
    tenant.response_time_hours = 48
    db.session.commit()
    chat = start(tenant)
    say(chat, "hello")
    system = fake_llm.requests[-1]["messages"][0]
    assert system["role"] == "system"
    assert "Alex" in system["content"] and "Acme Inc" in system["content"]
    # The web chat's form states the response time: the model must not say it too.
    assert "do not say when the team will answer: the form states it" in system["content"]
    assert "We'll contact you within 48 hours." in system["content"]


def test_a_voice_turn_tells_the_model_to_say_the_response_time(tenant, fake_llm):
    chat = start(tenant)
    say(chat, "hello", mode="voice")
    system = fake_llm.requests[-1]["messages"][0]["content"]
    assert 'tell them: "We\'ll contact you within 24 hours."' in system
    assert "the form states it" not in system


def test_followup_tool_is_offered_only_when_followups_are_enabled(tenant, fake_llm):
    chat = start(tenant)
    say(chat, "hello")
    assert [t["function"]["name"] for t in fake_llm.requests[-1]["tools"]] == ["offer_followup"]
    tenant.followups_enabled = False
    db.session.commit()
    message = say(chat, "can I talk to a person?")
    assert "tools" not in fake_llm.requests[-1]
    assert message.action is None


def test_tool_call_shows_the_prefilled_form(tenant, fake_llm):
    chat = start(tenant)
    say(chat, "I'm Maria Garcia, my email is maria@example.com")
    message = say(chat, "I want to talk to a person about a bulk order, urgent")
    action = message.action
    assert action["type"] == "followup_form"
    assert action["prefill"]["name"] == "Maria Garcia"
    assert action["prefill"]["email"] == "maria@example.com"
    assert action["prefill"]["reason"].startswith("Customer asked:")
    assert action["priority"] == "high"
    assert action["response_time_hours"] == 24


# --- pre-fill precedence ---------------------------------------------------------------------


def test_signed_in_customer_beats_website_data_beats_chat(tenant, fake_llm):
    customer_chat = start(tenant)
    say(customer_chat, "my email is typed@example.com and my number is +1 415 555 0100")
    form = say(customer_chat, "talk to a person").action["prefill"]
    assert (form["email"], form["phone"]) == ("typed@example.com", "+14155550100")

    unsigned = start(tenant, {"id": "x", "email": "site@example.com", "signature": "bogus"})
    say(unsigned, "my email is typed@example.com")
    assert say(unsigned, "talk to a person").action["prefill"]["email"] == "site@example.com"
    assert unsigned.visitor["verified"] is False and unsigned.customer_id is None

    logged_in = start(tenant, {"email": "site@example.com"})
    log_in(logged_in, accounts_customer(tenant, "account@example.com", "Account Name"))
    form = say(logged_in, "talk to a person").action["prefill"]
    assert (form["email"], form["name"]) == ("account@example.com", "Account Name")

    # The website's customer: its record, made from what the website sent the first time.
    start(tenant, signed(tenant, email="signed@example.com", name="Signed Name"))
    trusted = start(tenant, signed(tenant, email="later@example.com"))
    say(trusted, "my email is typed@example.com")
    form = say(trusted, "talk to a person").action["prefill"]
    assert (form["email"], form["name"]) == ("signed@example.com", "Signed Name")
    assert trusted.visitor["verified"] is True


def accounts_customer(tenant, email, name) -> Customer:
    customer = Customer(tenant_id=tenant.id, email=email, name=name)
    db.session.add(customer)
    db.session.commit()
    return customer


def test_typing_someones_email_does_not_sign_them_in(tenant, fake_llm):
    victim = accounts_customer(tenant, "victim@example.com", "Victim")
    victim.phone = "+14155550199"
    followups.create_followup(
        tenant.id, {"name": "Victim", "email": victim.email, "reason": "Mine"}, source=Source.API
    )
    chat = start(tenant)
    say(chat, "talk to a person")
    chats.submit_followup(chat, {"name": "Eve", "email": victim.email, "reason": "Prying"})
    assert chat.customer_id == victim.id  # linked, for the staff's Users page
    assert chat_identity.signed_in_customer(chat) is None
    assert chat_identity.requests_of(chat) == []
    form = say(chat, "talk to a person again").action["prefill"]
    assert (form["name"], form["phone"]) != ("Victim", "+14155550199")
    second = chats.submit_followup(
        chat, {"name": "Eve", "email": victim.email, "reason": "x"}
    ).followup
    assert second.identity_verified is False


def test_submitting_the_form_creates_the_request_and_thanks(tenant, fake_llm):
    chat = start(tenant, signed(tenant, email="signed@example.com", name="Signed Name"))
    say(chat, "talk to a person please")
    followup = chats.submit_followup(
        chat, {"name": "Signed Name", "email": "signed@example.com", "reason": "Bulk order"}
    ).followup
    assert followup.source == Source.TEXT and followup.chat_id == chat.id
    # Whose it is: the website's customer cust-42. Verified it is not: the website
    # signed the id, not the email.
    assert followup.customer.external_id == "cust-42"
    assert followup.identity_verified is False
    assert followup.summary == "The customer asked to be contacted by a person."
    last = chats.history(chat)[-1]
    assert "We'll contact you within 24 hours." in last.content
    assert chat.customer_id == followup.customer_id


def test_the_same_form_sent_twice_gives_back_its_one_request_and_thank_you(tenant, fake_llm):
    chat = start(tenant)
    say(chat, "talk to a person please")
    form = {"name": "Ann", "email": "ann@example.com", "reason": "Bulk order"}
    first = chats.submit_followup(chat, form, form_id="f" * 32)
    again = chats.submit_followup(chat, form, form_id="f" * 32)
    assert again.followup.id == first.followup.id
    assert again.thanks.id == first.thanks.id == chats.history(chat)[-1].id
    assert first.thanks.content.startswith("Thank you, Ann! Your request has been sent")


def test_unsigned_data_is_recorded_as_unverified(tenant, fake_llm):
    chat = start(tenant, {"email": "site@example.com", "name": "Site"})
    say(chat, "talk to a person")
    followup = chats.submit_followup(
        chat, {"name": "Site", "email": "site@example.com", "reason": "Help"}
    ).followup
    assert followup.identity_verified is False


def test_edited_email_is_not_verified(tenant, fake_llm):
    chat = start(tenant, signed(tenant, email="signed@example.com", name="S"))
    say(chat, "talk to a person")
    followup = chats.submit_followup(
        chat, {"name": "S", "email": "other@example.com", "reason": "Help"}
    ).followup
    assert followup.identity_verified is False


# --- human takeover ---------------------------------------------------------------------------


@pytest.fixture
def clock():
    """Time stands still unless the test moves it."""
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False) as traveller:
        yield traveller


def test_ai_is_silent_for_30_minutes_after_a_staff_reply_then_answers(
    tenant, staff, fake_llm, clock
):
    chat = start(tenant)
    say(chat, "Do you deliver on Sundays?")
    chats.post_staff_reply(chat, staff, "Hi, Olivia here from the team. Let me check.")
    asked = len(fake_llm.requests)

    clock.shift(timedelta(minutes=29, seconds=59))
    chats.post_client_message(chat, "Thanks, I'll wait")
    assert list(chats.agent_turn(chat)) == []
    assert chats.reply(chat) is None
    assert len(fake_llm.requests) == asked  # the model is not even asked
    # The client's message is kept for the staff member; nobody else spoke.
    assert [(m.role, m.content) for m in chats.history(chat)[-2:]] == [
        (Role.STAFF, "Hi, Olivia here from the team. Let me check."),
        (Role.CLIENT, "Thanks, I'll wait"),
    ]

    clock.shift(timedelta(seconds=1))  # 30 minutes after the staff reply: the AI is back
    chats.post_client_message(chat, "Anyone there?")
    answer = chats.reply(chat)
    assert (answer.role, answer.content) == (Role.AGENT, "You said: Anyone there?")
    assert len(fake_llm.requests) == asked + 1


# --- never lose a lead ------------------------------------------------------------------------


@pytest.mark.parametrize("failure", ["down", "slow", "unconfigured"])
def test_llm_failure_says_so_and_offers_the_form(app, tenant, fake_llm, failure):
    if failure == "down":
        fake_llm.behaviour.fail_status = 500
    elif failure == "slow":
        fake_llm.behaviour.first_token_delay_s = 3.0  # LLM_TIMEOUT_S is 2 in tests
    else:
        app.config.update(OPENAI_BASE_URL=None, OPENAI_API_KEY=None)
    chat = start(tenant)
    message = say(chat, "hello?")
    # What happens next; the form below says when.
    assert message.content == (
        "Sorry, I can't answer right now. Leave your details below and the team will get "
        "back to you."
    )
    assert message.action["type"] == "followup_form"
    assert message.model_failed is True  # the reports count it


def test_a_model_answer_is_not_a_failure(tenant, fake_llm):
    assert say(start(tenant), "hello?").model_failed is False


def test_llm_failure_without_followups_offers_no_form(tenant, fake_llm):
    fake_llm.behaviour.fail_status = 503
    tenant.followups_enabled = False
    db.session.commit()
    message = say(start(tenant), "hello?")
    assert message.action is None and "contact you" not in message.content


def test_submit_refused_when_followups_are_disabled(tenant, fake_llm):
    chat = start(tenant)
    tenant.followups_enabled = False
    db.session.commit()
    with pytest.raises(chats.FollowupsDisabled):
        chats.submit_followup(chat, {"name": "A", "email": "a@example.com", "reason": "x"})
    assert db.session.query(FollowUpRequest).count() == 0


# --- voice --------------------------------------------------------------------------------------


def test_voice_capture_spells_back_and_waits_for_confirmation(tenant, fake_llm):
    chat = start(tenant)
    offer = say(chat, "can I speak to someone about my invoice", mode="voice")
    assert offer.action is None
    assert offer.content.endswith("What's your email address?")
    assert say(chat, "john at example dot com", "voice").content == (
        "That's j-o-h-n at example dot com, correct?"
    )
    assert say(chat, "no", "voice").content == "Sorry about that. What's your email address?"
    assert say(chat, "jon at example dot com", "voice").content == (
        "That's j-o-n at example dot com, correct?"
    )
    assert say(chat, "yes", "voice").content == "What's your name?"
    assert say(chat, "My name is Jon Snow", "voice").content.startswith("What phone number")
    summary = say(chat, "plus one four one five five five five zero one zero zero", "voice")
    assert summary.content.startswith("Let me confirm: name Jon Snow, email j-o-n at example")
    assert db.session.query(FollowUpRequest).count() == 0  # nothing before the final yes
    assert say(chat, "no, that's wrong", "voice").content == ASK_WHICH
    assert say(chat, "the phone", "voice").content.startswith("What phone number")
    assert say(chat, "skip", "voice").content.endswith(
        ", no phone. Shall I send your request to the team?"
    )
    assert say(chat, "no, change the phone", "voice").content.startswith("What phone number")
    say(chat, "+1 415 555 0100", "voice")
    done = say(chat, "yes please", "voice")
    assert "We'll contact you within 24 hours." in done.content
    followup = db.session.query(FollowUpRequest).one()
    assert (followup.name, followup.email, followup.phone, followup.source) == (
        "Jon Snow",
        "jon@example.com",
        "+14155550100",
        Source.VOICE,
    )
    assert followup.reason.startswith("Customer asked: can I speak to someone")
    assert not chat.followup_capture


def test_voice_capture_drops_the_lead_ins_of_the_email_and_the_name(tenant, fake_llm):
    chat = start(tenant)
    say(chat, "can I speak to someone about my invoice", mode="voice")
    assert say(chat, "my email is john dot doe at example dot com", "voice").content == (
        "That's j-o-h-n dot d-o-e at example dot com, correct?"
    )
    assert say(chat, "yes", "voice").content == "What's your name?"
    assert say(chat, "Sure, it's John Doe.", "voice").content.startswith("What phone number")
    assert say(chat, "skip", "voice").content == (
        "Let me confirm: name John Doe, email j-o-h-n dot d-o-e at example dot com, "
        "no phone. Shall I send your request to the team?"
    )
    say(chat, "yes", "voice")
    followup = db.session.query(FollowUpRequest).one()
    assert (followup.name, followup.email) == ("John Doe", "john.doe@example.com")


BAD_SPOKEN_EMAIL = "Sorry, I didn't catch a valid email address. Could you say it again?"


@pytest.mark.parametrize(
    "heard",
    ["it's not sure", "my email is at example dot com", "sure, it's john at example"],
)
def test_a_spoken_email_that_is_no_address_is_asked_again_not_spelled_back(tenant, fake_llm, heard):
    chat = start(tenant)
    say(chat, "can I speak to someone about my invoice", mode="voice")

    assert say(chat, heard, "voice").content == BAD_SPOKEN_EMAIL
    assert (chat.followup_capture["step"], chat.followup_capture["email"]) == ("email", None)
    assert say(chat, "it's jane dot roe at example dot com", "voice").content == (
        "That's j-a-n-e dot r-o-e at example dot com, correct?"
    )
    assert chat.followup_capture["email"] == "jane.roe@example.com"
    assert db.session.query(FollowUpRequest).count() == 0


ASK_WHICH = "What should I change: your email, your name, or your phone number?"


def at_the_voice_summary(chat) -> Message:
    say(chat, "can I speak to someone about my invoice", mode="voice")
    say(chat, "john at example dot com", "voice")
    say(chat, "yes", "voice")
    say(chat, "My name is John Doe", "voice")
    return say(chat, "skip", "voice")


def test_details_refused_on_the_final_yes_go_back_to_the_detail_at_fault(tenant, fake_llm):
    chat = start(tenant)
    assert at_the_voice_summary(chat).content.startswith("Let me confirm: name John Doe")
    # A capture begun under older rules: its name is now too long for a request.
    chat.followup_capture = chat.followup_capture | {"name": "J" * 201}
    db.session.commit()

    assert say(chat, "yes", "voice").content == (
        "Sorry, I couldn't send that. Name: keep it to 200 characters or fewer (this has 201). "
        "What's your name?"
    )
    assert db.session.query(FollowUpRequest).count() == 0
    assert chat.followup_capture["step"] == "name"  # the capture goes on from there
    assert say(chat, "John Doe", "voice").content.startswith("Let me confirm: name John Doe")
    say(chat, "yes", "voice")
    assert db.session.query(FollowUpRequest).one().name == "John Doe"
    assert not chat.followup_capture


def test_followups_turned_off_during_a_capture_end_it_with_nothing_saved(tenant, fake_llm):
    chat = start(tenant)
    at_the_voice_summary(chat)
    tenant.followups_enabled = False
    db.session.commit()

    assert say(chat, "yes", "voice").content == (
        "Sorry, I can't pass requests to our team at the moment."
    )
    assert db.session.query(FollowUpRequest).count() == 0
    assert not chat.followup_capture


# --- one answer per client message -----------------------------------------------------------


def test_a_writer_thought_dead_that_finishes_late_leaves_the_first_answer_alone(
    tenant, fake_llm, clock
):
    chat = start(tenant)
    message = chats.post_client_message(chat, "hello")
    slow = chats.answer_message(chat, message.id)
    assert isinstance(next(slow), TextDelta)  # it claimed the turn and the model answers
    clock.shift(chats.MIN_ANSWER_LEASE_S + 1)
    taken_over = [e for e in chats.answer_message(chat, message.id) if isinstance(e, Message)]
    late = [e for e in slow if isinstance(e, Message)]
    assert late[0].id == taken_over[0].id
    answers = db.session.scalars(db.select(Message).where(Message.reply_to_id == message.id))
    assert len(list(answers)) == 1 and len(fake_llm.requests) == 2


def test_a_writer_still_streaming_keeps_the_turn_past_the_lease(tenant, fake_llm, clock):
    chat = start(tenant)
    message = chats.post_client_message(chat, "one two three four five")
    writer = chats.answer_message(chat, message.id)
    assert isinstance(next(writer), TextDelta)
    for _ in range(3):  # each word half a lease after the last: a lease and a half in all
        clock.shift(chats.MIN_ANSWER_LEASE_S / 2)
        assert isinstance(next(writer), TextDelta)
    follower = chats.answer_message(chat, message.id)
    assert isinstance(next(follower), chats.AnswerPending)  # it waits; it does not ask again
    follower.close()
    answers = [e for e in writer if isinstance(e, Message)]
    assert answers[0].content == "You said: one two three four five"
    assert len(fake_llm.requests) == 1


def test_an_api_message_is_claimed_as_it_is_saved_and_answered_once(tenant, fake_llm):
    chat = start(tenant)
    message, answer = chats.take_client_message(chat, "hello")
    saved = chats.whole_answer(answer)
    assert saved.reply_to_id == message.id
    # Any other stream asking for its answer gets that one, without the model.
    assert list(chats.answer_message(chat, message.id)) == [saved]
    assert len(fake_llm.requests) == 1


def test_a_silent_turn_gives_its_claim_back(tenant, staff, fake_llm, clock):
    chat = start(tenant)
    chats.post_staff_reply(chat, staff, "Olivia here.")
    message = chats.post_client_message(chat, "hello")
    assert list(chats.answer_message(chat, message.id)) == []
    assert db.session.get(Message, message.id).answer_claimed_at is None
    assert fake_llm.requests == []
