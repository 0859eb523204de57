"""The demo tenant that `make run` seeds into an empty database."""

import random
from datetime import timedelta

from sqlalchemy import func, select

from followup.clock import utcnow
from followup.extensions import db
from followup.llm.client import Completion
from followup.models import (
    Agent,
    AutoFollowupStep,
    Channel,
    Chat,
    Customer,
    FollowUpRequest,
    Priority,
    Role,
    Source,
    StaffUser,
    Status,
    Tenant,
)
from followup.services import (
    autofollowup,
    followups,
    messages,
    promise,
    reminder_sending,
    staff_accounts,
    tenants,
)
from followup.services.agents import EXAMPLE_CHAIN

DEMO_SLUG = "demo"
DEMO_EMAIL = "admin@demo.example.com"
DEMO_PASSWORD = "followup-demo"  # noqa: S105 - printed by `make run`; a local sandbox, not production

SAMPLES = [
    (
        "Maria Garcia",
        "maria.garcia@example.com",
        "+14155550101",
        "Wants a quote for 40 custom-printed hoodies for her team before March.",
        Priority.HIGH,
    ),
    (
        "John Smith",
        "john.smith@example.com",
        None,
        "Asked to speak with a person about a refund for a damaged order #1042.",
        Priority.HIGH,
    ),
    (
        "Aiko Tanaka",
        "aiko@example.org",
        "+442071838750",
        "Enterprise pricing for 300 seats and SSO; needs a call with sales.",
        Priority.NORMAL,
    ),
    (
        "Lukas Weber",
        "lukas.weber@example.de",
        None,
        "Would like to book a consultation about a kitchen renovation.",
        Priority.NORMAL,
    ),
    (
        "Fatima Khan",
        "fatima.khan@example.com",
        "+14155550199",
        "Technical issue: the mobile app logs her out every few minutes.",
        Priority.NORMAL,
    ),
]


def database_is_empty() -> bool:
    return db.session.scalar(select(Tenant.id).limit(1)) is None


def demo_login_exists() -> bool:
    return db.session.scalar(select(StaffUser.id).where(StaffUser.email == DEMO_EMAIL)) is not None


# Conversations where the business answered last, so each runs its chain on the
# dashboard: (title, minutes ago of each line, role, text). A line of role
# REMINDER is step 1 of the example chain, already sent.
REMINDER = "reminder"
ANONYMOUS_TITLE = ""  # a nameless visitor, shown by the chat's label ("Visitor 4F2A")
SAMPLE_CHATS = [
    (
        "Maria Garcia",
        [
            (130, Role.CLIENT, "Hi! Do you print custom hoodies for teams?"),
            (129, Role.AGENT, "We do! How many hoodies do you need, and by when?"),
            (125, Role.CLIENT, "About 40, before March. I need to check the sizes with my team."),
            (
                124,
                Role.AGENT,
                "Sounds good! Send me the sizes when you have them and I'll price it.",
            ),
        ],
    ),
    (
        ANONYMOUS_TITLE,
        [
            (35, Role.CLIENT, "What are your opening hours?"),
            (
                34,
                Role.AGENT,
                "We're open Monday to Friday, 9:00 to 18:00. Anything else I can help with?",
            ),
        ],
    ),
    (
        "Aiko Tanaka",
        [
            (400, Role.CLIENT, "Do you have enterprise pricing for about 300 seats with SSO?"),
            (399, Role.AGENT, "We do. Would you like someone from sales to contact you?"),
            (
                150,
                REMINDER,
                "Hi Aiko, just checking in: we're here and happy to help with the enterprise "
                "plan whenever you're ready.",
            ),
        ],
    ),
]


