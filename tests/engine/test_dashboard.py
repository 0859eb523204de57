"""The query behind the monitoring dashboard (/admin/auto-followup): every chat of the
tenant with an active chain, soonest reminder first, with its next step, due time and
the reminders sent this cycle; search, the employee filter, pages, tenant scoping."""

from datetime import timedelta

import pytest

from followup.extensions import db
from followup.models import Status
from followup.services import autofollowup, chats, followups
from followup.services.autofollowup import active_chains
from followup.services.visitors import display_name
from tests.helpers.chains import START, client_says, make_agent, run_due, start_chat

HOUR = timedelta(hours=1)


def ids(page) -> list[int]:
    return [row.chat.id for row in page.rows]


def test_each_row_has_chat_employee_next_step_due_time_and_reminders_sent(chat, clock, tenant):
    client_says(chat)
    clock.move_to(START + 4 * HOUR)
    run_due()
    (row,) = active_chains(tenant.id).rows
    assert row.chat.id == chat.id and display_name(row.chat) == "Michael Brown"
    assert row.agent.name == "Alexey"
    assert (
        row.step.position == 2 and row.step.instruction == "Ask if the question is still relevant"
    )
    assert row.due_at == START + 28 * HOUR
    assert row.reminders_sent == 1

    client_says(chat, "Sorry, I was away")  # a new cycle: nothing sent in it yet
    (row,) = active_chains(tenant.id).rows
    assert (row.step.position, row.reminders_sent) == (1, 0)


def test_soonest_first_and_only_active_chains(chat, clock, tenant):
    idle = start_chat(tenant, name="Idle Ivy")  # greeting only: no chain
    later = start_chat(tenant, name="Later Lee")
    clock.advance(minutes=5)
    client_says(later)
    clock.advance(minutes=5)
    client_says(chat)
    assert ids(active_chains(tenant.id)) == [later.id, chat.id]
    assert idle.id not in ids(active_chains(tenant.id))


def test_search_by_client_name_agent_name_or_chat_title(clock, tenant):
    alexey = make_agent(tenant)
    michael = start_chat(tenant, name="Michael Brown")
    client_says(michael)
    alexey.serves_web_widget = False
    make_agent(tenant, name="Sofia")
    quote = start_chat(tenant, name="Quote for 40% off hoodies")
    client_says(quote)

    assert ids(active_chains(tenant.id, q="michael")) == [michael.id]
    assert ids(active_chains(tenant.id, q="ALEXEY")) == [michael.id]
    assert ids(active_chains(tenant.id, q="sofia")) == [quote.id]
    assert ids(active_chains(tenant.id, q="hoodies")) == [quote.id]
    assert ids(active_chains(tenant.id, q="40%")) == [quote.id]  # % is a character, not a wildcard
    assert ids(active_chains(tenant.id, q="%")) == [quote.id]
    assert ids(active_chains(tenant.id, q="nobody")) == []
    assert ids(active_chains(tenant.id, q="   ")) == [michael.id, quote.id]


def test_search_finds_the_customer_linked_to_the_chat(chat, clock, tenant, make_followup):
    client_says(chat)
    request = make_followup(tenant, name="Priya Patel", email="priya@example.com")
    chat.customer_id = request.customer_id
    chat.title = "Website visitor"
    db.session.commit()
    (row,) = active_chains(tenant.id, q="priya").rows
    assert display_name(row.chat) == "Priya Patel"


def test_filter_by_employee(clock, tenant):
    alexey = make_agent(tenant)
    first = start_chat(tenant)
    client_says(first)
    alexey.serves_web_widget = False
    sofia = make_agent(tenant, name="Sofia")
    second = start_chat(tenant)
    client_says(second)
    assert ids(active_chains(tenant.id, agent_id=alexey.id)) == [first.id]
    assert ids(active_chains(tenant.id, agent_id=sofia.id)) == [second.id]
    assert ids(active_chains(tenant.id)) == [first.id, second.id]  # "All employees"


def every_page(tenant_id: int, limit: int) -> list[int]:
    """The chat ids of every page, following each page's cursor to the end."""
    seen, cursor = [], None
    while True:
        page = active_chains(tenant_id, after=cursor, limit=limit)
        seen += ids(page)
        cursor = page.next_cursor
        if cursor is None:
            return seen


def test_pages_follow_each_other_without_gaps_or_repeats(agent, clock, tenant):
    chats = []
    for _ in range(5):
        chat = start_chat(tenant)
        client_says(chat)
        chats.append(chat.id)
    clock.advance(minutes=1)
    seen = every_page(tenant.id, limit=2)
    assert seen == chats
    assert ids(active_chains(tenant.id, after="garbage", limit=2)) == chats[:2]


