"""A small, hand-made data set for the reports, around the spring change of daylight
saving time in Europe/Berlin (Sunday 29 March 2026 has 23 hours), and what each figure
of it must be, worked out by hand (see the comments beside each row).

The period is 27 March to 2 April 2026 (Berlin days); "now" is 2 April 12:00 UTC.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from followup.extensions import db
from followup.models import (
    Agent,
    AutoFollowupStep,
    ChainEnd,
    Channel,
    Chat,
    FollowUpRequest,
    Message,
    ModelPrice,
    ReminderSend,
    Role,
    SatisfactionRating,
    Source,
    Status,
    Tenant,
)

ZONE = "Europe/Berlin"
FIRST_DAY = "2026-03-27"
LAST_DAY = "2026-04-02"
NOW = datetime(2026, 4, 2, 12, 0, tzinfo=UTC)


def utc(month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


@dataclass
class ReportData:
    tenant: Tenant
    alex: Agent
    bea: Agent
    steps: dict[str, AutoFollowupStep]
    chats: dict[str, Chat]


def add_followup(
    tenant: Tenant,
    created_at: datetime,
    source: str = Source.API,
    chat: Chat | None = None,
    hours: int = 24,
    contacted_after: timedelta | None = None,
    status: str | None = None,
    assignee_id: int | None = None,
) -> FollowUpRequest:
    contacted_at = created_at + contacted_after if contacted_after is not None else None
    followup = FollowUpRequest(
        tenant_id=tenant.id,
        name="Customer",
        email="customer@example.com",
        reason="Help",
        source=source,
        chat_id=chat.id if chat else None,
        assignee_id=assignee_id,
        status=status or (Status.CONTACTED if contacted_at else Status.PENDING),
        created_at=created_at,
        response_time_hours=hours,
        due_at=created_at + timedelta(hours=hours),
        contacted_at=contacted_at,
    )
    db.session.add(followup)
    return followup


def add_agent(tenant: Tenant, name: str, positions: int) -> tuple[Agent, list[AutoFollowupStep]]:
    agent = Agent(tenant_id=tenant.id, name=name)
    db.session.add(agent)
    db.session.flush()
    steps = [
        AutoFollowupStep(agent_id=agent.id, position=n, delay_minutes=60, instruction=f"Nudge {n}")
        for n in range(1, positions + 1)
    ]
    db.session.add_all(steps)
    db.session.flush()
    return agent, steps


def _chat(agent: Agent, created_at: datetime, channel: str = Channel.WEB, **fields) -> Chat:
    chat = Chat(
        tenant_id=agent.tenant_id,
        agent_id=agent.id,
        channel=channel,
        created_at=created_at,
        last_message_at=created_at,
        **fields,
    )
    db.session.add(chat)
    db.session.flush()
    return chat


def _say(chat: Chat, role: str, at: datetime, **fields) -> None:
    db.session.add(Message(chat_id=chat.id, role=role, content="…", created_at=at, **fields))


def _send(chat: Chat, step: AutoFollowupStep, cycle: int, at: datetime) -> None:
    db.session.add(ReminderSend(chat_id=chat.id, step_id=step.id, cycle=cycle, sent_at=at))


def _rate(followup: FollowUpRequest, score: int, comment: str, at: datetime) -> None:
    db.session.add(
        SatisfactionRating(
            tenant_id=followup.tenant_id,
            followup_id=followup.id,
            score=score,
            comment=comment,
            created_at=at,
        )
    )


def build(tenant: Tenant, owner_id: int) -> ReportData:
    """The data set; every comment gives the Berlin day and what the row counts for."""
    tenant.timezone = ZONE
    alex, (s1, s2) = add_agent(tenant, "Alex", 2)
    bea, (s3,) = add_agent(tenant, "Bea", 1)
    c1 = _chat(alex, utc(3, 28, 20))  # 28 Mar 21:00 CET
    c2 = _chat(
        alex,
        utc(3, 30, 8),
        Channel.SMS,
        opted_out=True,
        opted_out_at=utc(3, 30, 13),
        chain_ended=ChainEnd.EXHAUSTED,
    )
    c3 = _chat(bea, utc(4, 1, 9))
    c4 = _chat(alex, utc(3, 20, 9), chain_ended=ChainEnd.EXHAUSTED)  # before the period
    c5 = _chat(bea, utc(3, 29, 21))  # 29 Mar 23:00 CEST

    # Follow-ups (promise 24 h unless said).
    f1 = add_followup(
        tenant, utc(3, 27, 10), contacted_after=timedelta(hours=2), assignee_id=owner_id
    )
    # 28 Mar 23:30 UTC is 00:30 on 29 Mar in Berlin; contacted after 30 h: late.
    add_followup(
        tenant,
        utc(3, 28, 23, 30),
        Source.TEXT,
        c1,
        contacted_after=timedelta(hours=30),
        assignee_id=owner_id,
    )
    # 29 Mar 21:30 UTC is 23:30 CEST, still 29 Mar (a fixed +1 h would say so too).
    f3 = add_followup(
        tenant, utc(3, 29, 21, 30), Source.VOICE, c5, contacted_after=timedelta(hours=6)
    )
    # 29 Mar 22:30 UTC is 00:30 CEST on 30 Mar (a fixed +1 h would say 29 Mar).
    f4 = add_followup(
        tenant,
        utc(3, 29, 22, 30),
        Source.TEXT,
        c2,
        contacted_after=timedelta(hours=10),
        assignee_id=owner_id,
    )
    add_followup(tenant, utc(3, 30, 9), status=Status.CANCELLED)  # no contact: not decided
    f6 = add_followup(
        tenant, utc(3, 31, 10), contacted_after=timedelta(hours=1), assignee_id=owner_id
    )
    add_followup(tenant, utc(4, 1, 8), hours=4)  # due 1 Apr 12:00 UTC: overdue now
    add_followup(tenant, utc(4, 2, 6), hours=8)  # at risk from 12:00 UTC (75%), due 14:00
    add_followup(tenant, utc(4, 2, 11))  # under the promise
    f10 = add_followup(tenant, utc(3, 26, 12))  # before the period, pending: overdue in the backlog

    # Ratings (by when they were given): 3 in the period, average 11 / 3 = 3.67.
    db.session.flush()
    _rate(f1, 5, "Quick & kind <3", utc(3, 26, 23))  # 27 Mar 00:00 CET: the first instant
    _rate(f4, 4, "", utc(3, 29, 10))  # no comment: counted, not listed
    _rate(f3, 2, "<script>alert(1)</script> too slow", utc(4, 1, 9))  # Bea's chat
    _rate(f10, 1, "Before the period", utc(3, 26, 22, 59, 59))  # 26 Mar 23:59:59 CET: out
    _rate(f6, 3, "After the period", utc(4, 2, 22))  # 3 Apr 00:00 CEST: out

    # Messages: customers' and the AI's (tokens, model; one failure that fell back).
    _say(c1, Role.CLIENT, utc(3, 28, 20))
    _say(c1, Role.AGENT, utc(3, 28, 20, 1), model="gpt-x", prompt_tokens=100, completion_tokens=20)
    _say(c1, Role.CLIENT, utc(3, 28, 23))
    _say(c1, Role.AGENT, utc(3, 28, 23, 1), model_failed=True)
    _say(c1, Role.CLIENT, utc(3, 31, 9))
    _say(c1, Role.AGENT, utc(3, 31, 9, 1), model="gpt-x", prompt_tokens=200, completion_tokens=40)
    _say(c2, Role.CLIENT, utc(3, 30, 8))
    _say(c2, Role.AGENT, utc(3, 30, 8, 1), model="gpt-y", prompt_tokens=1000, completion_tokens=500)
    _say(c3, Role.CLIENT, utc(4, 1, 9))
    _say(c3, Role.AGENT, utc(4, 1, 9, 1), model="gpt-x", prompt_tokens=50, completion_tokens=10)
    _say(c3, Role.CLIENT, utc(4, 2, 10, 0, 1))
    _say(c4, Role.CLIENT, utc(3, 20, 9))
    _say(c4, Role.AGENT, utc(3, 20, 9, 1), model="gpt-x", prompt_tokens=999, completion_tokens=999)

    # Reminders, and whether the customer wrote back within 24 h.
    _send(c1, s1, 1, utc(3, 28, 21))  # answered at 23:00
    _send(c1, s1, 2, utc(3, 29, 10))  # next client message 47 h later: no
    _send(c1, s2, 2, utc(3, 30, 10))  # answered 23 h later
    _send(c2, s1, 1, utc(3, 30, 12))  # no answer
    _send(c2, s2, 1, utc(3, 31, 12))  # no answer; the chain is exhausted
    _send(c3, s3, 1, utc(4, 1, 10))  # answered 24 h and 1 s later: too late
    _send(c4, s1, 1, utc(3, 21, 9))  # before the period

    db.session.add(
        ModelPrice(
            tenant_id=tenant.id,
            model="gpt-x",
            input_per_million=Decimal("2.50"),
            output_per_million=Decimal("10.00"),
        )
    )
    db.session.commit()
    return ReportData(
        tenant, alex, bea, {"s1": s1, "s2": s2, "s3": s3}, {"c1": c1, "c2": c2, "c3": c3}
    )
