"""POST /api/v1/followups is never lost or doubled: Idempotency-Key, concurrent
twins, and a database connection that drops around the commit."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.client import HTTPConnection

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from followup.clock import utcnow
from followup.extensions import db
from followup.models import Customer, FollowUpRequest, IdempotencyKey
from followup.services import api_tokens
from tests.helpers.apps import POSTGRES_ADMIN_URL

LIST_URL = "/api/v1/followups"
NEW_REQUEST = {"name": "Ada Lovelace", "email": "ada@example.com", "reason": "Call me back"}


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def api(app, api_token):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {api_token}"
    return client


def post(api, body: dict, key: str | None = None):
    headers = {"Idempotency-Key": key} if key else {}
    return api.post(LIST_URL, json=body, headers=headers)


def test_the_same_key_and_body_get_the_same_answer_and_one_request(api):
    first = post(api, NEW_REQUEST, key="order-42")
    # The same body written otherwise (key order) is the same request.
    again = api.post(
        LIST_URL,
        data=json.dumps(dict(reversed(NEW_REQUEST.items()))),
        headers={"Idempotency-Key": "order-42", "Content-Type": "application/json"},
    )
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert count(FollowUpRequest) == 1


def test_the_same_key_with_another_body_is_a_422_that_changes_nothing(api):
    assert post(api, NEW_REQUEST, key="k1").status_code == 201
    response = post(api, NEW_REQUEST | {"reason": "Something else"}, key="k1")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert "already used for a request with a different body" in error["message"]
    assert count(FollowUpRequest) == 1


def test_without_a_key_every_post_creates_one(api):
    assert post(api, NEW_REQUEST).status_code == 201
    assert post(api, NEW_REQUEST).status_code == 201
    assert count(FollowUpRequest) == 2


def test_keys_belong_to_their_token(app, api, tenant):
    other = app.test_client()
    other.environ_base["HTTP_AUTHORIZATION"] = "Bearer " + api_tokens.create_api_token("acme", "b")
    assert post(api, NEW_REQUEST, key="same").status_code == 201
    assert post(other, NEW_REQUEST, key="same").status_code == 201
    assert count(FollowUpRequest) == 2


def test_a_refused_request_leaves_its_key_unused(api):
    refused = post(api, NEW_REQUEST | {"email": "nope"}, key="k2")
    assert refused.status_code == 422
    assert count(IdempotencyKey) == 0
    assert post(api, NEW_REQUEST, key="k2").status_code == 201
    assert count(FollowUpRequest) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "é", "a\tb"])
def test_a_bad_key_is_refused_in_our_words(api, key):
    response = api.post(LIST_URL, json=NEW_REQUEST, headers={"Idempotency-Key": key})
    assert response.status_code == 422
    assert (
        "Idempotency-Key: use 1 to 255 visible ASCII characters"
        in response.get_json()["error"]["message"]
    )
    assert count(FollowUpRequest) == 0


def test_a_key_lasts_24_hours_and_is_then_cleaned_away(api):
    with time_machine.travel(utcnow(), tick=False) as clock:
        assert post(api, NEW_REQUEST, key="daily").status_code == 201
        clock.shift(timedelta(hours=23, minutes=59))
        assert post(api, NEW_REQUEST, key="daily").status_code == 201
        assert count(FollowUpRequest) == 1
        clock.shift(timedelta(minutes=2))
        assert post(api, NEW_REQUEST, key="daily").status_code == 201
        assert post(api, NEW_REQUEST, key="next").status_code == 201
    assert count(FollowUpRequest) == 3
    # The expired row was deleted, not kept beside its successor.
    assert db.session.scalars(select(IdempotencyKey.key).order_by(IdempotencyKey.key)).all() == [
        "daily",
        "next",
    ]


def post_at_once(port: int, token: str, senders: int, key: str | None) -> list[tuple[int, dict]]:
    """`senders` threads POST the same new request at the same moment; their answers."""
    start = threading.Barrier(senders)
    answers: list[tuple[int, dict]] = []

    def send() -> None:
        connection = HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if key is not None:
            headers["Idempotency-Key"] = key
        start.wait()
        connection.request("POST", LIST_URL, body=json.dumps(NEW_REQUEST), headers=headers)
        response = connection.getresponse()
        answers.append((response.status, json.loads(response.read())))
        connection.close()

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_concurrent_twins_create_one_request_and_get_one_answer(live_port, api_token):
    twins = 8
    answers = post_at_once(live_port, api_token, twins, key="double-click")
    assert len(answers) == twins
    assert {status for status, _ in answers} == {201}, answers
    assert len({json.dumps(body, sort_keys=True) for _, body in answers}) == 1
    assert count(FollowUpRequest) == 1


def test_concurrent_creates_for_a_new_address_share_one_customer(live_port, api_token):
    # No key: each is its own request, and the first sight of the address makes one customer.
    answers = post_at_once(live_port, api_token, 4, key=None)
    assert sorted(status for status, _ in answers) == [201] * 4, answers
    assert count(FollowUpRequest) == 4
    assert count(Customer) == 1


@contextmanager
def connection_dropped(moment: str) -> Iterator[list[int]]:
    """Terminate (pg_terminate_backend) the database connection of the commit that saves
    a follow-up request, just before its COMMIT or just after it; yields the pids hit."""
    killed: list[int] = []
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    armed: list[int] = []

    def terminate(pid: int) -> None:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        killed.append(pid)

    def arm(session: Session, _flush_context, _instances) -> None:
        if not killed and any(isinstance(o, FollowUpRequest) for o in session.new):
            raw = session.connection().connection.dbapi_connection
            armed.append(raw.info.backend_pid)

    def before_commit(_conn) -> None:
        if armed and not killed and moment == "before":
            terminate(armed[0])

    def after_commit(_session) -> None:
        if armed and not killed and moment == "after":
            terminate(armed[0])

    hooks = [
        (Session, "before_flush", arm),
        (db.engine, "commit", before_commit),
        (Session, "after_commit", after_commit),
    ]
    for target, name, hook in hooks:
        event.listen(target, name, hook)
    try:
        yield killed
    finally:
        for target, name, hook in hooks:
            event.remove(target, name, hook)
        admin.dispose()
        db.session.remove()


@pytest.fixture
def postgres_only(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("pg_terminate_backend is PostgreSQL's")


def test_a_connection_dropped_after_the_commit_still_gets_its_201(postgres_only, api):
    with connection_dropped("after") as killed:
        response = post(api, NEW_REQUEST, key="after-commit")
    assert killed, "the connection was not dropped"
    assert response.status_code == 201, response.get_data(as_text=True)
    created = response.get_json()
    assert created["name"] == "Ada Lovelace" and created["status"] == "pending"
    assert count(FollowUpRequest) == 1
    # The client that retries anyway gets the same answer, and no second request.
    again = post(api, NEW_REQUEST, key="after-commit")
    assert (again.status_code, again.get_json()) == (201, created)
    assert count(FollowUpRequest) == 1


def test_a_connection_dropped_before_the_commit_saves_nothing_and_a_retry_saves_once(
    postgres_only, api
):
    with connection_dropped("before") as killed:
        failed = post(api, NEW_REQUEST, key="before-commit")
    assert killed, "the connection was not dropped"
    assert failed.status_code >= 500
    assert count(FollowUpRequest) == 0
    assert count(IdempotencyKey) == 0
    retried = post(api, NEW_REQUEST, key="before-commit")
    assert retried.status_code == 201
    assert post(api, NEW_REQUEST, key="before-commit").get_json() == retried.get_json()
    assert count(FollowUpRequest) == 1