def _seed_agent(tenant: Tenant) -> Agent:
    agent = Agent(
        tenant_id=tenant.id,
        name="Alex",
        role="Customer support assistant",
        tone="Friendly, clear and concise",
        serves_web_widget=True,
        autofollowup_enabled=True,
    )
    for position, (delay, instruction) in enumerate(EXAMPLE_CHAIN, start=1):
        agent.steps.append(
            AutoFollowupStep(position=position, delay_minutes=delay, instruction=instruction)
        )
    db.session.add(agent)
    return agent


def _seed_chats(tenant: Tenant, agent: Agent) -> dict[str, Chat]:
    """Replay each sample conversation at its past moments through the chain's own
    rules, so the dashboard shows real chains; returns the chats by title. No job is
    queued here (the worker may not run yet); the worker's sweep picks each reminder up
    when it is due."""
    now = utcnow()
    chats = {}
    db.session.flush()  # the agent's steps get their ids
    for title, lines in SAMPLE_CHATS:
        chat = Chat(
            tenant_id=tenant.id,
            agent=agent,
            channel=Channel.WEB,
            title=title,
            visitor={"name": title} if title != ANONYMOUS_TITLE else {},
            created_at=now - timedelta(minutes=lines[0][0]),
        )
        db.session.add(chat)
        db.session.flush()  # its id and column defaults
        for minutes_ago, role, text in lines:
            at = now - timedelta(minutes=minutes_ago)
            if role == REMINDER:
                reminder_sending.record_reminder(
                    chat, agent.steps[0], Completion(text, None, None, None), at
                )
                continue
            messages.append(chat, role, text, at=at)
        db.session.flush()
        autofollowup.plan(chat, now)
        chats[title] = chat
    return chats


def seed() -> Tenant:
    tenant = tenants.create_tenant(
        DEMO_SLUG, "Demo Company", contact_email="team@demo.example.com", timezone="UTC"
    )
    # `make run` serves on 127.0.0.1:5000: let a page there embed the widget.
    tenant.allowed_origins = ["http://127.0.0.1:5000", "http://localhost:5000"]
    chats = _seed_chats(tenant, _seed_agent(tenant))
    db.session.commit()
    staff_accounts.create_staff_user(DEMO_SLUG, DEMO_EMAIL, DEMO_PASSWORD, name="Demo Admin")
    admin = followups.Actor("Demo Admin")
    rng = random.Random(7)  # noqa: S311 - sample data, not security
    for age_hours, (name, email, phone, reason, priority) in zip(
        (2, 30, 50, 75, 120), SAMPLES, strict=True
    ):
        request = followups.create_followup(
            tenant.id,
            {
                "name": name,
                "email": email,
                "phone": phone,
                "reason": reason,
                "priority": priority,
                "summary": "The customer chatted with the AI assistant, which offered a follow-up.",
            },
            source=rng.choice([Source.TEXT, Source.VOICE]),
            # Made-up customers of made-up hours ago: nobody is emailed or texted.
            notify=False,
        )
        if name in chats:  # the same person chatted: the chat is theirs (Users lists it)
            chats[name].customer_id = request.customer_id
        request.created_at = utcnow() - timedelta(hours=age_hours)
        promise.start_clock(request, request.response_time_hours)  # due from then
        promise.stop_clock(request)  # and no alerts about made-up customers either
        db.session.commit()
        if age_hours >= 75:
            followups.change_status(tenant.id, request.id, Status.CONTACTED, admin)
    _date_customers_by_first_contact(tenant.id)
    return tenant


def _date_customers_by_first_contact(tenant_id: int) -> None:
    """A sample customer was added when they first wrote or asked, hours ago, not when
    the demo was seeded: the Users page says "added 2 hours ago" beside a request of then."""
    customers = db.session.scalars(select(Customer).where(Customer.tenant_id == tenant_id)).all()
    for customer in customers:
        firsts = [
            db.session.scalar(
                select(func.min(model.created_at)).where(model.customer_id == customer.id)
            )
            for model in (FollowUpRequest, Chat)
        ]
        customer.created_at = min(
            [at for at in firsts if at is not None], default=customer.created_at
        )
    db.session.commit()
