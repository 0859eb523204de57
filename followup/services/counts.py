"""Counts over every tenant for the operator's metrics (web/metrics.py): plain numbers,
never a tenant's name or data."""

from sqlalchemy import func, select

from followup.extensions import db
from followup.models import DeliveryState, Notification


def notifications_by_state() -> dict[DeliveryState, int]:
    """How many notifications are in each state; a state with none counts 0."""
    rows = db.session.execute(
        select(Notification.state, func.count()).group_by(Notification.state)
    ).all()
    db.session.rollback()  # a scrape holds no snapshot
    found = {DeliveryState(state): count for state, count in rows}
    return {state: found.get(state, 0) for state in DeliveryState}
