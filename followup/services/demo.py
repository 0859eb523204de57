"""The demo tenant that `make run` seeds into an empty database."""

import random
from datetime import timedelta

from sqlalchemy import select

from followup.clock import utcnow
from followup.extensions import db
from followup.models import Priority, Source, StaffUser, Status, Tenant
from followup.services import accounts, followups

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


def seed() -> Tenant:
    tenant = accounts.create_tenant(
        DEMO_SLUG, "Demo Company", contact_email="team@demo.example.com", timezone="UTC"
    )
    accounts.create_staff_user(DEMO_SLUG, DEMO_EMAIL, DEMO_PASSWORD, name="Demo Admin")
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
        )
        request.created_at = utcnow() - timedelta(hours=age_hours)
        db.session.commit()
        if age_hours >= 75:
            followups.change_status(tenant.id, request.id, Status.CONTACTED, admin)
    return tenant
