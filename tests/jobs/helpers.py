"""Reading the outbox from a test while workers in other processes write it, and
waiting for them."""

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import select

from followup.extensions import db
from followup.models import DeliveryState, Notification, Tenant

WAIT_S = 20.0


def outbox_rows() -> list[dict]:
    """Every notification as committed right now (plain values, oldest first)."""
    db.session.expire_all()
    rows = db.session.execute(select(Notification.__table__).order_by(Notification.id)).mappings()
    snapshot = [dict(row) for row in rows]
    db.session.rollback()  # hold no lock or snapshot while the workers write
    return snapshot


def all_sent() -> list[dict] | None:
    rows = outbox_rows()
    return rows if rows and all(row["state"] == DeliveryState.SENT for row in rows) else None


def row_of(channel: str) -> dict:
    (row,) = [row for row in outbox_rows() if row["channel"] == channel]
    return row


def configure_tenant(tenant: Tenant, **fields) -> Tenant:
    for name, value in fields.items():
        setattr(tenant, name, value)
    db.session.commit()
    return tenant


def wait_for(
    condition: Callable[[], object],
    what: str,
    worker=None,
    timeout_s: float = WAIT_S,
):
    """Poll until `condition()` is truthy (and return it); fail after `timeout_s`, or
    at once if `worker` (a conftest.WorkerProcess) has died."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        if worker is not None and worker.process.poll() is not None:
            pytest.fail(f"the worker exited while waiting for {what}:\n{worker.log()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.05)


def session_members(session_id: int) -> list[int]:
    """Every process of a session: the worker, its scheduler, cron and job processes."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == session_id:  # fields after the name: state, ppid, pgrp, session
            members.append(int(entry))
    return members


class BurstWorker(SimpleWorker):
    """RQ's in-process worker without its command channel: a burst in a test takes no
    remote commands, and stopping that channel's thread sometimes took a minute."""

    def subscribe(self) -> None:
        pass

    def unsubscribe(self) -> None:
        pass


def work_off(queue: Queue, redis_db) -> None:
    BurstWorker([queue], connection=redis_db).work(burst=True)
