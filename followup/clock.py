"""The one source of "now" so every time rule can be tested on a moved clock."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso_utc(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a "Z", e.g. 2026-11-21T09:40:00Z (None stays None)."""
    # isoformat, not strftime: it runs for every card of a page, and costs a third less.
    return None if moment is None else moment.astimezone(UTC).isoformat("T", "seconds")[:19] + "Z"
