"""The one source of "now" so every time rule can be tested on a moved clock."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
