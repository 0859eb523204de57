"""Resolving a request as staff do, and the "How did we do?" link it brings, for the
satisfaction tests."""

import re

from followup.extensions import db
from followup.models import FollowUpRequest, Notification, NotificationKind, Status
from followup.services import followups
from followup.services.activity import Actor

STAFF = Actor("Olivia Owner")
RATING_PATH = re.compile(r"https?://[^/\s]+(/rate/[A-Za-z0-9_.\-]+)")


def resolve(followup: FollowUpRequest) -> FollowUpRequest:
    """Pending → Contacted → Resolved through the workflow, as a staff member does."""
    followups.change_status(followup.tenant_id, followup.id, Status.CONTACTED, STAFF)
    return followups.change_status(followup.tenant_id, followup.id, Status.RESOLVED, STAFF)


def survey_rows(followup: FollowUpRequest) -> list[Notification]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            db.select(Notification).where(
                Notification.followup_id == followup.id,
                Notification.kind == NotificationKind.SATISFACTION,
            )
        )
    )


def link_path(text: str) -> str:
    """The path of the one rating link in a message's text."""
    (path,) = RATING_PATH.findall(text)
    return path


def token_of(path: str) -> str:
    return path.removeprefix("/rate/")
