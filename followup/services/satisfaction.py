"""Customer satisfaction: the "How did we do?" link a customer gets when their request
is resolved, the rating it takes, and the figures for the reports.

The link carries (tenant, request, expiry) signed with itsdangerous under SECRET_KEY
and a salt of its own: it is short enough for an SMS (about 55 characters), which a
JWT is not, and needs no table. It stays single use without one: a request takes one
rating (the unique request id), and the link of a rated request only says so. The
expiry is in the signed payload, read against `clock.utcnow`, so tests move the clock.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError

from followup.clock import EPOCH, utcnow
from followup.errors import DomainError, ValidationFailed
from followup.extensions import db
from followup.locales import mark
from followup.models import SCORES, Chat, FollowUpRequest, SatisfactionRating, Tenant
from followup.notify.email import customer_locale
from followup.services.validation import FieldErrors, clean_text, number_in_range, problem

LINK_LIFETIME = timedelta(days=14)
MAX_COMMENT = 2000
MAX_TOKEN_LENGTH = 200  # a real one is about 55 characters
LINK_SALT = "followup satisfaction link"
# In English, as the admin panel shows them; the customer's page translates them.
SCORE_LABELS = {
    1: mark("Very poor"),
    2: mark("Poor"),
    3: mark("Okay"),
    4: mark("Good"),
    5: mark("Excellent"),
}
COMMENTS_LIMIT = 100  # the newest comments a summary lists


class LinkNotValid(DomainError):
    """Not signed by us, or naming a request that is not the tenant's."""

    code = "link_not_valid"
    http_status = 404

    def __init__(self):
        super().__init__(gettext("This link is not valid."))


class LinkExpired(DomainError):
    code = "link_expired"
    http_status = 410

    def __init__(self):
        super().__init__(gettext("This link has expired."))


class AlreadyRated(DomainError):
    code = "already_rated"
    http_status = 409

    def __init__(self):
        super().__init__(gettext("You already rated this request — thank you."))


# --- the link ----------------------------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=LINK_SALT)


def link_expiry(asked_at: datetime) -> datetime:
    """The link asked for at `asked_at` (the outbox row's time) works until then: the
    same link on every attempt to send it."""
    return asked_at + LINK_LIFETIME


def make_token(tenant_id: int, followup_id: int, expires_at: datetime) -> str:
    seconds = int((expires_at - EPOCH).total_seconds())
    return _serializer().dumps([tenant_id, followup_id, seconds])


def rating_url(tenant_id: int, followup_id: int, asked_at: datetime) -> str:
    token = make_token(tenant_id, followup_id, link_expiry(asked_at))
    return f"{current_app.config['PUBLIC_BASE_URL']}/rate/{token}"


@dataclass(frozen=True)
class RatingLink:
    """What a link names, once its signature is checked."""

    tenant: Tenant
    followup: FollowUpRequest
    expires_at: datetime


def _payload(token: object) -> tuple[int, int, int]:
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise LinkNotValid()
    try:
        payload = _serializer().loads(token)
    except BadData:
        raise LinkNotValid() from None
    if not (
        isinstance(payload, list)
        and len(payload) == 3
        and all(type(part) is int for part in payload)
    ):
        raise LinkNotValid()  # signed by us, but not a rating link's shape
    return payload[0], payload[1], payload[2]


def _rating_of(tenant_id: int, followup_id: int) -> SatisfactionRating | None:
    return db.session.scalar(
        select(SatisfactionRating).where(
            SatisfactionRating.tenant_id == tenant_id,
            SatisfactionRating.followup_id == followup_id,
        )
    )


def link_locale(token: object) -> str | None:
    """The language a link's pages speak, whatever state the link is in: its request's
    chat's, else the business's default for visitors (as the email that carried it).
    None for a link that is not ours."""
    try:
        tenant_id, followup_id, _expires = _payload(token)
    except LinkNotValid:
        return None
    followup = db.session.scalar(
        select(FollowUpRequest).where(
            FollowUpRequest.id == followup_id, FollowUpRequest.tenant_id == tenant_id
        )
    )
    if followup is None:
        return None
    return customer_locale(followup, db.session.get(Tenant, tenant_id))


