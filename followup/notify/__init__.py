"""Telling people: the email and SMS senders, and how their failures read. They send
what they are given; the outbox that decides who is told and retries what failed is
`services.notifications`."""

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from followup.clock import utcnow
from followup.extensions import db
from followup.models import DeliveryState

# How far back `sent_lately` counts the emails made for one address.
RECIPIENT_WINDOW = timedelta(hours=1)

# Line breaks of every kind and other control characters: in a header they would
# start a new header (injection); in an SMS line they would forge another line.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")


class NotSent(Exception):
    """A message that did not go out. `str()` is the technical text (the provider's
    words); `staff_text` says it in the words staff read (see failures.py)."""

    def __init__(self, technical: str, staff_text: str | None = None):
        super().__init__(technical)
        self.staff_text = staff_text or technical


class DeliveryFailed(NotSent):
    """A failure that may pass (the provider is down or busy): retried later."""


class Undeliverable(NotSent):
    """A failure that retrying cannot fix (nobody to send to, SMS not configured,
    an address or number the provider refuses): the notification fails at once."""


def sent_lately(created_at, *where) -> int:
    """Rows matching `where` made in the last hour (`created_at`: their model's column).
    The one count behind every cap on emails anybody can make a business send to one
    address: confirmations, login links."""
    return db.session.scalar(
        select(func.count())
        .select_from(created_at.class_)
        .where(*where, created_at > utcnow() - RECIPIENT_WINDOW)
    )


def one_line(text: str, limit: int) -> str:
    """Customer text made safe for a header or a one-line field: control characters
    become spaces, runs of spaces shrink to one, and it ends in "…" beyond `limit`."""
    flat = " ".join(_CONTROL_CHARACTERS.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass(frozen=True)
class Receipt:
    """How a message went out: the provider's id for it (Message-ID, SMS SID, or the
    name of the file it was saved to in `email.mail_folder`) and the delivery state
    to record."""

    provider_id: str
    state: DeliveryState = DeliveryState.SENT