@pytest.mark.parametrize(
    "cursor",
    [
        "\u00b2-1",  # a digit to str.isdigit, not to int()
        "1-\u00b2",
        "999999999999999999-1",  # past the last moment a datetime can hold
        f"1-{2**31}",  # past the largest id the schema holds
    ],
)
def test_a_cursor_no_page_gave_starts_from_the_first_page(chat, clock, tenant, cursor):
    client_says(chat)
    assert ids(active_chains(tenant.id, after=cursor)) == [chat.id]


def test_another_tenants_chains_never_show(chat, clock, tenant, other_tenant):
    client_says(chat)
    theirs = make_agent(other_tenant, name="Gustav")
    their_chat = start_chat(other_tenant, name="Michael Other")
    client_says(their_chat)
    assert ids(active_chains(tenant.id)) == [chat.id]
    assert ids(active_chains(tenant.id, q="michael")) == [chat.id]
    assert ids(active_chains(tenant.id, agent_id=theirs.id)) == []
    assert ids(active_chains(other_tenant.id)) == [their_chat.id]


def test_due_time_shows_when_the_reminder_will_really_go(clock, tenant, staff):
    make_agent(tenant, working_hours={"mon": [["09:00", "12:00"]], "wed": [["10:00", "11:00"]]})
    chat = start_chat(tenant)
    client_says(chat)
    (row,) = active_chains(tenant.id).rows
    assert row.due_at == START.replace(day=4, hour=10)  # Wednesday's opening


def test_paused_opted_out_and_switched_off_chains_are_not_listed(clock, tenant):
    agent = make_agent(tenant)
    paused, opted_out, running = (start_chat(tenant) for _ in range(3))
    for chat in (paused, opted_out, running):
        client_says(chat)
    autofollowup.set_paused(paused, True)
    autofollowup.opt_out(opted_out)
    assert ids(active_chains(tenant.id)) == [running.id]
    agent.autofollowup_enabled = False
    db.session.commit()
    assert ids(active_chains(tenant.id)) == []


# --- chats handed to the team ------------------------------------------------------------------


def hand_to_the_team(chat, name: str) -> int:
    """The client asks for a person and sends the form; returns the request's id."""
    client_says(chat, "Can a person call me?")
    form = {"name": name, "email": "client@example.com", "reason": "Call me back"}
    return chats.submit_followup(chat, form).followup.id


def test_chats_handed_to_the_team_follow_the_scheduled_ones_until_the_client_writes(
    chat, clock, tenant
):
    handed = start_chat(tenant, name="Hana Ito")
    request_id = hand_to_the_team(handed, "Hana Ito")
    clock.advance(minutes=5)
    client_says(chat)

    scheduled, handed_row = active_chains(tenant.id).rows
    assert (scheduled.chat.id, scheduled.handed_off) == (chat.id, False)
    assert (handed_row.chat.id, handed_row.handed_off, handed_row.followup_id) == (
        handed.id,
        True,
        request_id,
    )
    assert (handed_row.step, handed_row.due_at, handed_row.reminders_sent) == (None, None, 0)
    assert ids(active_chains(tenant.id, q="hana")) == [handed.id]

    clock.advance(minutes=5)
    client_says(handed, "Also: do you ship to Norway?")  # a new cycle, scheduled as usual
    rows = active_chains(tenant.id).rows
    assert [(row.chat.id, row.handed_off) for row in rows] == [(chat.id, False), (handed.id, False)]


def test_a_handed_off_chat_leaves_the_dashboard_once_the_team_closes_its_request(
    chat, clock, tenant
):
    request_id = hand_to_the_team(chat, "Michael Brown")
    team = followups.Actor("Olivia")
    followups.change_status(tenant.id, request_id, Status.CONTACTED, team)
    assert ids(active_chains(tenant.id)) == [chat.id]  # the team is still on it
    followups.change_status(tenant.id, request_id, Status.RESOLVED, team)
    assert ids(active_chains(tenant.id)) == []


def test_pages_run_on_from_the_scheduled_chats_into_the_handed_off_ones(agent, clock, tenant):
    scheduled, handed = [], []
    for n in range(3):
        chat = start_chat(tenant)
        client_says(chat)
        scheduled.append(chat.id)
        chat = start_chat(tenant)
        hand_to_the_team(chat, f"Client {n}")
        handed.insert(0, chat.id)  # the newest request first
        clock.advance(minutes=1)
    seen = every_page(tenant.id, limit=2)
    assert seen == scheduled + handed
    assert ids(active_chains(tenant.id, after="handed-off-x", limit=2)) == scheduled[:2]
