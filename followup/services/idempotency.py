"""Idempotency keys: a create sent again with the same key is carried out once.

A key is claimed (its row inserted, not committed) before the create, and committed
with what the create wrote and the answer it gave: a key is unused or answered, never
half-done. Two requests with one key at once: the second's insert waits on the unique
index until the first commits, then gets the first's answer (or, when the first
failed, goes ahead itself). Keys last KEY_TTL; each claim deletes its tenant's expired keys.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from followup.clock import utcnow
from followup.errors import DomainError
from followup.extensions import db
from followup.models import IdempotencyKey

KEY_TTL = timedelta(hours=24)
MAX_KEY_CHARS = 255


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)


class KeyReused(DomainError):
    code = "idempotency_key_reused"
    http_status = 422

    def __init__(self):
        super().__init__(
            "This Idempotency-Key was already used for a request with a different body. "
            "Send a new key with a new request."
        )


class KeyInProgress(DomainError):
    code = "idempotency_key_in_progress"
    http_status = 409

    def __init__(self):
        super().__init__("A request with this key is in progress. Try again in a moment.")


class BadKey(DomainError):
    code = "bad_idempotency_key"
    http_status = 422

    def __init__(self):
        super().__init__(
            f"Idempotency-Key: use 1 to {MAX_KEY_CHARS} visible ASCII characters, e.g. a UUID.",
            {"Idempotency-Key": f"Use 1 to {MAX_KEY_CHARS} visible ASCII characters."},
        )


def checked_key(raw: object) -> str | None:
    """A key as sent (None when none was); BadKey for anything but 1 to MAX_KEY_CHARS
    visible ASCII characters (a number or a list in JSON is no key either)."""
    if raw is None:
        return None
    if not (isinstance(raw, str) and 0 < len(raw) <= MAX_KEY_CHARS and _visible_ascii(raw)):
        raise BadKey()
    return raw


def _visible_ascii(text: str) -> bool:
    return all("!" <= character <= "~" for character in text)


def fingerprint(body: object) -> str:
    """The same for the same JSON body, whatever the order of its keys or its spacing."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _live_row(scope: str, key: str) -> IdempotencyKey | None:
    return db.session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.scope == scope,
            IdempotencyKey.key == key,
            IdempotencyKey.created_at > utcnow() - KEY_TTL,
        )
    )


def _answer_of(row: IdempotencyKey, print_: str) -> Answer:
    if row.fingerprint != print_:
        raise KeyReused()
    if row.status_code is None:
        raise KeyInProgress()
    return Answer(row.status_code, row.body or {}, row.headers or {})


def _claim(tenant_id: int, scope: str, key: str, print_: str) -> IdempotencyKey | Answer:
    """The new key's row (inserted, not committed), or the answer already given."""
    earlier = _live_row(scope, key)
    if earlier is not None:
        return _answer_of(earlier, print_)
    db.session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.tenant_id == tenant_id,
            IdempotencyKey.created_at <= utcnow() - KEY_TTL,
        )
    )
    row = IdempotencyKey(tenant_id=tenant_id, scope=scope, key=key, fingerprint=print_)
    db.session.add(row)
    try:
        db.session.flush()  # waits here while a twin's transaction holds the key
    except IntegrityError:
        db.session.rollback()
        winner = _live_row(scope, key)
        if winner is None:
            raise KeyInProgress() from None
        return _answer_of(winner, print_)
    return row


# What carries out the request: it writes without committing, calls `keep` with its
# answer, then commits (once, with the key's row).
Act = Callable[[Callable[[Answer], None]], Answer]


def once(tenant_id: int, scope: str, key: str, body: object, act: Act) -> Answer:
    """`act`'s answer, or the answer the first request with `key` in `scope` got."""
    claimed = _claim(tenant_id, scope, key, fingerprint(body))
    if isinstance(claimed, Answer):
        return claimed

    def keep(answer: Answer) -> None:
        claimed.status_code, claimed.body, claimed.headers = (
            answer.status,
            answer.body,
            answer.headers,
        )

    try:
        return act(keep)
    except Exception:
        db.session.rollback()  # a refusal (or a failure) leaves the key unused
        raise
