"""Customer satisfaction, the service: who is asked and when (once per request, never
with the setting off), the link's rules (expired, used, wrong tenant, forged), the
rating's checks, and the reports' summary on a hand-made set of ratings."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from itsdangerous import URLSafeSerializer

from followup.errors import TransitionNotAllowed, ValidationFailed
from followup.extensions import db, mail
from followup.models import DeliveryState, NotificationChannel, SatisfactionRating, Status
from followup.notify import failures
from followup.services import followups, notifications, satisfaction
from tests.helpers.agents import make_agent, make_chat
from tests.helpers.jobs import configure_tenant
from tests.helpers.satisfaction import STAFF, link_path, resolve, survey_rows, token_of

RESOLVED_AT = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(RESOLVED_AT, tick=False) as traveller:
        yield traveller


def resolved_with_link(followup) -> str:
    """Resolve the request and return the token of the link the customer got by email."""
    with mail.record_messages() as sent:
        resolve(followup)
    (message,) = sent
    assert message.recipients == [followup.email]
    return token_of(link_path(message.body))


def ratings() -> list[tuple[int, int, str]]:
    db.session.expire_all()
    rows = db.session.scalars(db.select(SatisfactionRating).order_by(SatisfactionRating.id))
    return [(row.followup_id, row.score, row.comment) for row in rows]


# --- who is asked, and how often --------------------------------------------------------------


def test_resolving_emails_the_customer_once_with_a_link_to_rate_the_request(
    tenant, make_followup, clock
):
    followup = make_followup(tenant, email="maria@example.com")
    with mail.record_messages() as sent:
        resolve(followup)
    (message,) = sent
    assert message.subject == "Acme Inc: how did we do?"
    assert "Your request to Acme Inc is resolved. How did we do?" in message.body
    assert "The link works once, for 14 days." in message.body
    link = satisfaction.open_link(token_of(link_path(message.body)))
    assert (link.tenant.id, link.followup.id) == (tenant.id, followup.id)
    assert link.expires_at == RESOLVED_AT + timedelta(days=14)
    (row,) = survey_rows(followup)
    assert (row.channel, row.recipient, row.state) == (
        NotificationChannel.CUSTOMER_EMAIL,
        "maria@example.com",
        DeliveryState.SENT,
    )


def test_a_request_is_asked_once_whatever_happens_to_it_later(tenant, make_followup, clock):
    followup = make_followup(tenant)
    resolve(followup)
    # Resolved is final today; should a reopening ever come, resolving again asks nobody.
    with pytest.raises(TransitionNotAllowed):
        followups.change_status(tenant.id, followup.id, Status.RESOLVED, STAFF)
    assert notifications.add_for_resolved(followup) == []
    db.session.commit()
    assert len(survey_rows(followup)) == 1


def test_bulk_resolving_asks_each_customer_once(tenant, make_followup, clock):
    first, second = make_followup(tenant), make_followup(tenant)
    ids = [first.id, second.id]
    followups.bulk_status(tenant.id, ids, Status.CONTACTED, STAFF)
    with mail.record_messages() as sent:
        followups.bulk_status(tenant.id, ids, Status.RESOLVED, STAFF)
        followups.bulk_status(tenant.id, ids, Status.RESOLVED, STAFF)  # already there
    assert sorted(m.recipients[0] for m in sent) == sorted([first.email, second.email])
    assert [len(survey_rows(first)), len(survey_rows(second))] == [1, 1]


@pytest.mark.parametrize("status", [Status.CONTACTED, Status.CANCELLED])
def test_other_moves_ask_nobody(tenant, make_followup, status):
    followup = make_followup(tenant)
    followups.change_status(tenant.id, followup.id, status, STAFF)
    assert survey_rows(followup) == []


def test_with_the_setting_off_nobody_is_asked(tenant, make_followup):
    configure_tenant(tenant, satisfaction_survey_enabled=False)
    followup = make_followup(tenant)
    with mail.record_messages() as sent:
        resolve(followup)
    assert sent == []
    assert survey_rows(followup) == []


def test_a_customer_with_only_a_phone_gets_the_short_link_by_sms(tenant, make_followup):
    configure_tenant(tenant, sms_enabled=True)
    followup = make_followup(tenant, phone="+1 415 555 0199")
    followup.email = ""  # a request without an email, as older ones may be
    db.session.commit()
    resolve(followup)
    (row,) = survey_rows(followup)
    assert (row.channel, row.recipient) == (NotificationChannel.CUSTOMER_SMS, "+14155550199")


def test_no_email_and_sms_off_asks_nobody(tenant, make_followup):
    followup = make_followup(tenant, phone="+1 415 555 0199")
    followup.email = ""
    db.session.commit()
    resolve(followup)
    assert survey_rows(followup) == []


def test_a_question_still_unsent_when_its_link_expires_is_not_sent(tenant, make_followup, clock):
    followup = make_followup(tenant)
    # Staged, never queued (as when Redis was down and stayed down for two weeks).
    (key,) = notifications.add_for_resolved(followup)
    db.session.commit()
    clock.move_to(RESOLVED_AT + timedelta(days=14))
    with mail.record_messages() as sent:
        notifications.deliver([key[0]])
    assert sent == []
    (row,) = survey_rows(followup)
    assert (row.state, row.last_error) == (DeliveryState.FAILED, failures.LINK_NO_LONGER_VALID)


# --- the link's rules -------------------------------------------------------------------------


def test_the_link_works_until_14_days_after_the_resolution_then_expires(
    tenant, make_followup, clock
):
    token = resolved_with_link(make_followup(tenant))
    clock.move_to(RESOLVED_AT + timedelta(days=14) - timedelta(seconds=1))
    assert satisfaction.open_link(token).followup.status == Status.RESOLVED
    clock.move_to(RESOLVED_AT + timedelta(days=14))
    with pytest.raises(satisfaction.LinkExpired, match="This link has expired"):
        satisfaction.open_link(token)
    with pytest.raises(satisfaction.LinkExpired):
        satisfaction.rate(token, "5", "")
    assert ratings() == []


def test_the_link_rates_once_and_a_second_use_changes_nothing(tenant, make_followup, clock):
    followup = make_followup(tenant)
    token = resolved_with_link(followup)
    satisfaction.rate(token, "4", "  Quick and kind.  ")
    with pytest.raises(satisfaction.AlreadyRated, match="You already rated this request"):
        satisfaction.rate(token, "1", "Changed my mind")
    with pytest.raises(satisfaction.AlreadyRated):
        satisfaction.open_link(token)
    # Used, then past its 14 days: still thanked, not told the link died.
    clock.move_to(RESOLVED_AT + timedelta(days=30))
    with pytest.raises(satisfaction.AlreadyRated):
        satisfaction.open_link(token)
    assert ratings() == [(followup.id, 4, "Quick and kind.")]


def test_a_link_naming_another_tenants_request_is_not_valid(
    tenant, other_tenant, make_followup, clock
):
    theirs = make_followup(other_tenant)
    resolve(theirs)
    # Signed by us, but the request is not the named tenant's.
    token = satisfaction.make_token(tenant.id, theirs.id, RESOLVED_AT + timedelta(days=14))
    with pytest.raises(satisfaction.LinkNotValid, match="This link is not valid"):
        satisfaction.rate(token, "5", "")
    assert ratings() == []


def test_forged_and_altered_links_are_not_valid(tenant, make_followup, app, clock):
    followup = make_followup(tenant)
    token = resolved_with_link(followup)
    payload, signature = token.split(".")
    other_key = URLSafeSerializer("another-secret-key", salt=satisfaction.LINK_SALT)
    unsigned_shape = URLSafeSerializer(app.config["SECRET_KEY"], salt=satisfaction.LINK_SALT)
    forged = [
        "",
        "not-a-token",
        f"{payload}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",  # signature changed
        f"{payload}x.{signature}",  # payload changed
        other_key.dumps([tenant.id, followup.id, 4_000_000_000]),  # signed with another key
        unsigned_shape.dumps({"tenant": tenant.id}),  # our key, not a rating link's shape
        URLSafeSerializer(app.config["SECRET_KEY"]).dumps([tenant.id, followup.id, 4_000_000_000]),
        token + "A" * 200,  # longer than any link
    ]
    for bad in forged:
        with pytest.raises(satisfaction.LinkNotValid):
            satisfaction.rate(bad, "5", "")
    assert ratings() == []


@pytest.mark.parametrize("score", ["0", "6", "4.5", "four", "", None, "-1", "99999999999"])
def test_a_score_outside_1_to_5_is_refused_and_stores_nothing(tenant, make_followup, score):
    token = resolved_with_link(make_followup(tenant))
    with pytest.raises(ValidationFailed) as refused:
        satisfaction.rate(token, score, "")
    assert refused.value.fields == {"score": "Rating: choose one from 1 to 5."}
    assert ratings() == []
    satisfaction.open_link(token)  # the link still works


def test_a_comment_over_2000_characters_is_refused(tenant, make_followup):
    token = resolved_with_link(make_followup(tenant))
    with pytest.raises(ValidationFailed) as refused:
        satisfaction.rate(token, "3", "x" * 2001)
    assert list(refused.value.fields) == ["comment"]
    assert ratings() == []
    satisfaction.rate(token, "3", "x" * 2000)
    assert ratings()[0][2] == "x" * 2000


# --- the reports' summary ---------------------------------------------------------------------

NOVEMBER = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))


def rated(tenant, followup, score: int, comment: str, at: datetime) -> None:
    db.session.add(
        SatisfactionRating(
            tenant_id=tenant.id,
            followup_id=followup.id,
            score=score,
            comment=comment,
            created_at=at,
        )
    )
    db.session.commit()


@pytest.fixture
def hand_made_ratings(tenant, other_tenant, make_followup):
    """Ratings around November 2026 (UTC); requests from the chats of Alex and Sam, or none."""
    alex, sam = make_agent(tenant, "Alex"), make_agent(tenant, "Sam")
    requests = [make_followup(tenant) for _ in range(7)]
    for followup, agent in zip(requests[:3], (alex, alex, sam), strict=True):
        followup.chat_id = make_chat(agent).id
    db.session.commit()
    r = requests
    rated(tenant, r[0], 5, "Great service", datetime(2026, 11, 1, 0, 0, tzinfo=UTC))  # start: in
    rated(tenant, r[1], 4, "", datetime(2026, 11, 10, 12, 0, tzinfo=UTC))
    rated(tenant, r[2], 2, "Slow answer", datetime(2026, 11, 20, 8, 30, tzinfo=UTC))
    rated(tenant, r[3], 4, "", datetime(2026, 11, 15, 0, 0, tzinfo=UTC))
    rated(tenant, r[4], 3, "Fine", datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC))
    rated(tenant, r[5], 1, "After", datetime(2026, 12, 1, 0, 0, tzinfo=UTC))  # end: out
    rated(tenant, r[6], 3, "Before", datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC))
    rated(other_tenant, make_followup(other_tenant), 1, "Theirs", datetime(2026, 11, 5, tzinfo=UTC))
    return {"alex": alex, "sam": sam, "requests": requests}


def test_summary_of_a_period(tenant, hand_made_ratings):
    r = hand_made_ratings["requests"]
    result = satisfaction.summary(tenant.id, *NOVEMBER)
    assert result.count == 5
    assert result.average == 3.6  # (5 + 4 + 2 + 4 + 3) / 5
    assert result.distribution == {1: 0, 2: 1, 3: 1, 4: 2, 5: 1}
    assert [(c.followup_id, c.score, c.text, c.created_at) for c in result.comments] == [
        (r[4].id, 3, "Fine", datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)),
        (r[2].id, 2, "Slow answer", datetime(2026, 11, 20, 8, 30, tzinfo=UTC)),
        (r[0].id, 5, "Great service", datetime(2026, 11, 1, 0, 0, tzinfo=UTC)),
    ]


def test_summary_for_one_ai_employee(tenant, hand_made_ratings):
    r = hand_made_ratings["requests"]
    alex = satisfaction.summary(tenant.id, *NOVEMBER, agent_id=hand_made_ratings["alex"].id)
    assert (alex.count, alex.average) == (2, 4.5)
    assert alex.distribution == {1: 0, 2: 0, 3: 0, 4: 1, 5: 1}
    assert [c.followup_id for c in alex.comments] == [r[0].id]
    sam = satisfaction.summary(tenant.id, *NOVEMBER, agent_id=hand_made_ratings["sam"].id)
    assert (sam.count, sam.average, sam.distribution[2]) == (1, 2.0, 1)


def test_summary_of_an_empty_period(tenant, hand_made_ratings):
    start = datetime(2026, 9, 1, tzinfo=UTC)
    result = satisfaction.summary(tenant.id, start, start + timedelta(days=30))
    assert (result.count, result.average, result.comments) == (0, None, [])
    assert result.distribution == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}