def open_link(token: object) -> RatingLink:
    """The request a usable link rates. LinkNotValid for a forged or altered link, or one
    whose request is not its tenant's; AlreadyRated once it was used (checked before the
    expiry: a customer who rated is thanked, not told the link died); LinkExpired after
    LINK_LIFETIME."""
    tenant_id, followup_id, expires_s = _payload(token)
    followup = db.session.scalar(
        select(FollowUpRequest).where(
            FollowUpRequest.id == followup_id, FollowUpRequest.tenant_id == tenant_id
        )
    )
    if followup is None:
        raise LinkNotValid()
    if _rating_of(tenant_id, followup_id) is not None:
        raise AlreadyRated()
    expires_at = EPOCH + timedelta(seconds=expires_s)
    if utcnow() >= expires_at:
        raise LinkExpired()
    return RatingLink(db.session.get(Tenant, tenant_id), followup, expires_at)


def parse_score(value: object) -> int:
    score = number_in_range(value, SCORES[0], SCORES[-1])
    if score is None:
        advice = gettext(
            "choose one from %(lowest)s to %(highest)s.", lowest=SCORES[0], highest=SCORES[-1]
        )
        raise ValidationFailed({"score": problem(mark("Rating"), advice)})
    return score


def clean_comment(value: object) -> str:
    return (
        clean_text(value, "comment", mark("Comment"), required=False, max_length=MAX_COMMENT) or ""
    )


def rate(token: object, score: object, comment: object) -> SatisfactionRating:
    """Store the customer's rating through their link: once. Bad input is refused with
    the field's problem and stores nothing; so does a second use (AlreadyRated), even
    two at once (the request's unique rating)."""
    link = open_link(token)
    errors = FieldErrors()
    checked_score = errors.check(parse_score, score)
    checked_comment = errors.check(clean_comment, comment)
    errors.raise_if_any()
    rating = SatisfactionRating(
        tenant_id=link.tenant.id,
        followup_id=link.followup.id,
        score=checked_score,
        comment=checked_comment,
        created_at=utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(rating)
    except IntegrityError:
        db.session.rollback()
        raise AlreadyRated() from None
    db.session.commit()
    return rating


def rating_for(tenant_id: int, followup_id: int) -> SatisfactionRating | None:
    """The request's rating for its detail page, if the customer gave one."""
    return _rating_of(tenant_id, followup_id)


# --- the reports -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comment:
    followup_id: int
    score: int
    text: str
    created_at: datetime


@dataclass(frozen=True)
class Summary:
    """The ratings given in a period: `average` is None when there are none."""

    count: int
    average: float | None
    distribution: dict[int, int]
    comments: list[Comment] = field(default_factory=list)


def _in_period(
    statement: Select, tenant_id: int, start: datetime, end: datetime, agent_id: int | None
) -> Select:
    statement = statement.where(
        SatisfactionRating.tenant_id == tenant_id,
        SatisfactionRating.created_at >= start,
        SatisfactionRating.created_at < end,
    )
    if agent_id is not None:
        # The AI employee whose chat the request came from.
        statement = (
            statement.join(FollowUpRequest, FollowUpRequest.id == SatisfactionRating.followup_id)
            .join(Chat, Chat.id == FollowUpRequest.chat_id)
            .where(Chat.agent_id == agent_id)
        )
    return statement


def summary(
    tenant_id: int,
    start: datetime,
    end: datetime,
    agent_id: int | None = None,
    comments_limit: int = COMMENTS_LIMIT,
) -> Summary:
    """The tenant's ratings given from `start` (included) to `end` (excluded), both UTC;
    `agent_id`: only requests from that AI employee's chats. The comments (not empty),
    newest first, at most `comments_limit`."""
    counts = db.session.execute(
        _in_period(
            select(SatisfactionRating.score, func.count()), tenant_id, start, end, agent_id
        ).group_by(SatisfactionRating.score)
    ).all()
    distribution = dict.fromkeys(SCORES, 0) | {score: n for score, n in counts}
    count = sum(distribution.values())
    total = sum(score * n for score, n in distribution.items())
    rows = db.session.execute(
        _in_period(
            select(
                SatisfactionRating.followup_id,
                SatisfactionRating.score,
                SatisfactionRating.comment,
                SatisfactionRating.created_at,
            ),
            tenant_id,
            start,
            end,
            agent_id,
        )
        .where(SatisfactionRating.comment != "")
        .order_by(SatisfactionRating.created_at.desc(), SatisfactionRating.id.desc())
        .limit(comments_limit)
    ).all()
    return Summary(
        count=count,
        average=round(total / count, 2) if count else None,
        distribution=distribution,
        comments=[Comment(*row) for row in rows],
    )
